// Background reads for the benchmarks that measure what other work (hint
// delivery, a join's transfers) does to a cluster's live traffic: a closed loop of
// gets, each read's start time and latency kept, and figures for a time window.
import { createServer } from 'node:net';
import type { Client } from '../src/client/index.js';
import { ms, percentile } from './node-procs.js';

export interface Reads {
  at: number[];
  lat: number[];
}

/** `inflight` loops of client.get(key(n), options) until stop(); stop() resolves with every read. */
export function readLoad(client: Client, key: (n: number) => string, options: Parameters<Client['get']>[1], inflight = 8): { stop: () => Promise<Reads>; errors: () => number } {
  const reads: Reads = { at: [], lat: [] };
  let errors = 0;
  let going = true;
  let n = 0;
  const loops = Promise.all(
    Array.from({ length: inflight }, async () => {
      while (going) {
        const s = performance.now();
        try {
          await client.get(key(n++), options);
          reads.at.push(s);
          reads.lat.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    }),
  );
  return {
    stop: async () => {
      going = false;
      await loops;
      return reads;
    },
    errors: () => errors,
  };
}

/** Rate and percentiles of the reads that started in [from, to). */
export function latencies(name: string, reads: Reads, from: number, to: number): string {
  const picked: number[] = [];
  for (let i = 0; i < reads.at.length; i++) if (reads.at[i]! >= from && reads.at[i]! < to) picked.push(reads.lat[i]!);
  const sorted = Float64Array.from(picked).sort();
  return (
    `${name}: ${Math.round(sorted.length / Math.max((to - from) / 1000, 0.001)).toLocaleString('en-US')}/s, ` +
    `p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted[sorted.length - 1] ?? 0)}`
  );
}

/** A TCP port free on 127.0.0.1 now (for a node's HTTP API). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
