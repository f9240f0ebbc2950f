// Lifeguard's suspicion timer: it starts at the maximum timeout and shrinks toward
// the minimum as independent members confirm the suspicion, so a member suspected
// by many is declared dead sooner, and one suspected by a single (possibly slow)
// accuser gets the longest time to refute.
import type { TimerHandle, Timers } from './timers.js';

/**
 * Timeout after c confirmations out of k expected:
 * max(min, max − (max − min) · log(c + 1) / log(k + 1)); with k < 1 it is min.
 */
export function suspicionTimeout(c: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}

export class SuspicionTimer {
  private readonly seen = new Set<string>();
  private readonly started: number;
  private timer: TimerHandle | undefined;
  private fired = false;

  /**
   * Starts timing a suspicion raised by `from`. onTimeout runs once, when the
   * timeout for the confirmations so far has elapsed, unless cancel() came first.
   */
  constructor(
    private readonly timers: Timers,
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: (confirmations: number) => void,
  ) {
    this.seen.add(from);
    this.started = timers.now();
    this.arm(suspicionTimeout(0, k, minMs, maxMs));
  }

  /** Independent confirmations so far (the original accuser excluded). */
  get confirmations(): number {
    return this.seen.size - 1;
  }

  /** The current total timeout, from the start of the suspicion. */
  get timeoutMs(): number {
    return suspicionTimeout(this.confirmations, this.k, this.minMs, this.maxMs);
  }

  /**
   * Counts a confirmation from a member not heard before and shortens the timer.
   * Returns true when it was new (the caller re-gossips it), false otherwise.
   */
  confirm(from: string): boolean {
    if (this.fired || this.confirmations >= this.k || this.seen.has(from)) return false;
    this.seen.add(from);
    this.timer?.cancel();
    this.arm(this.timeoutMs);
    return true;
  }

  cancel(): void {
    this.fired = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(totalMs: number): void {
    const remaining = Math.max(0, totalMs - (this.timers.now() - this.started));
    this.timer = this.timers.after(remaining, () => {
      if (this.fired) return;
      this.fired = true;
      this.timer = undefined;
      this.onTimeout(this.confirmations);
    });
  }
}
