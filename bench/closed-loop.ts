// Closed-loop load for the in-process benchmarks: `concurrency` callers, each
// calling op() again as soon as its last call settles, until `total` calls.

export interface LoadResult {
  /** Wall time of the whole run. */
  seconds: number;
  /** CPU time of the process over the run, all threads (LevelDB's included). */
  cpuSeconds: number;
}

/** Runs op(0 .. total-1), `concurrency` at a time. */
export async function closedLoop(concurrency: number, total: number, op: (i: number) => Promise<unknown>): Promise<LoadResult> {
  let next = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await op(next++);
    }),
  );
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 };
}
