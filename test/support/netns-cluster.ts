// `shoal start` processes on their own network namespaces (NetnsLab), for tests that
// cut real links: one node per host on a fixed port, started in order through the
// first host, waited on until every node holds one ring with all of them, no change
// pending, and sees every member alive. stop() kills them and removes everything.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { waitFor } from './cluster.js';
import { type Host, NetnsLab } from './netns.js';

export interface NetnsClusterOptions {
  hosts: number;
  port: number;
  httpPort: number;
  /** The node id of host i (default `p<i>`). */
  idOf?: (i: number) => string;
  /** `shoal start` arguments of host i besides id, addresses, data, key and seeds. */
  args: (i: number) => string[];
}

/** What every test reads of GET /status. */
export interface NetnsStatus {
  id: string;
  members: Array<{ id: string; status: string; dc: string }>;
  ring: { nodes: string[]; checksum: string; pending: unknown } | null;
  hints: { pending: number };
}

export class NetnsCluster {
  readonly key = randomBytes(32).toString('hex');
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly lab: NetnsLab,
    readonly dir: string,
    private readonly o: NetnsClusterOptions,
  ) {}

  get hosts(): Host[] {
    return this.lab.hosts;
  }

  static async start(o: NetnsClusterOptions): Promise<NetnsCluster> {
    const c = new NetnsCluster(NetnsLab.create(o.hosts), await mkdtemp(join(tmpdir(), 'shoal-netns-')), o);
    try {
      await writeFile(join(c.dir, 'key'), c.key);
      for (const [i, h] of c.hosts.entries()) await c.launch(h, i, i === 0 ? [] : [c.address(c.hosts[0]!)]);
      await waitFor(
        `${o.hosts} nodes to converge`,
        async () => {
          const all = await Promise.all(c.hosts.map((h) => c.status(h)));
          return (
            new Set(all.map((s) => s.ring?.checksum)).size === 1 &&
            all.every((s) => s.ring?.nodes.length === o.hosts && s.ring.pending === null && s.members.length === o.hosts && s.members.every((m) => m.status === 'alive'))
          );
        },
        60_000,
      );
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** host:port of a host's node (peers and clients). */
  address(h: Host): string {
    return `${h.address}:${this.o.port}`;
  }

  async status<T extends NetnsStatus = NetnsStatus>(h: Host): Promise<T> {
    const res = await fetch(`http://${h.address}:${this.o.httpPort}/status`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as T;
  }

  private async launch(h: Host, i: number, seeds: string[]): Promise<void> {
    const id = this.o.idOf?.(i) ?? `p${i}`;
    const args = ['netns', 'exec', h.ns, process.execPath, join(packageRoot(), 'dist/src/cli/main.js'), 'start', '--id', id];
    args.push('--host', h.address, '--port', String(this.o.port), '--http-port', String(this.o.httpPort), '--data', join(this.dir, id));
    args.push('--cluster-key-file', join(this.dir, 'key'), ...this.o.args(i));
    if (seeds.length > 0) args.push('--seeds', seeds.join(','));
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('"ready":true')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}`)));
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGKILL');
          }),
      ),
    );
    this.lab.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}
