// Injected time for the protocol: a clock plus one-shot timers. The system version
// uses the event loop; SimulatedTime runs whole clusters on virtual time, so a
// test or benchmark can cover hundreds of periods in a moment and reproducibly.
import type { Clock } from '../time.js';

export interface TimerHandle {
  /** Stops the timer; harmless after it fired or was cancelled. */
  cancel(): void;
}

export interface Timers extends Clock {
  /** Calls fn once, after ms. */
  after(ms: number, fn: () => void): TimerHandle;
}

class SystemTimer implements TimerHandle {
  constructor(private readonly t: NodeJS.Timeout) {}
  cancel(): void {
    clearTimeout(this.t);
  }
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  after: (ms, fn) => new SystemTimer(setTimeout(fn, ms)),
};

interface SimEvent {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
}

/**
 * A virtual clock with an event queue. Nothing happens until runFor/runUntil is
 * awaited; events run in time order (ties in scheduling order), and promise
 * callbacks settle between events as they would between event-loop turns.
 */
export class SimulatedTime implements Timers {
  private t: number;
  private seq = 0;
  private readonly heap: SimEvent[] = [];
  private turns = 0;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  /** Whole milliseconds, like Date.now(); events may fall between them. */
  now(): number {
    return Math.floor(this.t);
  }

  after(ms: number, fn: () => void): TimerHandle {
    const ev: SimEvent = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.push(ev);
    return {
      cancel: () => {
        ev.fn = undefined;
      },
    };
  }

  /** For MemoryNetwork: schedule without a handle. */
  readonly schedule = (ms: number, fn: () => void): void => {
    this.push({ at: this.t + Math.max(0, ms), seq: this.seq++, fn });
  };

  /** Runs every event due within the next ms of virtual time, then sets the clock to its end. */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(this.t + ms);
  }

  /** Runs events until virtual time `end`, or until `stop()` returns true (checked after each event). */
  async runUntil(end: number, stop?: () => boolean): Promise<boolean> {
    for (;;) {
      const ev = this.heap[0];
      if (ev === undefined || ev.at > end) break;
      this.pop();
      this.t = ev.at;
      const fn = ev.fn;
      if (fn === undefined) continue;
      fn();
      // Let promise reactions (e.g. a finished push-pull) run before the next event.
      // A full macrotask turn every so often settles longer chains.
      if (++this.turns % 64 === 0) await new Promise<void>((r) => setImmediate(r));
      else for (let i = 0; i < 4; i++) await undefined;
      if (stop?.()) return true;
    }
    this.t = Math.max(this.t, end);
    return stop?.() ?? false;
  }

  /** Events waiting (cancelled ones included until they come due). */
  get pending(): number {
    return this.heap.length;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
