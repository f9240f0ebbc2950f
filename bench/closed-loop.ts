// Closed-loop load for the in-process benchmarks: `concurrency` callers, each
// calling op() again as soon as its last call settles, until `total` calls.
import { readFileSync } from 'node:fs';

export interface LoadResult {
  /** Wall time of the whole run. */
  seconds: number;
  /** CPU time of the process over the run, all threads (LevelDB's included). */
  cpuSeconds: number;
  /**
   * CPU time of the main thread alone (the event loop) over the run; NaN where
   * /proc does not say. Steadier than rates: it leaves out waits for the thread
   * pool and the cores the other threads took.
   */
  mainCpuSeconds: number;
}

/** Nanoseconds the main thread has run (Linux: /proc/<pid>/task/<pid>/schedstat), or NaN. */
function mainThreadNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/** Runs op(0 .. total-1), `concurrency` at a time. */
export async function closedLoop(concurrency: number, total: number, op: (i: number) => Promise<unknown>): Promise<LoadResult> {
  let next = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = mainThreadNs();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await op(next++);
    }),
  );
  const c = process.cpuUsage(c0);
  const m = mainThreadNs() - m0;
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6, mainCpuSeconds: m / 1e9 };
}
