// Open-loop load: requests start on a fixed schedule, `rate` per second, whether
// or not earlier ones have finished (as YCSB's -target or cassandra-stress's
// -rate fixed=). A closed loop slows down with the system it measures and so
// hides the waits a slow response causes ("coordinated omission"); here each
// latency is measured from the request's scheduled start, so time spent waiting
// to be sent counts. Node's timers fire at millisecond granularity: the
// schedule is whole milliseconds, each carrying the requests due in it.

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Requests outstanding at most; due requests beyond it wait (and their wait counts). */
  maxInFlight: number;
  /** The clock, in milliseconds (performance.now by default; tests pass their own). */
  now?: () => number;
}

export interface OpenLoopResult {
  /** Milliseconds from each successful request's scheduled start to its completion, in completion order. */
  latencies: number[];
  errors: number;
  /** Requests started: rate × seconds, rounded down. */
  issued: number;
  /** Requests that started more than 1 ms after their scheduled millisecond (the load fell behind). */
  late: number;
  /** From the schedule's start until the last request settled. */
  elapsedMs: number;
}

/**
 * Runs op(0), op(1), … on the schedule; resolves once every request has settled.
 * onError sees each failure (a failure is counted, not thrown).
 */
export function openLoop(o: OpenLoopOptions, op: (i: number) => Promise<unknown>, onError: (err: unknown) => void = () => {}): Promise<OpenLoopResult> {
  if (!(o.rate > 0) || !(o.seconds > 0) || !(o.maxInFlight >= 1)) throw new RangeError('rate, seconds and maxInFlight must be positive');
  const now = o.now ?? (() => performance.now());
  const total = Math.floor(o.rate * o.seconds);
  const perMs = o.rate / 1000;
  const latencies: number[] = [];
  let errors = 0;
  let late = 0;
  let next = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  const t0 = now();
  // Request i is due in millisecond floor(i / perMs) of the schedule.
  const scheduled = (i: number): number => t0 + Math.floor(i / perMs);
  return new Promise((resolve) => {
    const finish = (): void => {
      if (next === total && inFlight === 0) resolve({ latencies, errors, issued: total, late, elapsedMs: now() - t0 });
    };
    const settled = (): void => {
      inFlight--;
      if (next < total) pump();
      else finish();
    };
    const start = (i: number, at: number): void => {
      const due = scheduled(i);
      if (at - due > 1) late++;
      inFlight++;
      let p: Promise<unknown>;
      try {
        p = op(i);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        () => {
          latencies.push(now() - due);
          settled();
        },
        (err: unknown) => {
          errors++;
          onError(err);
          settled();
        },
      );
    };
    const pump = (): void => {
      clearTimeout(timer);
      timer = undefined;
      const t = now();
      // Every request of every millisecond that has begun.
      const due = Math.min(total, Math.ceil((Math.floor(t - t0) + 1) * perMs));
      while (next < due && inFlight < o.maxInFlight) start(next++, t);
      if (next < total && inFlight < o.maxInFlight) timer = setTimeout(pump, Math.max(1, scheduled(next) - t));
      // At the cap, the next completion pumps again.
    };
    pump();
    finish();
  });
}
