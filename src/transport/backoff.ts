// Reconnection delays: exponential in the number of consecutive failures, capped,
// with "equal jitter" (half fixed, half random) so that many clients that lost the
// same peer at once do not return in step.

export interface BackoffOptions {
  /** Delay after the first failure, before jitter (ms). */
  minMs: number;
  /** Largest delay before jitter (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 100, maxMs: 10_000 };

/** Delay before the next attempt after `failures` (>= 1) consecutive failures. */
export function backoffDelay(failures: number, o: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(o.maxMs, o.minMs * 2 ** Math.min(Math.max(failures, 1) - 1, 40));
  return ceiling / 2 + (random() * ceiling) / 2;
}
