// What the multi-process benchmarks share: starting `shoal start` processes, CPU
// time per process, and running a phase (closed or open loop) that prints rates,
// latency percentiles and CPU per request.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { antiEntropyProfiles } from '../src/antientropy/index.js';
import type { Client } from '../src/client/index.js';
import { openLoop } from './open-loop.js';
import { breakdown, perfAvailable, perfReport, printBreakdown, startPerf, stopPerf } from './perf-breakdown.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The nodes' --profile, from SHOAL_BENCH_PROFILE. */
export function benchProfile(p: string): 'lan' | 'fast' {
  if (p !== 'lan' && p !== 'fast') throw new Error(`SHOAL_BENCH_PROFILE must be lan or fast, got ${p}`);
  return p;
}

/**
 * V8 flags for the node processes: CPU profiles written into SHOAL_BENCH_PROF, when
 * it is set; symbols for perf's view of compiled JavaScript, when SHOAL_BENCH_PERF is.
 */
export function profFlags(): string[] {
  const dir = process.env['SHOAL_BENCH_PROF'];
  const flags = dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  if (perfDir() !== undefined) flags.push('--perf-basic-prof');
  return flags;
}

let perfChecked = false;

/** SHOAL_BENCH_PERF: a folder for one `perf record -a` per phase (then a breakdown is printed). */
function perfDir(): string | undefined {
  const dir = process.env['SHOAL_BENCH_PERF'];
  if (dir === undefined || dir === '') return undefined;
  if (!perfChecked && !perfAvailable()) throw new Error('SHOAL_BENCH_PERF is set but perf cannot be run (Debian: apt install linux-perf)');
  perfChecked = true;
  return dir;
}

let perfRecordings = 0;

/** Waits out the handover grace after the joins: until then writes also go to the ring before the change. */
export async function waitOutGrace(profile: 'lan' | 'fast'): Promise<void> {
  const grace = antiEntropyProfiles[profile].handoverGraceMs;
  console.log(`joins completed; waiting out the ${grace / 1000} s handover grace (--profile ${profile})`);
  await new Promise((r) => setTimeout(r, grace + 500));
}

export interface Cpu {
  user: number;
  system: number;
}

/** CPU seconds a process has used so far (all threads); 0 where /proc is missing. */
export function cpuOf(pid: number | undefined): Cpu {
  if (pid === undefined) return { user: 0, system: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** The machine's CPU ticks so far: all, and those the hypervisor gave to others (steal; /proc/stat). */
function machineTicks(): { total: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 };
  }
}

/**
 * Milliseconds a process's main thread has spent runnable but waiting for a core
 * (/proc/<pid>/schedstat, second field); 0 where the kernel does not report it.
 */
export function runQueueWaitMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6 || 0;
  } catch {
    return 0;
  }
}

function clientCpu(): Cpu {
  const u = process.cpuUsage();
  return { user: u.user / 1e6, system: u.system / 1e6 };
}

function minus(a: Cpu, b: Cpu): Cpu {
  return { user: a.user - b.user, system: a.system - b.system };
}

/** A temporary folder for the nodes' data, with a new cluster key in it (hex, and its file). */
export async function benchDir(prefix: string): Promise<{ dir: string; keyHex: string; keyFile: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const keyHex = randomBytes(32).toString('hex');
  const keyFile = join(dir, 'cluster.key');
  await writeFile(keyFile, keyHex);
  return { dir, keyHex, keyFile };
}

export interface NodeSpec {
  /** Folder for the node's data (its id's subfolder). */
  dir: string;
  keyFile: string;
  id: string;
  seeds: string[];
  /** More `shoal start` arguments. */
  args?: string[];
  /** V8/Node flags. */
  flags?: string[];
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
  /** The HTTP API's port (default 0: none). */
  httpPort?: number;
}

/** Starts `shoal start` and resolves with the process and its port once it prints its ready line. */
export async function startNode(spec: NodeSpec): Promise<{ child: ChildProcess; port: number }> {
  const args = [MAIN, 'start', '--id', spec.id, '--port', '0', '--http-port', String(spec.httpPort ?? 0), '--data', join(spec.dir, spec.id)];
  args.push('--cluster-key-file', spec.keyFile, '--log-level', 'warn');
  if (spec.seeds.length > 0) args.push('--seeds', spec.seeds.join(','));
  args.push(...(spec.args ?? []));
  const child = spawn(process.execPath, [...(spec.flags ?? []), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...spec.env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const m = JSON.parse(l) as { ready?: boolean; port: number };
        if (m.ready) resolve(m.port);
      } catch {
        // not the ready line
      }
    });
    child.once('exit', (c) => reject(new Error(`${spec.id} exited with ${c}`)));
  });
  return { child, port };
}

/** SIGTERM to every process; resolves once all have exited. */
export async function stopAll(procs: ChildProcess[]): Promise<void> {
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
}

export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export const ms = (v: number): string => `${v.toFixed(2)} ms`;

/** A space-separated list from the environment (SHOAL_BENCH_START_ARGS and the like); empty when unset. */
export function envWords(name: string): string[] {
  return (process.env[name] ?? '').split(' ').filter((w) => w !== '');
}

/** SHOAL_BENCH_READ_COORDINATION: the SDK's readCoordination (default 'client'). */
export function envReadCoordination(): 'client' | 'node' {
  const v = process.env['SHOAL_BENCH_READ_COORDINATION'] ?? 'client';
  if (v !== 'client' && v !== 'node') throw new Error('SHOAL_BENCH_READ_COORDINATION must be client or node');
  return v;
}

/** A node's `GET /status` on its HTTP port, parsed as the fields the caller reads. */
export async function nodeStatus<T>(httpPort: number): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as T;
}

/** How a phase drives its requests. */
export interface PhaseLoad {
  seconds: number;
  /** Requests in flight: the closed loop's callers, or the open loop's cap. */
  inflight: number;
  /** Open loop at this many requests per second (bench/open-loop.ts); undefined: closed loop. */
  rate?: number | undefined;
}

/**
 * Runs `op(0), op(1), …` for `seconds`, with `inflight` callers (closed loop) or
 * at `rate` per second (open loop, latency from each scheduled start), then
 * prints the rate, latency percentiles, errors and the CPU each process (`procs`,
 * then this one) used per request. Returns the number of requests started.
 */
export async function phase(name: string, procs: ChildProcess[], o: PhaseLoad, op: (i: number) => Promise<unknown>): Promise<number> {
  const nodeCpu0 = procs.map((p) => cpuOf(p.pid));
  const clientCpu0 = clientCpu();
  const pids = [...procs.map((p) => p.pid), process.pid];
  const wait0 = pids.map(runQueueWaitMs);
  const machine0 = machineTicks();
  // The client's GC pauses: round 8 found them setting the gets' p99.
  const pauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const failures = new Map<string, number>();
  const onError = (err: unknown): void => {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    failures.set(what, (failures.get(what) ?? 0) + 1);
  };
  const recordInto = perfDir();
  const perfFile = recordInto === undefined ? undefined : join(recordInto, `${++perfRecordings}-${name}.data`);
  const perf = perfFile === undefined ? undefined : startPerf(perfFile);
  const t0 = performance.now();
  const run = o.rate === undefined ? await closedPhase(o, op, onError) : await openLoop({ rate: o.rate, seconds: o.seconds, maxInFlight: o.inflight }, op, onError);
  const elapsed = (performance.now() - t0) / 1000;
  const used = [...procs.map((p, i) => minus(cpuOf(p.pid), nodeCpu0[i]!)), minus(clientCpu(), clientCpu0)];
  const waited = pids.map((pid, i) => runQueueWaitMs(pid) - wait0[i]!);
  const machine = machineTicks();
  gc.disconnect();
  if (perf !== undefined) await stopPerf(perf);
  const lat = run.latencies;
  const ops = Math.max(1, lat.length);
  const perOp = (c: Cpu) => (((c.user + c.system) * 1e6) / ops).toFixed(0);
  const sorted = Float64Array.from(lat).sort();
  const label = o.rate === undefined ? name : `${name} @${o.rate.toLocaleString('en-US')}/s`;
  console.log(
    `${label.padEnd(5)} ${Math.round(lat.length / elapsed).toLocaleString('en-US').padStart(8)} ops/s   ` +
      `p50 ${ms(percentile(sorted, 50))}  p99 ${ms(percentile(sorted, 99))}  p999 ${ms(percentile(sorted, 99.9))}  ` +
      `errors ${run.errors}  (${lat.length.toLocaleString('en-US')} ops in ${elapsed.toFixed(1)} s)`,
  );
  if (o.rate !== undefined) {
    // Late starts are this client's event loop behind its schedule: 8-18% of them at every
    // rate in round 11, mostly by under 1 ms; far more means the client or cluster fell behind.
    console.log(`      open loop, latency from each scheduled start; started late (behind the schedule): ${((100 * run.late) / Math.max(1, run.issued)).toFixed(1)}%`);
  }
  const total = used.reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), { user: 0, system: 0 });
  console.log(
    `      CPU µs/op: total ${perOp(total)} (system ${perOp({ user: 0, system: total.system })}) = ` +
      `nodes ${used.slice(0, -1).map(perOp).join(' + ')} + client ${perOp(used[used.length - 1]!)}` +
      `   (CPU use ${((100 * (total.user + total.system)) / elapsed).toFixed(0)}% of one core` +
      // On a VM, time the hypervisor gave to other guests: figures from minutes with much of it are not comparable.
      `; steal ${((100 * (machine.steal - machine0.steal)) / Math.max(1, machine.total - machine0.total)).toFixed(0)}% of the machine)`,
  );
  // Time the processes' main threads were ready to run but had no core (round 11: with four
  // processes on two cores, a large part of the tail).
  const share = (w: number): string => `${((100 * w) / (elapsed * 1000)).toFixed(0)}%`;
  console.log(`      waiting for a core, share of the phase (main threads): nodes ${waited.slice(0, -1).map(share).join(' + ')} + client ${share(waited[waited.length - 1]!)}`);
  const paused = pauses.reduce((a, b) => a + b, 0);
  console.log(
    `      client GC: ${pauses.length} pauses, ${paused.toFixed(0)} ms in all (${((paused / 10) / elapsed).toFixed(1)}% of the phase), ` +
      `longest ${Math.max(0, ...pauses).toFixed(1)} ms`,
  );
  if (perfFile !== undefined) printBreakdown(breakdown(perfReport(perfFile)), ((total.user + total.system) * 1e6) / ops);
  const common = [...failures].sort((a, b) => b[1] - a[1]).slice(0, 3);
  for (const [what, count] of common) console.log(`      ${count} × ${what}`);
  return run.issued;
}

/** `inflight` callers, each starting its next request when its last one settles, until `seconds` are over. */
async function closedPhase(o: PhaseLoad, op: (i: number) => Promise<unknown>, onError: (err: unknown) => void): Promise<{ latencies: number[]; errors: number; issued: number; late: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const end = performance.now() + o.seconds * 1000;
  await Promise.all(
    Array.from({ length: o.inflight }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const s = performance.now();
        try {
          await op(i);
          latencies.push(performance.now() - s);
        } catch (err) {
          errors++;
          onError(err);
        }
      }
    }),
  );
  return { latencies, errors, issued: next, late: 0 };
}

/** SHOAL_BENCH_RATE: open-loop rates (requests per second, comma-separated); empty when unset (closed loop). */
export function envRates(): number[] {
  const v = process.env['SHOAL_BENCH_RATE'];
  if (v === undefined || v === '') return [];
  return v.split(',').map((w) => {
    const r = Number(w);
    if (!(Number.isFinite(r) && r > 0)) throw new Error(`SHOAL_BENCH_RATE must be positive numbers, comma-separated; got ${w}`);
    return r;
  });
}

/**
 * Waits until the client's ring holds `nodes` nodes and no join is pending: while a
 * change is pending, writes go to old and new owners and partitions are being
 * transferred, which is not the steady state the benchmarks measure.
 */
export async function waitForRing(client: Client, nodes: number): Promise<void> {
  for (let tries = 0; ; tries++) {
    await client.refreshRing();
    const probe = await client.get('probe').catch(() => undefined);
    if (probe && client.ring.nodes.length === nodes && !client.ring.pending) return;
    if (tries > 600) throw new Error('the cluster did not converge');
    await new Promise((r) => setTimeout(r, 100));
  }
}
