// touch with real `shoal start` processes, through the SDK (with a client token)
// and HTTP PATCH: it changes the live value's time to live on the cluster (here
// shortened, so the change shows without waiting out a long one), and answers
// "not touched" for absent keys.
import { describe, expect, it } from 'vitest';
import { clusterPerFile, type ProcessCluster, waitFor } from '../support/cluster.js';
import { clientKey, formatToken, parseKey } from '../../src/transport/index.js';
import { Client } from '../../src/client/index.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 3 }, (c) => (cluster = c));

describe('touch on a running cluster', () => {
  it('the SDK, holding a client token, gives a live value a new TTL and says when nothing is live', async () => {
    const token = formatToken('sessions', clientKey(parseKey(cluster.key), 'sessions'));
    const client = await Client.connect({ seeds: cluster.nodes.map((n) => `127.0.0.1:${n.port}`), token });
    try {
      await client.put('sess-1', 'state', { ttlMs: 3_600_000, w: 3 });
      const out = await client.touch('sess-1', 1, { w: 3 });
      expect(out.touched).toBe(true);
      expect(out.context.length).toBeGreaterThan(0);
      await waitFor('the touched value to expire on every replica', async () => (await client.get('sess-1', { r: 3 })).values.length === 0, 10_000);
      expect(await client.touch('sess-1', 60_000)).toMatchObject({ touched: false });
      expect(await client.touch('never-written', 60_000)).toMatchObject({ touched: false });
      await expect(client.touch('sess-1', -1)).rejects.toMatchObject({ code: 'SHOAL_BAD_REQUEST' });
    } finally {
      await client.close();
    }
  });

  it('HTTP PATCH with X-Shoal-TTL touches: 204, then 404 once nothing is live', async () => {
    const base = `http://127.0.0.1:${cluster.nodes[1]!.httpPort}/kv/sess-2`;
    expect((await fetch(base, { method: 'PUT', body: 'state', headers: { 'x-shoal-ttl': '3600000' } })).status).toBe(204);
    const touched = await fetch(`${base}?w=3`, { method: 'PATCH', headers: { 'x-shoal-ttl': '1' } });
    expect(touched.status).toBe(204);
    expect(touched.headers.get('x-shoal-context')).toMatch(/^[A-Za-z0-9_-]+$/);
    await waitFor('the touched value to expire', async () => (await fetch(`${base}?r=3`)).status === 404, 10_000);
    expect((await fetch(base, { method: 'PATCH', headers: { 'x-shoal-ttl': '60000' } })).status).toBe(404);
  });
});
