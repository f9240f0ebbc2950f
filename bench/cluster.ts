// `npm run bench:cluster`: a local 3-node cluster (separate processes, N=3,
// R=W=2) driven by the SDK with 64 requests in flight, 200-byte values.
// Prints puts/s, gets/s and latency percentiles. Options (env):
//   SHOAL_BENCH_SECONDS (default 10 per phase), SHOAL_BENCH_INFLIGHT (64),
//   SHOAL_BENCH_KEYS (100000), SHOAL_BENCH_NODES (3),
//   SHOAL_BENCH_NODE_FLAGS (V8/Node flags for the node processes, space-separated,
//   e.g. --max-semi-space-size=16; default none),
//   SHOAL_BENCH_START_ARGS (extra `shoal start` arguments for every node,
//   space-separated, e.g. --read-fanout quorum; default none),
//   SHOAL_BENCH_TLS (1: TLS on the nodes' TCP port and the client's, with the
//   test certificates of test/fixtures/tls; default off),
//   SHOAL_BENCH_PROF (a folder: the node processes write .cpuprofile files there),
//   SHOAL_BENCH_PHASES (default put,get; any sequence of put, get and warm — puts
//   to keys of their own, to warm the JIT and the caches before measuring; e.g.
//   warm,put,get, or put,put to measure overwrites),
//   SHOAL_BENCH_PROFILE (the nodes' --profile: lan, the default and what a
//   deployment runs, or fast, the loopback test timing: anti-entropy rounds every
//   250 ms and probes every 200 ms instead of 10 s and 1 s).
// Measuring starts once the nodes' joins have completed and the handover grace
// after them (the profile's, 30 s for lan) is over: until then every write is
// also forwarded to the replicas of the ring before the change.
// CPU is counted for every process (nodes from /proc, the client with
// process.cpuUsage), so "CPU µs/op" is the whole cluster's cost of one request.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { antiEntropyProfiles } from '../src/antientropy/index.js';
import { Client } from '../src/client/index.js';
import { packageRoot } from '../src/paths.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const seconds = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 10);
const inflight = Number(process.env['SHOAL_BENCH_INFLIGHT'] ?? 64);
const keys = Number(process.env['SHOAL_BENCH_KEYS'] ?? 100_000);
const nodes = Number(process.env['SHOAL_BENCH_NODES'] ?? 3);
const nodeFlags = (process.env['SHOAL_BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
const startArgs = (process.env['SHOAL_BENCH_START_ARGS'] ?? '').split(' ').filter((f) => f !== '');
const tlsDir = process.env['SHOAL_BENCH_TLS'] === '1' ? join(packageRoot(), 'test/fixtures/tls') : undefined;
if (tlsDir !== undefined) startArgs.push('--tls-cert', join(tlsDir, 'node.pem'), '--tls-key', join(tlsDir, 'node.key'), '--tls-ca', join(tlsDir, 'ca.pem'));
const profDir = process.env['SHOAL_BENCH_PROF'];
const profile = benchProfile(process.env['SHOAL_BENCH_PROFILE'] ?? 'lan');

function benchProfile(p: string): 'lan' | 'fast' {
  if (p !== 'lan' && p !== 'fast') throw new Error(`SHOAL_BENCH_PROFILE must be lan or fast, got ${p}`);
  return p;
}
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Cpu {
  user: number;
  system: number;
}

/** CPU seconds a process has used so far (all threads); 0 where /proc is missing. */
function cpuOf(pid: number | undefined): Cpu {
  if (pid === undefined) return { user: 0, system: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
  } catch {
    return { user: 0, system: 0 };
  }
}

function clientCpu(): Cpu {
  const u = process.cpuUsage();
  return { user: u.user / 1e6, system: u.system / 1e6 };
}

function minus(a: Cpu, b: Cpu): Cpu {
  return { user: a.user - b.user, system: a.system - b.system };
}

async function startNode(dir: string, keyFile: string, id: string, seeds: string[]): Promise<{ child: ChildProcess; port: number }> {
  const args = [MAIN, 'start', '--id', id, '--port', '0', '--http-port', '0', '--data', join(dir, id), '--cluster-key-file', keyFile];
  args.push('--profile', profile, '--log-level', 'warn', '--partitions', '256');
  if (seeds.length > 0) args.push('--seeds', seeds.join(','));
  args.push(...startArgs);
  const flags = [...nodeFlags, ...(profDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
  const child = spawn(process.execPath, [...flags, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const m = JSON.parse(l) as { ready?: boolean; port: number };
        if (m.ready) resolve(m.port);
      } catch {
        // not the ready line
      }
    });
    child.once('exit', (c) => reject(new Error(`${id} exited with ${c}`)));
  });
  return { child, port };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function phase(name: string, procs: ChildProcess[], op: (i: number) => Promise<unknown>): Promise<void> {
  const lat: number[] = [];
  const nodeCpu0 = procs.map((p) => cpuOf(p.pid));
  const clientCpu0 = clientCpu();
  let errors = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const s = performance.now();
        try {
          await op(i);
          lat.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const used = [...procs.map((p, i) => minus(cpuOf(p.pid), nodeCpu0[i]!)), minus(clientCpu(), clientCpu0)];
  const ops = Math.max(1, lat.length);
  const perOp = (c: Cpu) => (((c.user + c.system) * 1e6) / ops).toFixed(0);
  const sorted = Float64Array.from(lat).sort();
  const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(
    `${name.padEnd(5)} ${Math.round(lat.length / elapsed).toLocaleString('en-US').padStart(8)} ops/s   ` +
      `p50 ${fmt(percentile(sorted, 50))}  p99 ${fmt(percentile(sorted, 99))}  p999 ${fmt(percentile(sorted, 99.9))}  ` +
      `errors ${errors}  (${lat.length.toLocaleString('en-US')} ops in ${elapsed.toFixed(1)} s)`,
  );
  const total = used.reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), { user: 0, system: 0 });
  console.log(
    `      CPU µs/op: total ${perOp(total)} (system ${perOp({ user: 0, system: total.system })}) = ` +
      `nodes ${used.slice(0, -1).map(perOp).join(' + ')} + client ${perOp(used[used.length - 1]!)}` +
      `   (CPU use ${((100 * (total.user + total.system)) / elapsed).toFixed(0)}% of one core)`,
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-'));
  const keyHex = randomBytes(32).toString('hex');
  const keyFile = join(dir, 'cluster.key');
  await writeFile(keyFile, keyHex);
  const procs: ChildProcess[] = [];
  try {
    const first = await startNode(dir, keyFile, 'b1', []);
    procs.push(first.child);
    const seeds = [`127.0.0.1:${first.port}`];
    for (let i = 2; i <= nodes; i++) procs.push((await startNode(dir, keyFile, `b${i}`, seeds)).child);
    const client = await Client.connect({ seeds, clusterKey: keyHex, ...(tlsDir !== undefined ? { tls: { ca: readFileSync(join(tlsDir, 'ca.pem')) } } : {}) });
    // Wait until the ring holds every node and their joins have completed: while
    // a change is pending, writes go to old and new owners and partitions are
    // being transferred, which is not the steady state this measures.
    for (let tries = 0; ; tries++) {
      await client.refreshRing();
      const probe = await client.get('probe').catch(() => undefined);
      if (probe && client.ring.nodes.length === nodes && !client.ring.pending) break;
      if (tries > 600) throw new Error('the cluster did not converge');
      await new Promise((r) => setTimeout(r, 100));
    }
    const grace = antiEntropyProfiles[profile].handoverGraceMs;
    console.log(`joins completed; waiting out the ${grace / 1000} s handover grace (--profile ${profile})`);
    await new Promise((r) => setTimeout(r, grace + 500));
    const value = randomBytes(200);
    console.log(
      `${nodes} nodes (N=3, R=W=2), ${inflight} requests in flight, 200-byte values, ${keys.toLocaleString('en-US')} keys, ${seconds} s per phase` +
        (startArgs.length > 0 ? `; node arguments: ${startArgs.join(' ')}` : ''),
    );
    const phases = (process.env['SHOAL_BENCH_PHASES'] ?? 'put,get').split(',');
    for (const p of phases) {
      if (p === 'put') await phase('put', procs, (i) => client.put(`key:${i % keys}`, value));
      else if (p === 'get') await phase('get', procs, (i) => client.get(`key:${(i * 7919) % keys}`));
      else if (p === 'warm') await phase('warm', procs, (i) => client.put(`warm:${i % keys}`, value));
      else throw new Error(`unknown phase ${p} (put, get, warm)`);
    }
    await client.close();
  } finally {
    await Promise.all(
      procs.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
