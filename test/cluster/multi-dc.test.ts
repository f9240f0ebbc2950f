// Replicas per data centre with real `shoal start` processes: two dcs of two
// nodes, two replicas of every key in each. A client in dc2 has its requests
// coordinated in dc2; local-scope writes keep succeeding with dc1 frozen (SIGSTOP)
// and reach dc1 by hinted handoff once it runs again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
const dcOf = (i: number) => (i < 2 ? 'dc1' : 'dc2');

beforeAll(async () => {
  cluster = await ProcessCluster.start({
    nodes: 4,
    n: 4,
    extraArgs: ['--replication', 'dc1:2,dc2:2'],
    nodeArgs: (i) => ['--dc', dcOf(i)],
  });
}, 120_000);

afterAll(async () => {
  for (const n of cluster?.nodes ?? []) n.child?.kill('SIGCONT');
  await cluster?.stop();
});

const dc1 = () => cluster.nodes.slice(0, 2);
const dc2 = () => cluster.nodes.slice(2);

async function sum(nodes: ClusterNode[], stat: string): Promise<number> {
  const all = await Promise.all(nodes.map((n) => cluster.status(n)));
  return all.reduce((s, st) => s + st.coordinator[stat]!, 0);
}

/** How many nodes hold key in their own store. */
async function copies(key: string, value: string): Promise<number> {
  const held = await Promise.all(cluster.nodes.map((n) => cluster.localValues(n, key)));
  return held.filter((v) => v.includes(value)).length;
}

describe('a cluster with replicas per data centre (dc1:2, dc2:2)', () => {
  it('reports its replication, and a dc2 client has every request coordinated in dc2', async () => {
    const st = (await cluster.status(cluster.nodes[3]!)) as unknown as { replication: unknown };
    expect(st.replication).toEqual({ n: 4, perDc: { dc1: 2, dc2: 2 }, quorumScope: 'local', dc: 'dc2', mismatched: {} });
    const client = await cluster.client({ dc: 'dc2' });
    const before = {
      dc1: (await sum(dc1(), 'puts')) + (await sum(dc1(), 'gets')),
      forwarded: await sum(cluster.nodes, 'forwarded'),
      relayed: await sum(dc2(), 'relayed'),
      passedOn: await sum(dc1(), 'passedOn'),
    };
    for (let i = 0; i < 40; i++) await client.put(`route-${i}`, `v${i}`);
    for (let i = 0; i < 40; i++) expect((await client.get(`route-${i}`)).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.direct).toBe(client.stats.requests);
    expect((await sum(dc1(), 'puts')) + (await sum(dc1(), 'gets'))).toBe(before.dc1);
    expect(await sum(cluster.nodes, 'forwarded')).toBe(before.forwarded);
    // Every key reaches all four replicas, dc1's behind the replies: one copy per write
    // crosses to dc1, and the dc1 replica that received it passes it on.
    for (let i = 0; i < 40; i++) await waitFor(`route-${i} on 4 nodes`, async () => (await copies(`route-${i}`, `v${i}`)) === 4, 10_000);
    expect(await sum(dc2(), 'relayed')).toBe(before.relayed + 40);
    expect(await sum(dc1(), 'passedOn')).toBe(before.passedOn + 40);
  });

  it('has a dc2 client read dc2\'s replicas itself in local scope, and dc2 first in global scope', async () => {
    const client = await cluster.client({ dc: 'dc2' });
    for (let i = 0; i < 30; i++) await client.put(`near-${i}`, `v${i}`);
    for (let i = 0; i < 30; i++) await waitFor(`near-${i} on 4 nodes`, async () => (await copies(`near-${i}`, `v${i}`)) === 4, 10_000);
    const before = { dc1: await sum(dc1(), 'replicaReads'), dc2: await sum(dc2(), 'replicaReads'), gets: await sum(cluster.nodes, 'gets') };
    for (let i = 0; i < 30; i++) expect((await client.get(`near-${i}`)).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.directReads).toBe(30);
    expect(client.stats.readFallbacks).toBe(0);
    // No node coordinated them, dc1 was not asked, and both dc2 replicas were (R=2 of 2 there).
    expect(await sum(cluster.nodes, 'gets')).toBe(before.gets);
    expect(await sum(dc1(), 'replicaReads')).toBe(before.dc1);
    expect(await sum(dc2(), 'replicaReads')).toBe(before.dc2 + 60);
    const mid = { dc1: await sum(dc1(), 'replicaReads'), dc2: await sum(dc2(), 'replicaReads') };
    for (let i = 0; i < 30; i++) expect((await client.get(`near-${i}`, { scope: 'global', r: 3 })).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.directReads).toBe(60);
    // R=3 of any dc: the two near replicas, then one in dc1.
    expect((await sum(dc2(), 'replicaReads')) - mid.dc2).toBeGreaterThanOrEqual(60);
    expect((await sum(dc1(), 'replicaReads')) - mid.dc1).toBeGreaterThanOrEqual(30);
    // r beyond dc2's replicas in local scope goes to a node, which says why it cannot be met.
    await expect(client.get('near-0', { r: 3 })).rejects.toThrow(/in local scope needs 3 replicas in dc dc2/);
  });

  it('takes ?scope= over HTTP and refuses an unknown one', async () => {
    const base = `http://127.0.0.1:${cluster.nodes[0]!.httpPort}/kv/http-scope`;
    expect((await fetch(`${base}?scope=global&w=3`, { method: 'PUT', body: 'x' })).status).toBe(204);
    expect((await fetch(`${base}?scope=local&r=2`)).status).toBe(200);
    const bad = await fetch(`${base}?scope=near`, { method: 'PUT', body: 'y' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/scope must be local or global/);
  });

  it('keeps taking local-scope writes in dc2 with dc1 frozen, and dc1 catches up by hinted handoff', async () => {
    const client = await cluster.client({ dc: 'dc2' });
    for (const n of dc1()) n.child!.kill('SIGSTOP');
    try {
      for (let i = 0; i < 30; i++) await client.put(`frozen-${i}`, `v${i}`);
      for (let i = 0; i < 30; i++) expect((await client.get(`frozen-${i}`)).values.map(String)).toEqual([`v${i}`]);
      // A global quorum of three needs dc1, and fails plainly.
      await expect(client.put('needs-dc1', 'x', { scope: 'global', w: 3 })).rejects.toMatchObject({ code: expect.stringMatching(/SHOAL_(TIMEOUT|QUORUM_UNAVAILABLE)/) });
      await waitFor('dc2 to hold hints for dc1', async () => (await Promise.all(dc2().map((n) => cluster.status(n)))).some((s) => s.hints.pending > 0), 20_000);
    } finally {
      for (const n of dc1()) n.child!.kill('SIGCONT');
    }
    for (let i = 0; i < 30; i++) await waitFor(`frozen-${i} on 4 nodes`, async () => (await copies(`frozen-${i}`, `v${i}`)) === 4, 30_000);
    const all = await client.get('frozen-0', { scope: 'global', r: 4 });
    expect(all.values.map(String)).toEqual(['v0']);
  });
});

describe('nodes started with different replication', () => {
  let odd: ProcessCluster;

  beforeAll(async () => {
    // n1 places two replicas in dc1, n2 two anywhere: the same count, other lists.
    odd = await ProcessCluster.start({ nodes: 2, n: 2, nodeArgs: (i) => (i === 0 ? ['--replication', 'dc1:2'] : []) });
  }, 120_000);

  afterAll(async () => {
    await odd?.stop();
  });

  it('each reports the other, from their membership exchange', async () => {
    type Rep = { replication: { mismatched: Record<string, string> } };
    const [a, b] = odd.nodes as [ClusterNode, ClusterNode];
    await waitFor('both nodes to report the mismatch', async () => {
      const [sa, sb] = (await Promise.all([odd.status(a), odd.status(b)])) as unknown as [Rep, Rep];
      return sa.replication.mismatched['n2'] === '2' && sb.replication.mismatched['n1'] === 'dc1:2';
    }, 20_000);
  });
});
