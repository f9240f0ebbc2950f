// The SDK's own coordination of gets (readCoordination 'client', the default) with
// real `shoal start` processes: it reads R replicas straight, with no node
// coordinating; it returns what a node-coordinated get returns; it repairs a
// replica that was behind; after a ring change it falls back to a node until it
// has re-read the ring; and it keeps answering with a replica SIGKILLed.
import { describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { StaleRingError, TooLargeError } from '../../src/errors.js';
import { Keyring, RpcPeers, parseKey } from '../../src/transport/index.js';
import { type ClusterNode, clusterPerFile, type ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 3 }, (c) => (cluster = c));

async function coordinatorTotals(): Promise<{ gets: number; replicaReads: number }> {
  const all = await Promise.all(cluster.running().map((n) => cluster.status(n)));
  return {
    gets: all.reduce((s, st) => s + st.coordinator['gets']!, 0),
    replicaReads: all.reduce((s, st) => s + st.coordinator['replicaReads']!, 0),
  };
}

describe('gets coordinated by the SDK', () => {
  it('read R replicas with no coordinating node, and return what a node-coordinated get returns', async () => {
    const client = await cluster.client();
    const viaNode = await cluster.client({ readCoordination: 'node' });
    for (let i = 0; i < 100; i++) await client.put(`dr-${i}`, `v${i}`, { w: 3 });
    const before = await coordinatorTotals();
    for (let i = 0; i < 100; i++) {
      const direct = await client.get(`dr-${i}`);
      expect(direct.values.map(String)).toEqual([`v${i}`]);
      const coordinated = await viaNode.get(`dr-${i}`);
      expect(direct.context.equals(coordinated.context)).toBe(true);
    }
    const after = await coordinatorTotals();
    expect(client.stats.directReads).toBe(100);
    expect(client.stats.readFallbacks).toBe(0);
    expect(client.stats.readRepairs).toBe(0);
    expect(viaNode.stats.directReads).toBe(0);
    // Only the node-coordinated client's 100 gets were coordinated by a node.
    expect(after.gets - before.gets).toBe(100);
    // Those asked all 3 replicas (fan-out all: 200 remote reads); the SDK asked 2 per get, and maybe a spare.
    const sdkReads = after.replicaReads - before.replicaReads - 200;
    expect(sdkReads).toBeGreaterThanOrEqual(200);
    expect(sdkReads).toBeLessThan(250);
    // An absent key is asked of every replica before it is "not found".
    const beforeAbsent = await coordinatorTotals();
    for (let i = 0; i < 20; i++) expect((await client.get(`dr-nowhere-${i}`)).values).toEqual([]);
    expect((await coordinatorTotals()).replicaReads - beforeAbsent.replicaReads).toBe(60);
  });

  it('refuse a key over the limit with the nodes\' error, asking no spare and no node', async () => {
    const client = await cluster.client();
    const before = await coordinatorTotals();
    await expect(client.get('k'.repeat(2000))).rejects.toThrow(TooLargeError);
    expect(client.stats.directReads).toBe(1);
    expect(client.stats.readFallbacks).toBe(0);
    expect((await coordinatorTotals()).gets).toBe(before.gets);
  });

  it('see siblings, the write that resolves them, deletes and expiry as a node does', async () => {
    const a = await cluster.client();
    const b = await cluster.client();
    await Promise.all([a.put('dr-cart', 'apples'), b.put('dr-cart', 'pears')]);
    const both = await a.get('dr-cart', { r: 3 });
    expect(both.values.map(String).sort()).toEqual(['apples', 'pears']);
    await a.put('dr-cart', 'apples+pears', { context: both.context });
    const one = await b.get('dr-cart');
    expect(one.values.map(String)).toEqual(['apples+pears']);
    await b.delete('dr-cart', { context: one.context });
    expect((await a.get('dr-cart')).values).toEqual([]);
    await a.put('dr-lasting', 'here', { ttlMs: 600_000 });
    expect((await a.get('dr-lasting')).values.map(String)).toEqual(['here']);
    await a.put('dr-brief', 'gone soon', { ttlMs: 200 });
    await waitFor('the value to expire', async () => (await a.get('dr-brief')).values.length === 0);
    expect(a.stats.readFallbacks + b.stats.readFallbacks).toBe(0);
    expect(a.stats.directReads).toBeGreaterThan(3);
  });

  it('repair a replica that lost the key, through a node', async () => {
    const writer = await cluster.client();
    await writer.put('dr-repair', 'precious', { w: 3 });
    let victim: ClusterNode | undefined;
    for (const n of cluster.nodes) if ((await cluster.localValues(n, 'dr-repair')).length > 0) victim = n;
    await cluster.kill(victim!);
    await rm(victim!.dataDir, { recursive: true, force: true });
    await cluster.launch(victim!);
    await cluster.waitConverged();
    expect(await cluster.localValues(victim!, 'dr-repair')).toEqual([]);
    const client = await cluster.client();
    expect((await client.get('dr-repair', { r: 3 })).values.map(String)).toEqual(['precious']);
    expect(client.stats.directReads).toBe(1);
    await waitFor('the SDK to ask for a repair', () => client.stats.readRepairs === 1);
    await waitFor('read repair to reach the wiped replica', async () => (await cluster.localValues(victim!, 'dr-repair')).length === 1);
    expect(await cluster.localValues(victim!, 'dr-repair')).toEqual(['precious']);
  });

  it('are refused by a node whose ring differs from the one they name', async () => {
    const client = await cluster.client();
    await client.put('dr-ring', 'v', { w: 3 });
    const peers = new RpcPeers({ keyring: new Keyring(parseKey(cluster.key)), nodeId: '' });
    try {
      const n = cluster.running()[0]!;
      const read = (ringId: Buffer) => peers.request('127.0.0.1', n.port, { kind: 'replicaRead', value: { key: Buffer.from('dr-ring'), readFor: '', ringId } }, { timeoutMs: 5000 });
      const current = Buffer.from((await cluster.status(n)).ring!.checksum, 'hex');
      const ok = await read(current);
      expect(ok.kind === 'replicaReadReply' && ok.value.found).toBe(true);
      await expect(read(Buffer.alloc(8))).rejects.toThrow(StaleRingError);
      // No ring named (node-to-node reads): served as before.
      const plain = await read(Buffer.alloc(0));
      expect(plain.kind === 'replicaReadReply' && plain.value.found).toBe(true);
    } finally {
      await peers.close();
    }
  });

  it('after a node joins, go to a node while the SDK\'s ring is stale, then read directly again', async () => {
    const client = await cluster.client({ ringRefreshMs: 0 });
    for (let i = 0; i < 60; i++) await client.put(`dr-join-${i}`, `v${i}`, { w: 3 });
    const refreshes = client.stats.ringRefreshes;
    await cluster.launch(await cluster.addNode());
    await cluster.waitConverged();
    // The SDK still routes by the 3-node ring: the nodes refuse its replica reads, and
    // each get goes to a node instead, with the right answer.
    for (let i = 0; i < 60; i++) expect((await client.get(`dr-join-${i}`)).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.readFallbacks).toBeGreaterThan(0);
    expect(client.stats.ringRefreshes).toBeGreaterThan(refreshes);
    expect(client.ring.nodes).toHaveLength(4);
    const fallbacks = client.stats.readFallbacks;
    const direct = client.stats.directReads;
    for (let i = 0; i < 60; i++) expect((await client.get(`dr-join-${i}`)).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.readFallbacks).toBe(fallbacks);
    expect(client.stats.directReads - direct).toBe(60);
  });

  it('keep answering at R=2 with a replica SIGKILLed', async () => {
    const client = await cluster.client();
    for (let i = 0; i < 60; i++) await client.put(`dr-kill-${i}`, `v${i}`, { w: 3 });
    await cluster.kill(cluster.nodes[1]!);
    for (let i = 0; i < 60; i++) expect((await client.get(`dr-kill-${i}`, { r: 2 })).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.directReads).toBe(60);
  });
});
