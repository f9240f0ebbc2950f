// Prints tinybench results as a compact table. Rates come from the mean time per
// iteration (1000 / mean ms), not the mean of per-sample rates, which overstates
// throughput when samples vary.
import type { Bench } from 'tinybench';

export function printBench(bench: Bench, unitsPerOp = 1, unit = 'ops'): void {
  const rows = bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; rme?: number } } | undefined;
    const mean = r?.latency?.mean ?? 0;
    return {
      task: t.name,
      [`${unit}/s`]: mean > 0 ? Math.round((1000 / mean) * unitsPerOp).toLocaleString('en-US') : '-',
      'mean µs/iter': mean > 0 ? (mean * 1000).toFixed(3) : '-',
      '±%': r?.latency?.rme?.toFixed(1) ?? '-',
    };
  });
  console.table(rows);
}
