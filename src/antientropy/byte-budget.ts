// A token bucket over bytes: repair and transfer traffic waits for budget, so it
// never takes more than its configured share of the network and disks.
import { performance } from 'node:perf_hooks';

export class ByteBudget {
  private tokens: number;
  private last: number;
  /** Milliseconds callers spent waiting for budget. */
  waitedMs = 0;
  private readonly burst: number;

  /** rate: bytes per second (Infinity: no limit); burst: bytes that may go at once (default one second's worth, kept within 64 KiB..4 MiB). */
  constructor(
    readonly rate: number,
    burst?: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = burst ?? Math.max(64 * 1024, Math.min(rate, 4 * 1024 * 1024));
    this.tokens = this.burst;
    this.last = now();
  }

  /**
   * Waits until the bucket is out of debt, then takes n bytes (it may go into
   * debt: the next caller waits for it). Resolves false when `signal` aborts.
   */
  async take(n: number, signal?: AbortSignal): Promise<boolean> {
    if (this.rate === Infinity) return !signal?.aborted;
    for (;;) {
      if (signal?.aborted) return false;
      this.refill();
      if (this.tokens >= 0) {
        this.tokens -= n;
        return true;
      }
      const ms = Math.ceil((-this.tokens / this.rate) * 1000);
      const started = this.now();
      await sleep(Math.max(1, ms), signal);
      this.waitedMs += this.now() - started;
    }
  }

  /** Takes n bytes without waiting (bytes that already arrived, e.g. a reply). */
  charge(n: number): void {
    if (this.rate === Infinity) return;
    this.refill();
    this.tokens -= n;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }
}

/** Resolves after ms, or at once when signal aborts (timer cleared). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
