// Growing and shrinking a cluster of real `shoal start` processes under a
// continuous write load (N=3, R=W=2, Q=64): 3 → 5 by `shoal admin join`, 5 → 4 by
// `shoal admin leave`, 4 → 3 by `shoal admin remove` of a killed node. Every
// acknowledged write must stay readable during and after each change, and
// afterwards every partition lives on exactly its three replicas, which agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
const Q = 64;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ nodes: 3, partitions: Q, antiEntropy: true, extraArgs: ['--handover-grace-ms', '1000'] });
}, 120_000);

afterAll(async () => {
  await load?.stop();
  await cluster?.stop();
});

const http = (n: ClusterNode, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${n.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** Writes new keys through random running nodes and reads back acknowledged ones, until stopped. */
class Load {
  readonly acked = new Map<string, string>();
  /** Reads of an acknowledged key that came back absent or wrong: must stay empty. */
  readonly lost: string[] = [];
  /** For each lost read, where the key was then (each node's own copy, hints pending): evidence for a failure. */
  readonly evidence: string[] = [];
  reads = 0;
  failedWrites = 0;
  private n = 0;
  private stopped = false;
  private readonly loops: Array<Promise<void>>;

  constructor(readonly prefix: string) {
    this.loops = [this.writer(), this.writer(), this.reader()];
  }

  private async writer(): Promise<void> {
    while (!this.stopped) {
      const key = `${this.prefix}${this.n++}`;
      const value = `v-${key}`;
      try {
        const res = await http(pick(cluster.running()), `/kv/${key}?w=2`, { method: 'PUT', body: value });
        if (res.status === 204) this.acked.set(key, value);
        else this.failedWrites++;
      } catch {
        this.failedWrites++; // the node went away mid-request: not acknowledged
      }
    }
  }

  private async reader(): Promise<void> {
    while (!this.stopped) {
      const keys = [...this.acked.keys()];
      if (keys.length === 0) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const key = pick(keys);
      const outcome = await readBack(key, this.acked.get(key)!);
      if (outcome === 'lost') {
        this.lost.push(key);
        this.evidence.push(`${key} at ${new Date().toISOString()}: ${await whereIs(key)}`);
      }
      if (outcome !== 'unavailable') this.reads++;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

/** Each running node's own copy of key (HTTP status of a local read) and its pending hints. */
async function whereIs(key: string): Promise<string> {
  const each = await Promise.all(
    cluster.running().map(async (n) => {
      try {
        const [local, status] = await Promise.all([http(n, `/kv/${key}?local=true`), cluster.status(n)]);
        return `${n.id} local ${local.status}, ${status.hints.pending} hints`;
      } catch {
        return `${n.id} unreachable`;
      }
    }),
  );
  return each.join('; ');
}

/** Reads a key with r=2 through a random running node; retries elsewhere when a node cannot answer. */
async function readBack(key: string, want: string): Promise<'ok' | 'lost' | 'unavailable'> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const res = await http(pick(cluster.running()), `/kv/${key}?r=2`);
      if (res.status === 200) return (await res.text()) === want ? 'ok' : 'lost';
      if (res.status === 404 || res.status === 300) return 'lost';
    } catch {
      // the node went away: ask another
    }
  }
  return 'unavailable';
}

/** Reads every key with r=2 through the SDK (a fresh client, so it routes by the current ring). */
async function allReadable(keys: Map<string, string>): Promise<string[]> {
  const client = await cluster.client();
  const lost: string[] = [];
  const entries = [...keys];
  for (let i = 0; i < entries.length; i += 64) {
    await Promise.all(
      entries.slice(i, i + 64).map(async ([k, v]) => {
        const { values } = await client.get(k, { r: 2 });
        if (values.length !== 1 || values[0]!.toString() !== v) lost.push(k);
      }),
    );
  }
  await client.close();
  return lost;
}

/**
 * Waits until every partition is held by exactly three running nodes, those three
 * (and no other node) hold its data, and their Merkle roots agree; returns the
 * partitions held per node.
 */
async function placementSettles(): Promise<Map<string, number>> {
  let heldBy = new Map<string, number>();
  await waitFor(
    'every partition on exactly its three replicas, in agreement',
    async () => {
      const reports = await Promise.all(cluster.running().map((n) => cluster.partitions(n)));
      heldBy = new Map(reports.map((r) => [r.id, r.partitions.filter((p) => p.held).length]));
      for (let p = 0; p < Q; p++) {
        const holders = reports.filter((r) => r.partitions[p]!.held);
        if (holders.length !== 3) return false;
        if (reports.some((r) => r.partitions[p]!.hasData && !r.partitions[p]!.held)) return false;
        const roots = new Set(holders.map((r) => r.partitions[p]!.root));
        if (roots.size !== 1 || roots.has(null)) return false;
      }
      return true;
    },
    60_000,
  );
  return heldBy;
}

async function ownsItsShare(): Promise<void> {
  const all = await Promise.all(cluster.running().map((n) => cluster.status(n)));
  const share = Q / all.length;
  for (const st of all) {
    expect(st.ring!.pending).toBeNull();
    expect(Math.abs(st.ring!.owned - share)).toBeLessThan(1);
  }
  expect(all.reduce((s, st) => s + st.ring!.owned, 0)).toBe(Q);
}

let load: Load | undefined;
/** Every acknowledged write so far, across the tests. */
let written = new Map<string, string>();

describe('membership changes under load', () => {
  it('grows 3 → 5 with `shoal admin join`: no acknowledged write lost during or after', async () => {
    const seed = `127.0.0.1:${cluster.nodes[0]!.port}`;
    for (let i = 0; i < 600; i += 50) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async (_, j) => (await http(cluster.nodes[(i + j) % 3]!, `/kv/pre-${i + j}?w=3`, { method: 'PUT', body: `v-pre-${i + j}` })).status),
      );
      expect(statuses.every((st) => st === 204)).toBe(true);
    }
    load = new Load('grow-');
    const joiners = [await cluster.addNode({ noSeeds: true, args: ['--no-join'] }), await cluster.addNode({ noSeeds: true, args: ['--no-join'] })];
    await Promise.all(joiners.map((j) => cluster.launch(j)));
    for (const j of joiners) expect((await cluster.status(j)).ring).toBeNull(); // not part of any ring yet
    await waitFor('some writes before the change', () => load!.acked.size > 50);
    for (const j of joiners) {
      const out = await cluster.cli(j, ['admin', 'join', seed]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/staged/);
    }
    // While the change is pending the joiners are in the ring but own nothing yet.
    const mid = await cluster.status(joiners[1]!);
    expect(mid.ring?.nodes).toContain(joiners[1]!.id);
    await cluster.waitConverged(90_000);
    // The SDK sees the completed change too: every node, nothing pending.
    const sdk = await cluster.client();
    await sdk.refreshRing();
    expect(sdk.ring.pending).toBe(false);
    expect([...sdk.ring.nodes].sort()).toEqual(cluster.running().map((n) => n.id).sort());
    const atChange = load.acked.size;
    await waitFor('more writes after the change', () => load!.acked.size > atChange + 20);
    await load.stop();

    expect(load.lost, load.evidence.join('\n')).toEqual([]);
    expect(load.reads).toBeGreaterThan(0);
    const acked = new Map([...load.acked, ...Array.from({ length: 600 }, (_, i) => [`pre-${i}`, `v-pre-${i}`] as [string, string])]);
    expect(await allReadable(acked)).toEqual([]);
    await ownsItsShare();
    const held = await placementSettles();
    for (const j of joiners) expect(held.get(j.id)).toBeGreaterThan(0);
    const received = await Promise.all(joiners.map((j) => cluster.status(j)));
    for (const st of received) expect(st.transfer.keysReceived).toBeGreaterThan(0);
    written = acked;
    const shown = await cluster.cli(cluster.nodes[0]!, ['status']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/no change pending/);
    for (const n of cluster.nodes) expect(shown.stdout).toMatch(new RegExp(`^  ${n.id} +alive +active`, 'm'));
    expect(shown.stdout).toMatch(/^requests coordinated: \d+ gets, \d+ puts/m);
    expect(shown.stdout).toMatch(/^key filter: ready/m);
  });

  it('shrinks 5 → 4 with `shoal admin leave`: the node hands its partitions over, then exits', async () => {
    load = new Load('leave-');
    await waitFor('some writes', () => load!.acked.size > 50);
    const leaver = cluster.nodes[4]!;
    const exited = new Promise<number | null>((r) => leaver.child!.once('exit', (code) => r(code)));
    const out = await cluster.cli(leaver, ['admin', 'leave']);
    expect(out.code, out.stderr).toBe(0);
    expect(await exited).toBe(0);
    leaver.gone = true;
    await cluster.waitConverged(90_000);
    await load.stop();

    expect(load.lost, load.evidence.join('\n')).toEqual([]);
    for (const [k, v] of load.acked) written.set(k, v);
    expect(await allReadable(written)).toEqual([]);
    const views = await Promise.all(cluster.running().map((n) => cluster.status(n)));
    for (const v of views) expect(v.members.find((m) => m.id === leaver.id)?.status).toBe('left');
    await ownsItsShare();
    await placementSettles();
  });

  it('shrinks 4 → 3 with `shoal admin remove` of a killed node: its replicas are rebuilt from the others', async () => {
    load = new Load('remove-');
    await waitFor('some writes', () => load!.acked.size > 50);
    const dead = cluster.nodes[3]!;
    await cluster.kill(dead);
    const [a] = cluster.running();
    // Refused while the node may still be alive in a's view.
    await waitFor('the others to see the node dead', async () => (await cluster.status(a!)).members.find((m) => m.id === dead.id)?.status === 'dead');
    const out = await cluster.cli(a!, ['admin', 'remove', dead.id, '--wait']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/done: ring v\d+, 3 nodes/);
    dead.gone = true;
    await cluster.waitConverged(90_000);
    await load.stop();

    expect(load.lost, load.evidence.join('\n')).toEqual([]);
    for (const [k, v] of load.acked) written.set(k, v);
    expect(await allReadable(written)).toEqual([]);
    await waitFor('the removed node to be marked left', async () => {
      const views = await Promise.all(cluster.running().map((n) => cluster.status(n)));
      return views.every((v) => v.members.find((m) => m.id === dead.id)?.status === 'left');
    });
    await ownsItsShare();
    await placementSettles();
    // Hints the others held for the removed node went to the new replicas of their keys.
    await waitFor('hints for the removed node to be redirected', async () => {
      const views = await Promise.all(cluster.running().map((n) => cluster.status(n)));
      return views.every((v) => v.hints.pending === 0) && views.some((v) => v.hints.redirected > 0);
    });
    const refused = await cluster.cli(a!, ['admin', 'remove', cluster.nodes[1]!.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/remove is for dead nodes/);
  });
});
