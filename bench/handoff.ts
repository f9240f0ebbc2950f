// `npm run bench:handoff`: how fast a dc that was cut off catches up through hinted
// handoff. Two dcs of two nodes (`--replication east:2,west:2`, R=1, W=2), with
// SHOAL_TEST_DC_RTT_MS between them. West is frozen (SIGSTOP) while an east client
// writes new keys, so the east nodes keep a hint for each west replica of each; then
// west resumes (SIGCONT), and the benchmark prints how long until the first hint
// was delivered and until the last, and the delivery rate after the first; and the
// latency of local reads in west (8 in flight, r=1, local scope) during the
// catch-up, next to the same reads before the freeze.
// Options (env): SHOAL_BENCH_DC_RTT (round trip between the dcs in ms, default 40),
//   SHOAL_BENCH_KEYS (keys written while west is frozen, default 20000; two hints
//   each), SHOAL_BENCH_VALUE (value bytes, default 1024), SHOAL_BENCH_START_ARGS
//   (extra `shoal start` arguments, e.g. --hint-bytes-per-sec 2097152),
//   SHOAL_BENCH_PROF (a folder: the node processes write .cpuprofile files there).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../src/client/index.js';
import { DC_RTT_ENV } from '../src/cli/dc-delay.js';
import { benchDir, cpuOf, envWords, nodeStatus, profFlags, startNode, stopAll, waitForRing, waitOutGrace } from './node-procs.js';
import { freePort, latencies, readLoad } from './read-load.js';

const rtt = Number(process.env['SHOAL_BENCH_DC_RTT'] ?? 40);
const keys = Number(process.env['SHOAL_BENCH_KEYS'] ?? 20_000);
const valueBytes = Number(process.env['SHOAL_BENCH_VALUE'] ?? 1024);
const startArgs = envWords('SHOAL_BENCH_START_ARGS');
const profile = 'lan';

interface Node {
  id: string;
  dc: string;
  child: ChildProcess;
  httpPort: number;
}

interface HintStatus {
  hints: { pending: number; delivered: number; batches?: number; failed: number; yieldedMs?: number };
}

function status(n: Node): Promise<HintStatus> {
  return nodeStatus<HintStatus>(n.httpPort);
}

async function sum(nodes: Node[], f: (s: HintStatus) => number): Promise<number> {
  return (await Promise.all(nodes.map(status))).reduce((a, s) => a + f(s), 0);
}


const READ_KEYS = 1000;

async function main(): Promise<void> {
  const { dir, keyHex, keyFile } = await benchDir('shoal-bench-handoff-');
  const nodes: Node[] = [];
  let client: Client | undefined;
  let westClient: Client | undefined;
  try {
    const seeds: string[] = [];
    for (const [id, dc] of [
      ['e1', 'east'],
      ['w1', 'west'],
      ['e2', 'east'],
      ['w2', 'west'],
    ] as const) {
      const httpPort = await freePort();
      const { child, port } = await startNode({
        dir,
        keyFile,
        id,
        seeds,
        httpPort,
        args: ['--profile', profile, '--dc', dc, '--rack', id, '--replication', 'east:2,west:2', '--r', '1', '--w', '2', ...startArgs],
        env: { [DC_RTT_ENV]: String(rtt) },
        flags: profFlags(),
      });
      nodes.push({ id, dc, child, httpPort });
      if (seeds.length === 0) seeds.push(`127.0.0.1:${port}`);
    }
    client = await Client.connect({ seeds, clusterKey: keyHex, dc: 'east' });
    await waitForRing(client, nodes.length);
    await waitOutGrace(profile);
    const east = nodes.filter((n) => n.dc === 'east');
    const west = nodes.filter((n) => n.dc === 'west');
    console.log(`2 dcs × 2 nodes (--replication east:2,west:2, R=1, W=2), ${rtt} ms round trip between the dcs, ${keys.toLocaleString('en-US')} keys of ${valueBytes} bytes`);

    westClient = await Client.connect({ seeds, clusterKey: keyHex, dc: 'west' });
    await westClient.refreshRing();
    for (let i = 0; i < READ_KEYS; i++) await client.put(`r:${i}`, randomBytes(valueBytes));
    const westReads = (c: Client) => readLoad(c, (n) => `r:${(n * 7919) % READ_KEYS}`, { r: 1, scope: 'local' });
    const before = westReads(westClient);
    const b0 = performance.now();
    await sleep(5000);
    const baseline = await before.stop();
    const b1 = performance.now();

    for (const n of west) n.child.kill('SIGSTOP');
    const value = randomBytes(valueBytes);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < keys) await client!.put(`s:${next++}`, value);
      }),
    );
    console.log(`wrote ${keys.toLocaleString('en-US')} keys with west frozen in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // The last writes' hints land once their replica writes to west time out.
    let held = 0;
    for (let i = 0; i < 150 && held < 2 * keys; i++) {
      held = await sum(east, (s) => s.hints.pending);
      if (held < 2 * keys) await sleep(200);
    }
    console.log(`hints held in east: ${held.toLocaleString('en-US')}`);

    const cpu0 = nodes.map((n) => cpuOf(n.child.pid));
    const delivered0 = await sum(east, (s) => s.hints.delivered);
    const batches0 = await sum(east, (s) => s.hints.batches ?? 0); // absent before batching
    const yielded0 = await sum(east, (s) => s.hints.yieldedMs ?? 0); // absent before pacing
    const t1 = performance.now();
    for (const n of west) n.child.kill('SIGCONT');
    const during = westReads(westClient);
    let first: number | undefined;
    let pending = held;
    while (pending > 0) {
      await sleep(100);
      pending = await sum(east, (s) => s.hints.pending);
      if (first === undefined && pending < held) first = performance.now() - t1;
      if (performance.now() - t1 > 900_000) throw new Error(`${pending} hints still pending after 15 minutes`);
    }
    const total = performance.now() - t1;
    const catchingUp = await during.stop();
    const delivered = (await sum(east, (s) => s.hints.delivered)) - delivered0;
    const batches = (await sum(east, (s) => s.hints.batches ?? 0)) - batches0;
    const yielded = (await sum(east, (s) => s.hints.yieldedMs ?? 0)) - yielded0;
    const cpu = nodes.map((n, i) => {
      const c = cpuOf(n.child.pid);
      return c.user + c.system - cpu0[i]!.user - cpu0[i]!.system;
    });
    const since = (total - (first ?? 0)) / 1000;
    console.log(
      `caught up ${(total / 1000).toFixed(1)} s after west resumed: first delivery after ${((first ?? 0) / 1000).toFixed(1)} s, ` +
        `then ${Math.round(delivered / Math.max(since, 0.001)).toLocaleString('en-US')} hints/s ` +
        `(${delivered.toLocaleString('en-US')} delivered in ${batches.toLocaleString('en-US')} batched requests; ` +
        `the holders waited ${(yielded / 1000).toFixed(1)} s between batches for busy owners)`,
    );
    const delivering = t1 + (first ?? 0);
    console.log(`local reads in west (8 in flight, r=1), ${during.errors()} failed after the freeze:`);
    console.log(`  ${latencies('before the freeze', baseline, b0, b1)}`);
    console.log(`  ${latencies('after it, until the first hint was delivered', catchingUp, t1, delivering)}`);
    console.log(`  ${latencies('while hints were delivered', catchingUp, delivering, t1 + total)}`);
    // West's figure includes the replica writes that queued up while it was frozen.
    console.log(`CPU µs per hint delivered: ${nodes.map((n, i) => `${n.id} ${Math.round((cpu[i]! * 1e6) / Math.max(delivered, 1))}`).join(', ')} (west's includes the writes queued while it was frozen)`);
  } finally {
    await client?.close();
    await westClient?.close();
    for (const n of nodes) n.child.kill('SIGCONT');
    await stopAll(nodes.map((n) => n.child));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
