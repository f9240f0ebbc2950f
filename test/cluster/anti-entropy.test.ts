// Anti-entropy with real `shoal start` processes: three nodes, N=3, Q=64, no
// reads at all (so no read repair) and hints that expire at once (so no hinted
// handoff): whatever converges here, Merkle exchanges converged.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
const Q = 64;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ nodes: 3, partitions: Q, antiEntropy: true, extraArgs: ['--hint-max-age-ms', '1'] });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const http = (n: ClusterNode, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${n.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });

async function writeKeys(via: ClusterNode[], prefix: string, count: number, w: number): Promise<void> {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
        const k = i + j;
        const res = await http(via[k % via.length]!, `/kv/${prefix}${k}?w=${w}`, { method: 'PUT', body: `v${k}` });
        expect(res.status).toBe(204);
      }),
    );
  }
}

/** Per node, partition → root (only built trees). */
async function roots(nodes: ClusterNode[]): Promise<Array<Map<number, string>>> {
  return Promise.all(
    nodes.map(async (n) => new Map((await cluster.partitions(n)).partitions.filter((p) => p.root !== null).map((p) => [p.partition, p.root!]))),
  );
}

/** Every partition has a tree on every node and the same root everywhere (N=3 of 3 nodes: all replicate all). */
async function rootsAgree(nodes: ClusterNode[]): Promise<boolean> {
  const all = await roots(nodes);
  for (let p = 0; p < Q; p++) {
    const r = all.map((m) => m.get(p));
    if (r.some((x) => x === undefined || x !== r[0])) return false;
  }
  return true;
}

async function localValue(n: ClusterNode, key: string): Promise<string | undefined> {
  const res = await http(n, `/kv/${encodeURIComponent(key)}?local=true`);
  return res.status === 200 ? res.text() : undefined;
}

describe('anti-entropy between node processes', () => {
  it('restores every key to a node whose data folder was wiped, with no reads at all', async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    await writeKeys([a, b], 'wipe-', 1000, 3);
    await waitFor('roots to agree before the wipe', () => rootsAgree([a, b, c]));
    const before = (await cluster.partitions(a)).partitions.reduce((s, p) => s + (p.keys ?? 0), 0);

    await cluster.kill(c);
    await rm(c.dataDir, { recursive: true, force: true });
    await cluster.launch(c);
    await cluster.waitConverged();
    const gets = async () => (await Promise.all([a, b, c].map((n) => cluster.status(n)))).reduce((s, st) => s + st.coordinator['gets']!, 0);
    const getsBefore = await gets();

    await waitFor('anti-entropy to refill the wiped node', () => rootsAgree([a, b, c]), 60_000);
    const after = (await cluster.partitions(c)).partitions.reduce((s, p) => s + (p.keys ?? 0), 0);
    expect(after).toBe(before);
    // Every key, read from the wiped node's own replica (no quorum, no repair).
    for (let i = 0; i < 1000; i++) expect(await localValue(c, `wipe-${i}`)).toBe(`v${i}`);
    expect(await gets()).toBe(getsBefore); // nothing here was a quorum read
    const st = await cluster.status(c);
    expect(st.antiEntropy.keysPulled + (await cluster.status(a)).antiEntropy.keysPushed + (await cluster.status(b)).antiEntropy.keysPushed).toBeGreaterThanOrEqual(1000);
  });

  it('after a partition heals, all replicas roots match within a bounded number of exchange rounds', async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    await waitFor('roots to agree', () => rootsAgree([a, b, c]));
    // Partition c away: it stops answering anything, and once the others hold it
    // dead they send it nothing (a stopped process would otherwise still receive
    // the frames queued for it when it resumes). Then write through the others.
    c.child!.kill('SIGSTOP');
    try {
      await waitFor('a and b to see c dead', async () => {
        const views = await Promise.all([a, b].map((n) => cluster.status(n)));
        return views.every((v) => v.members.find((m) => m.id === c.id)?.status === 'dead');
      });
      await writeKeys([a, b], 'split-', 600, 2);
    } finally {
      c.child!.kill('SIGCONT');
    }
    const [ra, rb, rc] = await roots([a, b, c]);
    const stale = [...Array(Q).keys()].filter((p) => ra!.get(p) !== rc!.get(p)).length;
    expect(stale).toBeGreaterThan(Q / 2);
    expect(rb!.size).toBe(Q);
    const rounds = async () => (await Promise.all([a, b, c].map((n) => cluster.status(n)))).map((s) => s.antiEntropy.rounds);
    const start = await rounds();

    await waitFor('roots to agree after the heal', () => rootsAgree([a, b, c]), 60_000);
    const end = await rounds();
    // Hints for c were dropped unsent (they expire at once here): the exchanges did this.
    const hints = await Promise.all([a, b].map((n) => cluster.status(n)));
    expect(hints.reduce((s, h) => s + h.hints.expired, 0)).toBeGreaterThan(0);
    expect(hints.reduce((s, h) => s + h.hints.delivered, 0)).toBe(0);
    // Each round repairs up to 8 differing partitions with one peer; c differs from both
    // peers in at most Q partitions, so it takes at most Q / 8 of c's own rounds, plus
    // the rounds spent while c was still being refuted as suspect. Allow 3x.
    const cRounds = end[2]! - start[2]!;
    expect(cRounds).toBeLessThanOrEqual(3 * (Q / 8) + 6);
    for (let i = 0; i < 600; i += 37) expect(await localValue(c, `split-${i}`)).toBe(`v${i}`);
  });

  it('a join resumes after the joining node, then a source, crash mid-transfer, and loses nothing', async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    // A slow transfer (32 KiB/s), so that the crash lands in the middle of it even on a loaded machine.
    const d = await cluster.addNode({ args: ['--transfer-bytes-per-sec', '32768'] });
    await cluster.launch(d);
    const progress = async () => (await cluster.status(d)).transfer;
    const before = await waitFor('the transfer to be under way', async () => {
      const t = await progress();
      return t.partitionsDone >= 2 && t.partitionsDone < t.partitions - 4 ? t : undefined;
    });
    await cluster.kill(d);
    // Meanwhile the ring change stays pending: requests keep going to a, b and c.
    const view = await cluster.status(a);
    expect(view.ring!.pending?.joining).toEqual([d.id]);
    expect((await http(b, '/kv/wipe-7?r=2')).status).toBe(200);

    await cluster.launch(d);
    // Now a source crashes too: d must fetch every partition it has left from b as well.
    await cluster.kill(b);
    const resumed = await waitFor('the restarted node to report its progress', async () => {
      const t = await progress();
      return t.partitions > 0 ? t : undefined;
    });
    // Finished partitions were kept on disk: it goes on from where it was.
    expect(resumed.partitionsDone).toBeGreaterThanOrEqual(before.partitionsDone);
    await waitFor('d to fail to reach the crashed source', async () => (await cluster.status(d)).transfer.retries > 0);
    expect((await progress()).state).toBe('receiving');
    await cluster.launch(b);
    await cluster.waitConverged(90_000);
    for (let i = 0; i < 1000; i += 7) expect(await (await http(d, `/kv/wipe-${i}?r=2`)).text()).toBe(`v${i}`);
    // Once the grace period is over, every partition is on exactly three nodes, which agree.
    await waitFor('d and the others to agree', async () => {
      const reports = await Promise.all([a, b, c, d].map((n) => cluster.partitions(n)));
      for (let p = 0; p < Q; p++) {
        const holders = reports.filter((r) => r.partitions[p]!.held);
        if (holders.length !== 3 || new Set(holders.map((r) => r.partitions[p]!.root)).size !== 1) return false;
      }
      return true;
    });
  });
});
