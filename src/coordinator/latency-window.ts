// Recent replica-read times and a percentile of them: when a read with fan-out
// "quorum" asks one more replica (Cassandra's speculative_retry = '99p').

/** Parsed `--speculative-retry`: a percentile of recent replica reads, a fixed delay, or never. */
export type SpeculativeRetry = { kind: 'percentile'; p: number } | { kind: 'fixed'; ms: number } | { kind: 'none' };

/** '99p', '99.9p', '20ms' or 'none' (Cassandra's spellings); RangeError otherwise. */
export function parseSpeculativeRetry(s: string): SpeculativeRetry {
  const t = s.trim().toLowerCase();
  if (t === 'none') return { kind: 'none' };
  let m = /^(\d+(?:\.\d+)?)p$/.exec(t);
  if (m) {
    const p = Number(m[1]);
    if (p > 0 && p < 100) return { kind: 'percentile', p };
  }
  m = /^(\d+)ms$/.exec(t);
  if (m) {
    const ms = Number(m[1]);
    if (ms >= 1 && ms <= 60_000) return { kind: 'fixed', ms };
  }
  throw new RangeError(`speculative retry must be a percentile like 99p (above 0, below 100), a delay like 20ms (1 to 60000) or none, got "${s}"`);
}

/**
 * The last `size` samples in a ring; the percentile is recomputed every `every`
 * samples (a sort of `size` numbers), so a read pays a store and a compare.
 * Undefined until `minSamples` have been seen: no guess before there is data.
 */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private readonly scratch: Float64Array;
  private next = 0;
  private count = 0;
  private sinceUpdate = 0;
  private value: number | undefined;

  constructor(
    private readonly p: number,
    size = 1024,
    private readonly every = 128,
    private readonly minSamples = 64,
  ) {
    if (!(p > 0 && p < 100)) throw new RangeError('p must be above 0 and below 100');
    this.samples = new Float64Array(size);
    this.scratch = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
    if (++this.sinceUpdate >= this.every || (this.value === undefined && this.count >= this.minSamples)) this.update();
  }

  /** The percentile of the window, as of the last update (ms). */
  get current(): number | undefined {
    return this.value;
  }

  private update(): void {
    this.sinceUpdate = 0;
    if (this.count < this.minSamples) return;
    const n = this.count;
    this.scratch.set(n === this.samples.length ? this.samples : this.samples.subarray(0, n));
    // Nearest rank: the smallest sample with at least p% of samples at or below it.
    this.value = select(this.scratch, n, Math.max(0, Math.ceil((this.p / 100) * n) - 1));
  }
}

/** The k-th smallest of a[0..n) (Hoare's quickselect; reorders a). A sort cost ~10x more. */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}
