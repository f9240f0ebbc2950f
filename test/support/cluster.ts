// A cluster of real `shoal start` processes on 127.0.0.1 for integration tests:
// real sockets, real LevelDB in a temporary folder, real SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/paths.js';

export interface NodeStatus {
  id: string;
  members: Array<{ id: string; address: string; status: string; incarnation: number }>;
  ring: { version: number; nodes: string[]; checksum: string; partitions: number } | null;
  hints: { pending: number; delivered: number };
  coordinator: Record<string, number>;
}

export interface ClusterNode {
  id: string;
  port: number;
  httpPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  stderr: string[];
}

export interface ClusterOptions {
  nodes: number;
  n?: number;
  r?: number;
  w?: number;
  partitions?: number;
  extraArgs?: string[];
}

/** Asks the OS for a free TCP port (for HTTP, which has no "pick one" setting). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
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

  static async start(options: ClusterOptions): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cluster-'));
    const c = new ProcessCluster(dir, options);
    await writeFile(c.keyFile, c.key + '\n');
    try {
      for (let i = 0; i < options.nodes; i++) {
        const node: ClusterNode = { id: `n${i + 1}`, port: 0, httpPort: await freePort(), dataDir: join(dir, `n${i + 1}`), child: undefined, stderr: [] };
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
    if (node !== first || first.port !== 0) {
      const seeds = this.nodes.filter((x) => x !== node && x.port !== 0).map((x) => `127.0.0.1:${x.port}`);
      if (seeds.length > 0) args.push('--seeds', seeds.join(','));
    }
    args.push(...(o.extraArgs ?? []));
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

  async status(node: ClusterNode): Promise<NodeStatus> {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/status`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as NodeStatus;
  }

  running(): ClusterNode[] {
    return this.nodes.filter((n) => n.child !== undefined && n.child.exitCode === null && n.child.signalCode === null);
  }

  /** Every running node sees every node alive and holds one ring with all of them. */
  async waitConverged(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'the cluster to converge',
      async () => {
        const all = await Promise.all(this.running().map((n) => this.status(n)));
        const sums = new Set(all.map((s) => s.ring?.checksum));
        return (
          sums.size === 1 &&
          all.every((s) => s.ring !== null && s.ring.nodes.length === this.nodes.length) &&
          all.every((s) => s.members.filter((m) => m.status === 'alive').length === this.running().length)
        );
      },
      timeoutMs,
    );
  }

  async client(): Promise<Client> {
    const c = await Client.connect({ seeds: this.running().map((n) => `127.0.0.1:${n.port}`), clusterKey: this.key, requestTimeoutMs: 5000 });
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
