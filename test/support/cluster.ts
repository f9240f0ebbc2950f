// A cluster of real `shoal start` processes on 127.0.0.1 for integration tests:
// real sockets, real LevelDB in a temporary folder, real SIGKILL.
import { afterAll, beforeAll } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, type ClientOptions } from '../../src/client/index.js';
import type { SiblingSet } from '../../src/codec/index.js';
import type { RpcPeers } from '../../src/transport/index.js';
import { packageRoot } from '../../src/paths.js';

export interface NodeStatus {
  id: string;
  members: Array<{ id: string; address: string; status: string; incarnation: number }>;
  ring: {
    version: number;
    nodes: string[];
    checksum: string;
    partitions: number;
    owned: number;
    role: string;
    pending: null | { joining: string[]; leaving: string[]; ready: string[]; waitingFor: string[]; replicaMoves: number };
  } | null;
  hints: { pending: number; delivered: number; batches: number; expired: number; redirected: number };
  coordinator: Record<string, number>;
  transport: Record<'server' | 'peers', { framesIn: number; framesOut: number; writes: number; bytesIn: number; bytesOut: number }>;
  antiEntropy: { rounds: number; rootsDiffering: number; keysPushed: number; keysPulled: number; trees: { held: number; ready: number } };
  transfer: { state: string; partitions: number; partitionsDone: number; keysReceived: number; retries: number; forwarded: number; graceLeftMs: number; dropped: { partitions: number; keys: number } };
}

export interface PartitionReport {
  id: string;
  ringVersion: number;
  partitions: Array<{ partition: number; held: boolean; keys: number | null; root: string | null; hasData: boolean }>;
}

export interface ClusterNode {
  id: string;
  port: number;
  httpPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  stderr: string[];
  /** Extra `shoal start` arguments for this node only. */
  args?: string[];
  /** Started without seeds (with --no-join it waits for `shoal admin join`). */
  noSeeds?: boolean;
  /** Left or removed from the cluster: no longer counted as a ring member. */
  gone?: boolean;
}

export interface ClusterOptions {
  nodes: number;
  n?: number;
  r?: number;
  w?: number;
  partitions?: number;
  extraArgs?: string[];
  /** Extra arguments for the i-th node (from 0), e.g. its --dc. */
  nodeArgs?: (i: number) => string[];
  /**
   * Run scheduled anti-entropy (default false: the nodes get --ae-interval-ms 0,
   * so tests of read repair and hinted handoff see those mechanisms alone).
   */
  antiEntropy?: boolean;
}

/**
 * A port free on 127.0.0.1 for TCP and UDP now, for a port given in advance (HTTP,
 * or a node's --port in a shared seed list). It lies below the kernel's ephemeral
 * range: a port the OS handed out (port 0) is freed at once, and in a parallel run
 * another process's listener or outgoing connection could take it before the
 * node binds it; the ephemeral allocator never hands out ports below its range.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  const from = Math.max(1024, low - 12_000);
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (low - from));
    if ((await canListen(port)) && (await canBindUdp(port))) return port;
  }
  throw new Error(`no free port found in ${from}..${low - 1}`);
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 2048) return low;
  } catch {
    // not Linux: the IANA range's start
  }
  return 49152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function canBindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The sibling set the node on `port` holds for key, read as a peer reads it (replicaRead); throws when it holds none. */
export async function replicaSet(peers: RpcPeers, port: number, key: string): Promise<SiblingSet> {
  const read = await peers.request('127.0.0.1', port, { kind: 'replicaRead', value: { key: Buffer.from(key), readFor: '' } });
  if (read.kind !== 'replicaReadReply' || !read.value.set) throw new Error(`${key}: the node holds no set (${read.kind})`);
  return read.value.set;
}

export interface CliResult {
  /** The exit code (1 when the process died of a signal). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `shoal` CLI (dist) with these arguments to its exit. */
export async function runShoal(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [join(packageRoot(), 'dist/src/cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class ProcessCluster {
  readonly nodes: ClusterNode[] = [];
  readonly key = randomBytes(32).toString('hex');
  private clients: Client[] = [];

  private constructor(
    readonly dir: string,
    readonly options: ClusterOptions,
  ) {}

  get keyFile(): string {
    return join(this.dir, 'cluster.key');
  }

  /** The cluster key as a bearer credential: what nodes started with --http-auth want (others ignore it). */
  get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.key}` };
  }

  static async start(options: ClusterOptions): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cluster-'));
    const c = new ProcessCluster(dir, options);
    await writeFile(c.keyFile, c.key + '\n');
    try {
      for (let i = 0; i < options.nodes; i++) {
        const node: ClusterNode = { id: `n${i + 1}`, port: 0, httpPort: await freePort(), dataDir: join(dir, `n${i + 1}`), child: undefined, stderr: [] };
        if (options.nodeArgs) node.args = options.nodeArgs(i);
        c.nodes.push(node);
        await c.launch(node);
      }
      await c.waitConverged();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Starts (or restarts, on the same ports and data) one node; resolves when it is ready. */
  async launch(node: ClusterNode): Promise<void> {
    const o = this.options;
    const args = [join(packageRoot(), 'dist/src/cli/main.js'), 'start', '--id', node.id, '--host', '127.0.0.1'];
    args.push('--port', String(node.port), '--http-port', String(node.httpPort), '--data', node.dataDir);
    args.push('--cluster-key-file', this.keyFile, '--profile', 'fast', '--log-level', 'warn');
    args.push('--n', String(o.n ?? 3), '--r', String(o.r ?? 2), '--w', String(o.w ?? 2), '--partitions', String(o.partitions ?? 64));
    const first = this.nodes[0]!;
    if (!node.noSeeds && (node !== first || first.port !== 0)) {
      const seeds = this.nodes.filter((x) => x !== node && x.port !== 0).map((x) => `127.0.0.1:${x.port}`);
      if (seeds.length > 0) args.push('--seeds', seeds.join(','));
    }
    if (!o.antiEntropy) args.push('--ae-interval-ms', '0');
    args.push(...(o.extraArgs ?? []), ...(node.args ?? []));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.stderr = [];
    createInterface({ input: child.stderr! }).on('line', (l) => node.stderr.push(l));
    const ready = await new Promise<{ port: number }>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { ready?: boolean; port: number };
          if (msg.ready) resolve(msg);
        } catch {
          // not the ready line
        }
      });
      child.once('exit', (code, sig) => reject(new Error(`${node.id} exited (${code ?? sig}) before it was ready:\n${node.stderr.join('\n')}`)));
    });
    node.port = ready.port;
  }

  /** The node's own siblings of key (HTTP `?local=true`, no quorum), sorted; [] when it has none. */
  async localValues(node: ClusterNode, key: string): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/kv/${encodeURIComponent(key)}?local=true`, { signal: AbortSignal.timeout(10_000), headers: this.auth });
    if (res.status === 404) return [];
    if (res.status === 200) return [await res.text()];
    const body = (await res.json()) as { siblings: string[] };
    return body.siblings.map((s) => Buffer.from(s, 'base64').toString()).sort();
  }

  async status(node: ClusterNode): Promise<NodeStatus> {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/status`, { signal: AbortSignal.timeout(2000), headers: this.auth });
    return (await res.json()) as NodeStatus;
  }

  running(): ClusterNode[] {
    return this.nodes.filter((n) => n.child !== undefined && n.child.exitCode === null && n.child.signalCode === null);
  }

  /** Every running node sees every node alive and holds one ring with all of them, no change pending. */
  async waitConverged(timeoutMs = 60_000): Promise<void> {
    const members = this.nodes.filter((n) => !n.gone).length;
    await waitFor(
      'the cluster to converge',
      async () => {
        const all = await Promise.all(this.running().map((n) => this.status(n)));
        const sums = new Set(all.map((s) => s.ring?.checksum));
        return (
          sums.size === 1 &&
          all.every((s) => s.ring !== null && s.ring.nodes.length === members && s.ring.pending === null) &&
          all.every((s) => s.members.filter((m) => m.status === 'alive').length === this.running().length)
        );
      },
      timeoutMs,
    );
  }

  /** Adds a node (not yet started) with the next id; launch() starts it. */
  addNode(o: { args?: string[]; noSeeds?: boolean } = {}): Promise<ClusterNode> {
    return freePort().then((httpPort) => {
      const i = this.nodes.length + 1;
      const node: ClusterNode = { id: `n${i}`, port: 0, httpPort, dataDir: join(this.dir, `n${i}`), child: undefined, stderr: [], ...o };
      this.nodes.push(node);
      return node;
    });
  }

  /** Runs the `shoal` CLI (e.g. ['admin', 'join', seed]) against a node's HTTP API. */
  async cli(node: ClusterNode, args: string[]): Promise<CliResult> {
    return runShoal([...args, '--http', `127.0.0.1:${node.httpPort}`, '--cluster-key-file', this.keyFile]);
  }

  /** GET /admin/partitions of a node. */
  async partitions(node: ClusterNode): Promise<PartitionReport> {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/admin/partitions`, { signal: AbortSignal.timeout(10_000), headers: this.auth });
    return (await res.json()) as PartitionReport;
  }

  async client(o: Omit<ClientOptions, 'seeds' | 'clusterKey'> = {}): Promise<Client> {
    const c = await Client.connect({ seeds: this.running().map((n) => `127.0.0.1:${n.port}`), clusterKey: this.key, requestTimeoutMs: 5000, ...o });
    this.clients.push(c);
    return c;
  }

  async kill(node: ClusterNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = node.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill(signal);
    });
  }

  async stop(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => undefined);
    await Promise.all(this.nodes.map((n) => this.kill(n, 'SIGTERM')));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The usual life of a file's cluster: started before its tests (then handed to
 * `use`), stopped after them.
 */
export function clusterPerFile(options: ClusterOptions, use: (cluster: ProcessCluster) => void): void {
  let started: ProcessCluster | undefined;
  beforeAll(async () => {
    started = await ProcessCluster.start(options);
    use(started);
  }, 120_000);
  afterAll(async () => {
    await started?.stop();
  });
}
