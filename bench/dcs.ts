// `npm run bench:dcs`: two data centres on one machine. Three nodes in east and
// three in west (`--replication east:3,west:3`, R=W=2, local quorums), with
// SHOAL_TEST_DC_RTT_MS between the dcs (src/cli/dc-delay.ts; the kernel here has
// no netem), and a client in each dc. After a warm-up phase, prints:
//   - local puts and gets from the east client (answered inside east),
//   - global puts with w=4 (acknowledged by both dcs),
//   - staleness: how long after a local put is acknowledged in east a local read
//     (r=1) in west first sees it, measured one probe at a time while the east
//     client keeps its local puts going.
// Options (env): SHOAL_BENCH_DC_RTT (round trip between the dcs in ms, default 40),
//   SHOAL_BENCH_SECONDS (default 10 per phase), SHOAL_BENCH_INFLIGHT (requests in
//   flight, default 8), SHOAL_BENCH_RATE (open loop, as bench:cluster's: requests per
//   second, comma-separated; each measured phase runs once per rate, with at most
//   INFLIGHT requests in flight, default 1024 then), SHOAL_BENCH_PROBES (staleness
//   probes, default 200),
//   SHOAL_BENCH_PROFILE (lan, the default, or fast), SHOAL_BENCH_PROF (a folder:
//   the node processes write .cpuprofile files there), SHOAL_BENCH_READ_COORDINATION
//   (the SDK's readCoordination: client, the default, or node).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Client } from '../src/client/index.js';
import { DC_RTT_ENV } from '../src/cli/dc-delay.js';
import {
  type PhaseLoad,
  benchDir,
  benchProfile,
  envRates,
  envReadCoordination,
  ms,
  percentile,
  phase,
  profFlags,
  startNode,
  stopAll,
  waitForRing,
  waitOutGrace,
} from './node-procs.js';

const rtt = Number(process.env['SHOAL_BENCH_DC_RTT'] ?? 40);
const seconds = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 10);
const inflight = Number(process.env['SHOAL_BENCH_INFLIGHT'] ?? 8);
const rates = envRates();
const openCap = Number(process.env['SHOAL_BENCH_INFLIGHT'] ?? 1024);
const probes = Number(process.env['SHOAL_BENCH_PROBES'] ?? 200);
const profile = benchProfile(process.env['SHOAL_BENCH_PROFILE'] ?? 'lan');
const readCoordination = envReadCoordination();
const KEYS = 100_000;
const DCS = ['east', 'west'] as const;
const PER_DC = 3;

/** Milliseconds from a local put's acknowledgement in east until a local read in west sees it, per probe. */
async function staleness(east: Client, west: Client, value: Buffer): Promise<{ lags: number[]; reads: number }> {
  const lags: number[] = [];
  let reads = 0;
  for (let i = 0; i < probes; i++) {
    const key = `lag:${randomBytes(8).toString('hex')}`;
    await east.put(key, value);
    const acked = performance.now();
    for (;;) {
      reads++;
      const { values } = await west.get(key, { r: 1 });
      if (values.length > 0) break;
      if (performance.now() - acked > 60_000) throw new Error(`${key} did not reach west within a minute`);
    }
    lags.push(performance.now() - acked);
  }
  return { lags, reads };
}

async function main(): Promise<void> {
  const { dir, keyHex, keyFile } = await benchDir('shoal-bench-dcs-');
  const procs: ChildProcess[] = [];
  const clients: Client[] = [];
  try {
    const seeds: string[] = [];
    for (let i = 1; i <= PER_DC; i++) {
      for (const dc of DCS) {
        const { child, port } = await startNode({
          dir,
          keyFile,
          id: `${dc}${i}`,
          seeds,
          args: ['--profile', profile, '--dc', dc, '--rack', `r${i}`, '--replication', 'east:3,west:3', '--r', '2', '--w', '2'],
          env: { [DC_RTT_ENV]: String(rtt) },
          flags: profFlags(),
        });
        procs.push(child);
        if (seeds.length === 0) seeds.push(`127.0.0.1:${port}`);
      }
    }
    const east = await Client.connect({ seeds, clusterKey: keyHex, dc: 'east', readCoordination });
    clients.push(east);
    const west = await Client.connect({ seeds, clusterKey: keyHex, dc: 'west', readCoordination });
    clients.push(west);
    await waitForRing(east, DCS.length * PER_DC);
    await waitOutGrace(profile);
    await west.refreshRing();
    const value = randomBytes(200);
    console.log(
      `2 dcs × ${PER_DC} nodes (--replication east:3,west:3, R=W=2), ${rtt} ms round trip between the dcs, ` +
        `client in east with ${inflight} requests in flight, 200-byte values, ${seconds} s per phase, gets coordinated by the ${readCoordination === 'client' ? 'SDK' : 'nodes'}` +
        (rates.length > 0 ? `; open loop at ${rates.map((r) => `${r.toLocaleString('en-US')}/s`).join(', ')} (at most ${openCap} in flight) after the warm-up` : ''),
    );
    const o = { seconds, inflight };
    // Open loop: each measured phase once per rate; a phase's puts continue the keys
    // of its step before (as bench:cluster's), so a sweep does not make siblings.
    const loads: PhaseLoad[] = rates.length === 0 ? [o] : rates.map((rate) => ({ seconds, inflight: openCap, rate }));
    const steps = async (name: string, put: (k: number) => Promise<unknown>): Promise<void> => {
      let base = 0;
      for (const load of loads) {
        const b = base;
        base += await phase(name, procs, load, (i) => put((b + i) % KEYS));
      }
    };
    await phase('warm', procs, o, (i) => east.put(`warm:${i % KEYS}`, value)); // JIT and caches, on keys of its own
    await steps('local put', (k) => east.put(`key:${k}`, value));
    for (const load of loads) await phase('local get', procs, load, (i) => east.get(`key:${(i * 7919) % KEYS}`));
    await steps('global put w=4', (k) => east.put(`key:${k}`, value, { scope: 'global', w: 4 }));
    // Staleness under load: the east client keeps its local puts going meanwhile.
    let loading = true;
    let n = 0;
    const load = Promise.all(
      Array.from({ length: inflight }, async () => {
        while (loading) await east.put(`key:${n++ % KEYS}`, value).catch(() => undefined);
      }),
    );
    const t0 = performance.now();
    const { lags, reads } = await staleness(east, west, value).finally(() => (loading = false));
    const elapsed = (performance.now() - t0) / 1000;
    await load;
    const sorted = Float64Array.from(lags).sort();
    console.log(
      `staleness: a local put acknowledged in east is read in west after p50 ${ms(percentile(sorted, 50))}, ` +
        `p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted[sorted.length - 1] ?? 0)} ` +
        `(${probes} probes, ${(reads / probes).toFixed(1)} reads each; ${Math.round(n / elapsed).toLocaleString('en-US')} local puts/s alongside)`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopAll(procs);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
