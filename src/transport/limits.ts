// Defaults shared by both ends of the RPC transport, and option checking.

/** Largest frame by default: a 1 MiB value and a 1 KiB key fit with ample room. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** `n` if it is a positive integer; a RangeError naming the option otherwise. */
export function positiveInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
