// Test hosts on one machine: network namespaces on a bridge, each with its own
// address, so nodes talk over real kernel networking. Partitions are blackhole
// routes inside the namespaces (the test process in the root namespace still
// reaches every node). Needs root and iproute2; `available()` says whether this
// machine can, so suites skip cleanly elsewhere.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ipOut(...args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

const LAB_NS = /^sh([0-9a-f]{6})n\d+$/;

/**
 * Removes what labs of earlier runs left behind (a test process killed before its
 * afterAll): namespaces of ours older than an hour with no process left in them
 * (a younger one may be a lab another test is setting up), then bridges of ours
 * whose namespaces are all gone. A stale bridge keeps its subnet's route in
 * the root namespace, and a new lab on the same subnet would be unreachable.
 */
function sweepStale(): void {
  const live = new Set<string>();
  for (const line of ipOut('netns', 'list').split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = LAB_NS.exec(ns);
    if (m === null) continue;
    const stale = Date.now() - statSync(`/run/netns/${ns}`).mtimeMs > 3_600_000;
    if (!stale || ipOut('netns', 'pids', ns).trim() !== '') live.add(m[1]!);
    else ip('netns', 'del', ns);
  }
  for (const line of ipOut('-o', 'link', 'show', 'type', 'bridge').split('\n')) {
    const m = /^\d+: shbr([0-9a-f]{6})[:@]/.exec(line);
    if (m !== null && !live.has(m[1]!)) ip('link', 'del', `shbr${m[1]!}`);
  }
}

/** A 10.x.0.0/24 subnet (x in 200..249) no address of the root namespace is on. */
function freeSubnet(): number {
  const used = new Set<number>();
  for (const m of ipOut('-4', '-o', 'addr', 'show').matchAll(/inet 10\.(\d+)\.0\./g)) used.add(Number(m[1]));
  const free = Array.from({ length: 50 }, (_, i) => 200 + i).filter((x) => !used.has(x));
  if (free.length === 0) throw new Error('no free 10.2xx.0.0/24 subnet for a test lab');
  return free[randomBytes(1)[0]! % free.length]!;
}

export function netnsAvailable(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = `shoalp${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

export interface Host {
  ns: string;
  address: string;
}

export class NetnsLab {
  readonly hosts: Host[] = [];
  private readonly bridge: string;
  private readonly blocked = new Set<string>();

  private constructor(
    private readonly tag: string,
    private readonly subnet: number,
  ) {
    this.bridge = `shbr${tag}`;
  }

  /** `count` hosts at 10.<subnet>.0.1.. on a fresh bridge; the root namespace is .254. */
  static create(count: number): NetnsLab {
    sweepStale();
    const tag = randomBytes(3).toString('hex');
    const lab = new NetnsLab(tag, freeSubnet());
    try {
      ip('link', 'add', lab.bridge, 'type', 'bridge');
      ip('addr', 'add', `10.${lab.subnet}.0.254/24`, 'dev', lab.bridge);
      ip('link', 'set', lab.bridge, 'up');
      for (let i = 1; i <= count; i++) {
        const ns = `sh${tag}n${i}`;
        const outer = `sh${tag}v${i}`;
        ip('netns', 'add', ns);
        ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        ip('link', 'set', outer, 'master', lab.bridge);
        ip('link', 'set', outer, 'up');
        ip('-n', ns, 'addr', 'add', `10.${lab.subnet}.0.${i}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        lab.hosts.push({ ns, address: `10.${lab.subnet}.0.${i}` });
      }
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Cuts every link between the two groups (both directions); each side stays whole. */
  partition(a: Host[], b: Host[]): void {
    for (const x of a) for (const y of b) {
      this.block(x, y);
      this.block(y, x);
    }
  }

  /** Restores every link cut by partition(). */
  heal(): void {
    for (const key of [...this.blocked]) {
      const [ns, address] = key.split(' ') as [string, string];
      try {
        ip('-n', ns, 'route', 'del', 'blackhole', `${address}/32`);
      } catch {
        // already gone
      }
      this.blocked.delete(key);
    }
  }

  private block(from: Host, to: Host): void {
    const key = `${from.ns} ${to.address}`;
    if (this.blocked.has(key)) return;
    ip('-n', from.ns, 'route', 'add', 'blackhole', `${to.address}/32`);
    this.blocked.add(key);
  }

  /** Removes every namespace and the bridge (idempotent). */
  destroy(): void {
    for (const h of this.hosts.splice(0)) {
      try {
        ip('netns', 'del', h.ns);
      } catch {
        // gone
      }
    }
    try {
      ip('link', 'del', this.bridge);
    } catch {
      // gone
    }
  }
}
