// `npm run bench:floor`: what this machine allows a replicated put, before any of
// Shoal's work. Three node processes, each a TCP server over its own LevelDB
// (classic-level, one chained batch per event-loop turn, socket writes coalesced
// per turn); a client with 64 requests in flight sends each put to one node, which
// writes it locally and to the two others and answers once its own batch and one
// other node's have committed (N=3, W=2). No versioning, no validation, no
// protobuf, no authentication, no membership: 16-byte keys, 200-byte values, a
// 9-byte frame header. Compare its CPU per put with `npm run bench:cluster`'s.
// Options (env): SHOAL_BENCH_SECONDS (default 10), SHOAL_BENCH_INFLIGHT (64).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';

const PUT = 1;
const PUT_OK = 2;
const REPL = 3;
const REPL_OK = 4;
const KEY = 16;
const VALUE = 200;

/** One connection's framing: [length u32][type u8][id u32][payload], writes flushed once per turn. */
class Wire {
  private chunks: Buffer[] = [];
  private pending: Buffer[] = [];
  private scheduled = false;

  constructor(
    readonly socket: Socket,
    onFrame: (type: number, id: number, payload: Buffer) => void,
  ) {
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      let off = 0;
      while (buf.length - off >= 4) {
        const len = buf.readUInt32BE(off);
        if (buf.length - off - 4 < len) break;
        onFrame(buf[off + 4]!, buf.readUInt32BE(off + 5), buf.subarray(off + 9, off + 4 + len));
        off += 4 + len;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    });
  }

  send(type: number, id: number, payload?: Buffer): void {
    const head = Buffer.allocUnsafe(9);
    head.writeUInt32BE(5 + (payload?.length ?? 0), 0);
    head[4] = type;
    head.writeUInt32BE(id, 5);
    this.pending.push(head);
    if (payload) this.pending.push(payload);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    [this.chunks, this.pending] = [this.pending, this.chunks];
    this.socket.write(Buffer.concat(this.chunks));
    this.chunks.length = 0;
  };
}

/** A node: serves PUT (coordinating) and REPL (as a replica). */
async function runNode(dir: string): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  let batch = db.batch();
  let waiters: Array<() => void> = [];
  let scheduled = false;
  const commit = (): void => {
    scheduled = false;
    const b = batch;
    const ws = waiters;
    batch = db.batch();
    waiters = [];
    void b.write().then(() => {
      for (const w of ws) w();
    });
  };
  const write = (key: Buffer, value: Buffer, done: () => void): void => {
    batch.put(key, value);
    waiters.push(done);
    if (!scheduled) {
      scheduled = true;
      setImmediate(commit);
    }
  };
  let peers: Wire[] = [];
  const replies = new Map<number, () => void>();
  let nextId = 1;
  const onPeerFrame = (type: number, id: number): void => {
    if (type === REPL_OK) {
      const r = replies.get(id);
      replies.delete(id);
      r?.();
    }
  };
  const server = createServer((socket) => {
    const wire: Wire = new Wire(socket, (type, id, payload) => {
      const key = Buffer.from(payload.subarray(0, KEY));
      const value = Buffer.from(payload.subarray(KEY));
      if (type === REPL) return write(key, value, () => wire.send(REPL_OK, id));
      if (type !== PUT) return;
      // W=2: this node's commit and the first other replica's.
      let acks = 0;
      const ack = (): void => {
        if (++acks === 2) wire.send(PUT_OK, id);
      };
      write(key, value, ack);
      let peerAcked = false;
      for (const p of peers) {
        const rid = nextId++;
        replies.set(rid, () => {
          if (!peerAcked) {
            peerAcked = true;
            ack();
          }
        });
        p.send(REPL, rid, payload);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  console.log(JSON.stringify({ port }));
  // The bench sends the other nodes' ports on stdin once all have started; this
  // node says when it is connected to them.
  createInterface({ input: process.stdin }).once('line', (line) => {
    const ports = JSON.parse(line) as number[];
    let connected = 0;
    peers = ports.map(
      (p) =>
        new Wire(
          connect(p, '127.0.0.1', () => {
            if (++connected === ports.length) console.log('peers');
          }),
          onPeerFrame,
        ),
    );
  });
}

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const seconds = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 10);
  const inflight = Number(process.env['SHOAL_BENCH_INFLIGHT'] ?? 64);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-floor-'));
  const self = fileURLToPath(import.meta.url);
  const procs: ChildProcess[] = [];
  try {
    const ports: number[] = [];
    const lines: Array<ReturnType<typeof createInterface>> = [];
    for (let i = 0; i < 3; i++) {
      const child = spawn(process.execPath, [self, 'node', join(dir, `n${i}`)], { stdio: ['pipe', 'pipe', 'inherit'] });
      procs.push(child);
      const rl = createInterface({ input: child.stdout! });
      lines.push(rl);
      ports.push(await new Promise<number>((resolve) => rl.once('line', (l) => resolve((JSON.parse(l) as { port: number }).port))));
    }
    // Each node connects to the two others before any put is sent.
    await Promise.all(
      procs.map((child, i) => {
        const ready = new Promise<void>((resolve) => lines[i]!.once('line', () => resolve()));
        child.stdin!.write(JSON.stringify(ports.filter((_, j) => j !== i)) + '\n');
        return ready;
      }),
    );
    const pending = new Map<number, () => void>();
    const wires = await Promise.all(
      ports.map(
        (p) =>
          new Promise<Wire>((resolve) => {
            const s = connect(p, '127.0.0.1', () => resolve(w));
            const w = new Wire(s, (type, id) => {
              if (type !== PUT_OK) return;
              const r = pending.get(id);
              pending.delete(id);
              r?.();
            });
          }),
      ),
    );
    const keys = Array.from({ length: 100_000 }, () => randomBytes(KEY));
    const value = randomBytes(VALUE);
    let nextId = 1;
    const put = (k: number): Promise<void> =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        wires[k % 3]!.send(PUT, id, Buffer.concat([keys[k]!, value]));
      });
    for (const phase of ['warm', 'put']) {
      const cpu0 = procs.map((p) => cpuSeconds(p.pid));
      const c0 = process.cpuUsage();
      const lat: number[] = [];
      const end = performance.now() + seconds * 1000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (performance.now() < end) {
            const s = performance.now();
            await put(Math.floor(Math.random() * keys.length));
            lat.push(performance.now() - s);
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const nodesCpu = procs.map((p, i) => cpuSeconds(p.pid) - cpu0[i]!);
      const c = process.cpuUsage(c0);
      const clientCpu = (c.user + c.system) / 1e6;
      const per = (s: number) => ((s * 1e6) / lat.length).toFixed(0);
      const sorted = Float64Array.from(lat).sort();
      const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2);
      console.log(
        `${phase.padEnd(5)} ${Math.round(lat.length / elapsed).toLocaleString('en-US').padStart(8)} puts/s   p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms` +
          `\n      CPU µs/put: total ${per(nodesCpu.reduce((a, b) => a + b, 0) + clientCpu)} = nodes ${nodesCpu.map(per).join(' + ')} + client ${per(clientCpu)}`,
      );
    }
    for (const w of wires) w.socket.destroy();
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'node') void runNode(process.argv[3]!);
else void main();
