// `npm run bench:cluster`: a local 3-node cluster (separate processes, N=3,
// R=W=2) driven by the SDK with 64 requests in flight, 200-byte values.
// Prints puts/s, gets/s and latency percentiles. Options (env):
//   SHOAL_BENCH_SECONDS (default 10 per phase), SHOAL_BENCH_INFLIGHT (64),
//   SHOAL_BENCH_RATE (open loop: requests per second, comma-separated for a
//   sweep; each phase but warm runs once per rate, with at most INFLIGHT
//   requests outstanding, 1024 unless set, and latency counts from each
//   request's scheduled start, bench/open-loop.ts; default unset: the closed loop),
//   SHOAL_BENCH_KEYS (100000), SHOAL_BENCH_NODES (3),
//   SHOAL_BENCH_NODE_FLAGS (V8/Node flags for the node processes, space-separated,
//   e.g. --max-semi-space-size=16; default none),
//   SHOAL_BENCH_START_ARGS (extra `shoal start` arguments for every node,
//   space-separated, e.g. --read-fanout quorum; default none),
//   SHOAL_BENCH_TLS (1: TLS on the nodes' TCP port and the client's, with the
//   test certificates of test/fixtures/tls; default off),
//   SHOAL_BENCH_PROF (a folder: the node processes write .cpuprofile files there),
//   SHOAL_BENCH_PERF (a folder: `perf record -a` runs during each phase and the
//   phase prints what the CPU of all processes went to, bench/perf-breakdown.ts;
//   needs perf and root),
//   SHOAL_BENCH_PHASES (default put,get; any sequence of put, get, update and
//   warm, each optionally at an open-loop rate of its own, e.g. get@20000
//   — warm: puts to keys of their own, to warm the JIT and the caches before
//   measuring; e.g. warm,put,get, or put,put to measure blind overwrites, which
//   add siblings; update is a session store's write: it replaces a key's value
//   with the context of the key's last write in this run, blind for a key not
//   yet written, so run it after put),
//   SHOAL_BENCH_READ_COORDINATION (the SDK's readCoordination: client, the
//   default, where the SDK reads R replicas itself, or node),
//   SHOAL_BENCH_PROFILE (the nodes' --profile: lan, the default and what a
//   deployment runs, or fast, the loopback test timing: anti-entropy rounds every
//   250 ms and probes every 200 ms instead of 10 s and 1 s).
// Measuring starts once the nodes' joins have completed and the handover grace
// after them (the profile's, 30 s for lan) is over: until then every write is
// also forwarded to the replicas of the ring before the change.
// CPU is counted for every process (nodes from /proc, the client with
// process.cpuUsage), so "CPU µs/op" is the whole cluster's cost of one request.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '../src/client/index.js';
import { packageRoot } from '../src/paths.js';
import { type PhaseLoad, benchDir, benchProfile, envRates, envReadCoordination, envWords, phase, profFlags, startNode as startShoal, stopAll, waitForRing, waitOutGrace } from './node-procs.js';

const seconds = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 10);
const rates = envRates();
const inflight = Number(process.env['SHOAL_BENCH_INFLIGHT'] ?? 64);
// The open loop's cap only bounds the client: at 64, a slow moment would queue requests in the client.
const openCap = Number(process.env['SHOAL_BENCH_INFLIGHT'] ?? 1024);
const keys = Number(process.env['SHOAL_BENCH_KEYS'] ?? 100_000);
const nodes = Number(process.env['SHOAL_BENCH_NODES'] ?? 3);
const nodeFlags = envWords('SHOAL_BENCH_NODE_FLAGS');
const startArgs = envWords('SHOAL_BENCH_START_ARGS');
const tlsDir = process.env['SHOAL_BENCH_TLS'] === '1' ? join(packageRoot(), 'test/fixtures/tls') : undefined;
if (tlsDir !== undefined) startArgs.push('--tls-cert', join(tlsDir, 'node.pem'), '--tls-key', join(tlsDir, 'node.key'), '--tls-ca', join(tlsDir, 'ca.pem'));
const profile = benchProfile(process.env['SHOAL_BENCH_PROFILE'] ?? 'lan');
const readCoordination = envReadCoordination();

function startNode(dir: string, keyFile: string, id: string, seeds: string[]): Promise<{ child: ChildProcess; port: number }> {
  return startShoal({
    dir,
    keyFile,
    id,
    seeds,
    args: ['--profile', profile, '--partitions', '256', ...startArgs],
    flags: [...nodeFlags, ...profFlags()],
  });
}

async function main(): Promise<void> {
  const { dir, keyHex, keyFile } = await benchDir('shoal-bench-');
  const procs: ChildProcess[] = [];
  try {
    const first = await startNode(dir, keyFile, 'b1', []);
    procs.push(first.child);
    const seeds = [`127.0.0.1:${first.port}`];
    for (let i = 2; i <= nodes; i++) procs.push((await startNode(dir, keyFile, `b${i}`, seeds)).child);
    const client = await Client.connect({ seeds, clusterKey: keyHex, readCoordination, ...(tlsDir !== undefined ? { tls: { ca: readFileSync(join(tlsDir, 'ca.pem')) } } : {}) });
    await waitForRing(client, nodes);
    await waitOutGrace(profile);
    const value = randomBytes(200);
    console.log(
      `${nodes} nodes (N=3, R=W=2), ${rates.length === 0 ? `${inflight} requests in flight` : `open loop at ${rates.join(', ')} requests/s`}` +
        `${rates.length > 0 || process.env['SHOAL_BENCH_PHASES']?.includes('@') === true ? ` (open loop: at most ${openCap} in flight)` : ''}` +
        `, 200-byte values, ${keys.toLocaleString('en-US')} keys, ${seconds} s per phase` +
        `, gets coordinated by the ${readCoordination === 'client' ? 'SDK' : 'nodes'}` +
        (startArgs.length > 0 ? `; node arguments: ${startArgs.join(' ')}` : ''),
    );
    // A phase may name its own open-loop rate: put@4000.
    const tokens = (process.env['SHOAL_BENCH_PHASES'] ?? 'put,get').split(',').map((t) => {
      const [name = '', at] = t.split('@');
      const rate = at === undefined ? undefined : Number(at);
      if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) throw new Error(`bad rate in SHOAL_BENCH_PHASES: ${t}`);
      return { name, rate };
    });
    const phases = tokens.map((t) => t.name);
    // The context of each key's last write, kept only for an update phase (the put phase's figures stay comparable).
    const contexts: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(keys);
    const remember = (k: number) => (r: { context: Uint8Array }) => void (contexts[k] = r.context);
    const put = phases.includes('update') ? (k: number) => client.put(`key:${k}`, value).then(remember(k)) : (k: number) => client.put(`key:${k}`, value);
    // Open loop: each phase other than warm runs once per rate, keys continuing from step to step
    // (so a sweep of puts writes new keys rather than siblings of the last step's).
    const loads: PhaseLoad[] = rates.length === 0 ? [{ seconds, inflight }] : rates.map((rate) => ({ seconds, inflight: openCap, rate }));
    for (const { name: p, rate } of tokens) {
      let base = 0;
      const steps = rate !== undefined ? [{ seconds, inflight: openCap, rate }] : p === 'warm' ? [{ seconds, inflight }] : loads;
      for (const load of steps) {
        const b = base;
        if (p === 'put') base += await phase('put', procs, load, (i) => put((b + i) % keys));
        else if (p === 'update') {
          base += await phase('update', procs, load, (i) => client.put(`key:${(b + i) % keys}`, value, { context: contexts[(b + i) % keys] }).then(remember((b + i) % keys)));
        } else if (p === 'get') {
          const before = { ...client.stats };
          let gets = 0;
          let found = 0;
          await phase('get', procs, load, (i) =>
            client.get(`key:${(i * 7919) % keys}`).then((r) => {
              gets++;
              if (r.values.length > 0) found++;
            }),
          );
          const s = client.stats;
          // Keys the put phase did not reach are absent: every replica is asked before "not found".
          console.log(
            `      ${((100 * found) / Math.max(1, gets)).toFixed(0)}% of gets found their key; SDK-coordinated reads ${s.directReads - before.directReads}, speculative ${s.speculativeReads - before.speculativeReads}, ` +
              `fallbacks to a node ${s.readFallbacks - before.readFallbacks}, read repairs ${s.readRepairs - before.readRepairs}`,
          );
        } else if (p === 'warm') await phase('warm', procs, load, (i) => client.put(`warm:${i % keys}`, value));
        else throw new Error(`unknown phase ${p} (put, get, update, warm)`);
      }
    }
    await client.close();
  } finally {
    await stopAll(procs);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
