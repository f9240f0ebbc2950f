// Choosing k random members without copying the view: reservoir sampling.

/** Up to k of the accepted items, uniformly at random, in one pass. */
export function sample<T>(items: Iterable<T>, k: number, accept: (x: T) => boolean, random: () => number): T[] {
  const out: T[] = [];
  if (k <= 0) return out;
  let seen = 0;
  for (const x of items) {
    if (!accept(x)) continue;
    seen++;
    if (out.length < k) out.push(x);
    else {
      const j = Math.floor(random() * seen);
      if (j < k) out[j] = x;
    }
  }
  return out;
}
