// `npm run bench:join`: what a join costs the live traffic, and how long it takes.
// Three nodes (N=3, R=W=2) hold SHOAL_BENCH_KEYS keys; a client reads them (r=1,
// through the SDK's routing); then a fourth node starts and joins, pulling the
// partitions it gains from the nodes that hold them. The benchmark prints how long
// the transfer took, its rate, and the reads' rate and latency before and during it.
// The ring has SHOAL_BENCH_PARTITIONS partitions (default 32), so that each holds
// thousands of keys and is pulled in full batches, as in a store of millions of keys
// with the default 256.
// Options (env): SHOAL_BENCH_KEYS (default 60000), SHOAL_BENCH_VALUE (value bytes,
//   default 1024), SHOAL_BENCH_READ_INFLIGHT (reads in flight, default 8),
//   SHOAL_BENCH_START_ARGS (extra `shoal start` arguments for every node, e.g.
//   --transfer-bytes-per-sec 4194304), SHOAL_BENCH_PROF (a folder: the node
//   processes write .cpuprofile files there).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../src/client/index.js';
import { benchDir, cpuOf, envWords, nodeStatus, profFlags, startNode, stopAll, waitForRing, waitOutGrace } from './node-procs.js';
import { freePort, latencies, readLoad } from './read-load.js';

const keys = Number(process.env['SHOAL_BENCH_KEYS'] ?? 60_000);
const valueBytes = Number(process.env['SHOAL_BENCH_VALUE'] ?? 1024);
const partitions = Number(process.env['SHOAL_BENCH_PARTITIONS'] ?? 32);
const readers = Number(process.env['SHOAL_BENCH_READ_INFLIGHT'] ?? 8);
const startArgs = envWords('SHOAL_BENCH_START_ARGS');
const profile = 'lan';

interface TransferStatus {
  transfer: { state: string; partitions: number; exchanges: number; retries: number; keysReceived: number; bytesReceived: number };
}


async function main(): Promise<void> {
  const { dir, keyHex, keyFile } = await benchDir('shoal-bench-join-');
  const procs: ChildProcess[] = [];
  let client: Client | undefined;
  try {
    const seeds: string[] = [];
    const start = async (id: string, httpPort = 0) => {
      const { child, port } = await startNode({ dir, keyFile, id, seeds, httpPort, args: ['--profile', profile, '--rack', id, '--partitions', String(partitions), ...startArgs], flags: profFlags() });
      procs.push(child);
      if (seeds.length === 0) seeds.push(`127.0.0.1:${port}`);
      return child;
    };
    for (const id of ['n1', 'n2', 'n3']) await start(id);
    client = await Client.connect({ seeds, clusterKey: keyHex });
    await waitForRing(client, 3);
    await waitOutGrace(profile);
    console.log(`3 nodes (N=3, R=W=2, Q=${partitions}) holding ${keys.toLocaleString('en-US')} keys of ${valueBytes} bytes; a fourth joins`);
    const value = randomBytes(valueBytes);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < keys) await client!.put(`k:${next++}`, value);
      }),
    );
    console.log(`wrote them in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const reads = readLoad(client, (n) => `k:${(n * 7919) % keys}`, { r: 1 }, readers);
    const b0 = performance.now();
    await sleep(5000);
    const cpu0 = procs.map((p) => cpuOf(p.pid));
    const httpPort = await freePort();
    const t1 = performance.now();
    await start('n4', httpPort);
    // The transfer has finished once it was receiving and no longer is (done, or
    // idle again when the change completed between two polls).
    let st = await nodeStatus<TransferStatus>(httpPort);
    let first: number | undefined;
    let received = false;
    let gained = 0;
    while (!received || st.transfer.state === 'receiving') {
      await sleep(100);
      st = await nodeStatus<TransferStatus>(httpPort);
      if (st.transfer.state === 'receiving') received = true;
      gained = Math.max(gained, st.transfer.partitions);
      if (first === undefined && st.transfer.keysReceived > 0) first = performance.now() - t1;
      if (performance.now() - t1 > 900_000) throw new Error('the transfer did not finish in 15 minutes');
    }
    const total = performance.now() - t1;
    const during = await reads.stop();
    const cpu = procs.map((p, i) => {
      const c = cpuOf(p.pid);
      const c0 = cpu0[i] ?? { user: 0, system: 0 };
      return c.user + c.system - c0.user - c0.system;
    });
    const t = st.transfer;
    const since = (total - (first ?? 0)) / 1000;
    console.log(
      `transfer done ${(total / 1000).toFixed(1)} s after n4 started: first key after ${((first ?? 0) / 1000).toFixed(1)} s, then ` +
        `${Math.round(t.keysReceived / Math.max(since, 0.001)).toLocaleString('en-US')} keys/s ` +
        `(${t.keysReceived.toLocaleString('en-US')} keys, ${(t.bytesReceived / 2 ** 20).toFixed(1)} MiB, ${gained} partitions, ` +
        `${t.exchanges} exchanges, ${t.retries} refused or failed)`,
    );
    const receiving = t1 + (first ?? 0);
    console.log(`reads (${readers} in flight, r=1), ${reads.errors()} failed:`);
    console.log(`  ${latencies('before the join', during, b0, t1)}`);
    console.log(`  ${latencies('while n4 received its partitions', during, receiving, t1 + total)}`);
    console.log(`CPU s during the join: ${procs.map((p, i) => `${i < 3 ? `n${i + 1}` : 'n4'} ${cpu[i]!.toFixed(1)}`).join(', ')}`);
  } finally {
    await client?.close();
    await stopAll(procs);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
