// Prints tinybench results as a compact table of operations per second.
import type { Bench } from 'tinybench';

export function printBench(bench: Bench, unitsPerOp = 1, unit = 'ops'): void {
  const rows = bench.tasks.map((t) => {
    const r = t.result as { throughput?: { mean: number }; latency?: { mean: number; rme?: number } } | undefined;
    const hz = r?.throughput?.mean ?? 0;
    return {
      task: t.name,
      [`${unit}/s`]: Math.round(hz * unitsPerOp).toLocaleString('en-US'),
      'mean µs/op': r?.latency ? (r.latency.mean * 1000).toFixed(3) : '-',
      '±%': r?.latency?.rme?.toFixed(1) ?? '-',
    };
  });
  console.table(rows);
}
