// Issue 4's cluster behaviour with real `shoal start` processes: five nodes,
// N=3, R=W=2, real sockets, real LevelDB, real SIGKILL.
import { describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { type ClusterNode, clusterPerFile, type ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 5 }, (c) => (cluster = c));

const http = (n: ClusterNode, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${n.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });


describe('a 5-node cluster', () => {
  it('serves writes through any node to reads through any other', async () => {
    for (let i = 0; i < 25; i++) {
      const writer = cluster.nodes[i % 5]!;
      expect((await http(writer, `/kv/any-${i}`, { method: 'PUT', body: `v${i}` })).status).toBe(204);
    }
    for (let i = 0; i < 25; i++) {
      const reader = cluster.nodes[(i + 2) % 5]!;
      const res = await http(reader, `/kv/any-${i}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`v${i}`);
    }
  });

  it('keeps concurrent writes as siblings until a write with their context resolves them', async () => {
    const [a, b, c] = cluster.nodes;
    await Promise.all([http(a!, '/kv/cart', { method: 'PUT', body: 'apples' }), http(b!, '/kv/cart', { method: 'PUT', body: 'pears' })]);
    const res = await http(c!, '/kv/cart?r=3');
    expect(res.status).toBe(300);
    const body = (await res.json()) as { siblings: string[]; context: string };
    expect(body.siblings.map((s) => Buffer.from(s, 'base64').toString()).sort()).toEqual(['apples', 'pears']);
    const put = await http(c!, '/kv/cart', { method: 'PUT', body: 'both', headers: { 'x-shoal-context': body.context } });
    expect(put.status).toBe(204);
    const after = await http(a!, '/kv/cart?r=3');
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('both');
  });

  it('routes SDK requests straight to a replica of each key (no forwarding hop)', async () => {
    const before = await Promise.all(cluster.running().map((n) => cluster.status(n)));
    const client = await cluster.client();
    for (let i = 0; i < 100; i++) await client.put(`route-${i}`, 'x');
    for (let i = 0; i < 100; i++) expect((await client.get(`route-${i}`)).values.map(String)).toEqual(['x']);
    const after = await Promise.all(cluster.running().map((n) => cluster.status(n)));
    const forwarded = after.reduce((s, st, i) => s + st.coordinator['forwarded']! - before[i]!.coordinator['forwarded']!, 0);
    expect(forwarded).toBe(0);
    expect(client.stats.direct).toBe(client.stats.requests);
    // /status counts the frames behind those requests: each node served client
    // frames, and the 200 puts and gets needed replica requests between nodes.
    const delta = (i: number, side: 'server' | 'peers', k: 'framesIn' | 'framesOut' | 'writes') => after[i]!.transport[side][k] - before[i]!.transport[side][k];
    const nodes = after.map((_, i) => i);
    expect(nodes.reduce((s, i) => s + delta(i, 'server', 'framesIn'), 0)).toBeGreaterThanOrEqual(200);
    expect(nodes.reduce((s, i) => s + delta(i, 'peers', 'framesOut'), 0)).toBeGreaterThanOrEqual(200);
    for (const i of nodes) expect(delta(i, 'server', 'writes')).toBeLessThanOrEqual(delta(i, 'server', 'framesOut'));
  });

  it('stays writable at W=2 with one node SIGKILLed, and with two of five down stores hints that are delivered after restart', async () => {
    const client = await cluster.client();
    const [, , , d, e] = cluster.nodes;
    await cluster.kill(e!);
    const acked: string[] = [];
    for (let i = 0; i < 60; i++) {
      await client.put(`down1-${i}`, `v${i}`, { w: 2 });
      acked.push(`down1-${i}`);
    }
    await cluster.kill(d!);
    for (let i = 0; i < 60; i++) {
      await client.put(`down2-${i}`, `v${i}`, { w: 2 });
      acked.push(`down2-${i}`);
    }
    const statuses = await Promise.all(cluster.running().map((n) => cluster.status(n)));
    expect(statuses.reduce((s, st) => s + st.hints.pending, 0)).toBeGreaterThan(0);

    await cluster.launch(d!);
    await cluster.launch(e!);
    await cluster.waitConverged();
    await waitFor('every hint to be delivered', async () => {
      const all = await Promise.all(cluster.running().map((n) => cluster.status(n)));
      return all.every((s) => s.hints.pending === 0);
    });
    // Delivered in batches (ReplicaWrites): fewer requests than hints.
    const after = await Promise.all(cluster.running().map((n) => cluster.status(n)));
    const delivered = after.reduce((s, st) => s + st.hints.delivered, 0);
    const batches = after.reduce((s, st) => s + st.hints.batches, 0);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(delivered);
    for (const k of acked) {
      const { values } = await client.get(k, { r: 3 });
      expect(values.map(String)).toEqual([`v${k.split('-')[1]}`]);
    }
  });

  it('read repair brings a replica whose data was wiped back up to date', async () => {
    const client = await cluster.client();
    await client.put('repair-me', 'precious');
    // Find a replica that holds it, wipe it while it is down, restart it empty.
    let victim: ClusterNode | undefined;
    for (const n of cluster.nodes) if ((await cluster.localValues(n, 'repair-me')).length > 0) victim = n;
    expect(victim).toBeDefined();
    await cluster.kill(victim!);
    await rm(victim!.dataDir, { recursive: true, force: true });
    await cluster.launch(victim!);
    await cluster.waitConverged();
    expect(await cluster.localValues(victim!, 'repair-me')).toEqual([]);
    expect((await client.get('repair-me', { r: 3 })).values.map(String)).toEqual(['precious']);
    await waitFor('read repair to reach the wiped replica', async () => (await cluster.localValues(victim!, 'repair-me')).length === 1);
    expect(await cluster.localValues(victim!, 'repair-me')).toEqual(['precious']);
  });
});
