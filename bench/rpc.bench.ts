// Request/reply through the framed TCP transport over loopback: clientPut with a
// 200-byte value → clientPutReply, on one connection, 1 and 64 requests in flight.
// Two setups: client and server in this process (sharing one JavaScript thread), and
// the server in a child process (as between two nodes).
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Keyring, RpcPeers, RpcServer } from '../src/transport/index.js';
import type { Body } from '../src/transport/index.js';

const DURATION_MS = 2_000;
const WARMUP_MS = 300;
const CHILD_ENV = 'SHOAL_RPC_BENCH_SERVER_KEY';

interface Row {
  task: string;
  'req/s': string;
  'p50 µs': string;
  'p99 µs': string;
  'CPU µs/req': string;
  'frames/write c,s': string;
}

const context = Buffer.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5]);
const reply: Body = { kind: 'clientPutReply', value: { context } };

function startServer(keyring: Keyring): Promise<RpcServer> {
  const server = new RpcServer({ host: '127.0.0.1', port: 0, keyring, nodeId: 'bench', handler: () => reply });
  return server.start().then(() => server);
}

async function measure(peers: RpcPeers, port: number, inFlight: number, body: Body): Promise<Omit<Row, 'task' | 'frames/write c,s'>> {
  const run = async (ms: number, latencies: number[] | undefined): Promise<number> => {
    let count = 0;
    const end = performance.now() + ms;
    const worker = async (): Promise<void> => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await peers.request('127.0.0.1', port, body);
        latencies?.push(performance.now() - t0);
        count++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return count;
  };
  await run(WARMUP_MS, undefined);
  const latencies: number[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const n = await run(DURATION_MS, latencies);
  const cpu = process.cpuUsage(cpu0);
  const secs = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => ((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 1000).toFixed(0);
  return {
    'req/s': Math.round(n / secs).toLocaleString('en-US'),
    'p50 µs': q(0.5),
    'p99 µs': q(0.99),
    // This process only (with the server in it: both sides). Steadier than req/s when
    // other work shares the cores.
    'CPU µs/req': ((cpu.user + cpu.system) / n).toFixed(2),
  };
}

export async function run(): Promise<void> {
  const key = randomBytes(32); // bench-only; handed to the child in its environment
  const keyring = new Keyring(key);
  const body: Body = {
    kind: 'clientPut',
    value: { key: Buffer.from('user:000042'), value: randomBytes(200), context, ttlMs: 0, w: 0, forwarded: false },
  };
  const rows: Row[] = [];
  const per = (f: number, w: number) => (w === 0 ? '-' : (f / w).toFixed(1));

  // Same process.
  const server = await startServer(keyring);
  const peers = new RpcPeers({ keyring, nodeId: '' });
  try {
    for (const inFlight of [1, 64]) {
      const s0 = server.stats();
      const c0 = peers.stats();
      const m = await measure(peers, server.port, inFlight, body);
      const s = server.stats();
      const c = peers.stats();
      rows.push({
        task: `same process, ${inFlight} in flight`,
        ...m,
        // How well writes coalesce: frames carried by each socket.write.
        'frames/write c,s': `${per(c.framesOut - c0.framesOut, c.writes - c0.writes)}, ${per(s.framesOut - s0.framesOut, s.writes - s0.writes)}`,
      });
    }
  } finally {
    await peers.close();
    await server.stop();
  }

  // Server in a child process.
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [CHILD_ENV]: key.toString('hex') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const remote = new RpcPeers({ keyring, nodeId: '' });
  try {
    const [port] = (await once(child, 'message')) as [number];
    for (const inFlight of [1, 64]) {
      const c0 = remote.stats();
      const m = await measure(remote, port, inFlight, body);
      const c = remote.stats();
      rows.push({ task: `server in a child, ${inFlight} in flight`, ...m, 'frames/write c,s': `${per(c.framesOut - c0.framesOut, c.writes - c0.writes)}, -` });
    }
  } finally {
    await remote.close();
    await stopChild(child);
  }
  console.table(rows);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function serveInChild(keyHex: string): Promise<void> {
  const server = await startServer(new Keyring(Buffer.from(keyHex, 'hex')));
  process.send!(server.port);
  process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}

if (process.env[CHILD_ENV] !== undefined && process.send !== undefined) void serveInChild(process.env[CHILD_ENV]);
