// A node that stops answering without its connection breaking (SIGSTOP: a stalled
// process, or a cut that TCP has not noticed yet) costs the SDK one request
// timeout, not one per request: after it, the SDK tries that node last, as if it
// were down, until it answers again. The client re-reads no ring here, so only
// this can route around the node.
import { describe, expect, it } from 'vitest';
import { clusterPerFile, type ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 3 }, (c) => (cluster = c));

describe('a node that stops answering', () => {
  it('costs one timeout; later puts and gets go around it, and it is used again once it answers', async () => {
    const client = await cluster.client({ requestTimeoutMs: 800, ringRefreshMs: 0, unresponsiveMs: 120_000 });
    // Connections to every node (each is the first replica of some of these keys).
    for (let i = 0; i < 30; i++) await client.put(`un-warm-${i}`, 'w');
    const stopped = cluster.nodes[1]!;
    const child = stopped.child!;
    child.kill('SIGSTOP');
    try {
      for (let i = 0; i < 60; i++) await client.put(`un-${i}`, `v${i}`);
      // Only the first put whose first replica was the stopped node waited for it.
      expect(client.stats.failovers).toBe(1);
      const directBefore = client.stats.directReads;
      for (let i = 0; i < 60; i++) expect((await client.get(`un-${i}`)).values.map(String)).toEqual([`v${i}`]);
      expect(client.stats.failovers).toBe(1);
      // With N = 3 on three nodes it holds every key: no get asked it directly, each went to a node that read around it.
      expect(client.stats.directReads - directBefore).toBe(0);
    } finally {
      child.kill('SIGCONT');
    }
    // Its reply to the put that timed out arrives, and it is back in every read.
    await waitFor('direct reads of every key again', async () => {
      const before = client.stats.directReads;
      for (let i = 0; i < 60; i++) expect((await client.get(`un-${i}`)).values.map(String)).toEqual([`v${i}`]);
      return client.stats.directReads - before === 60;
    });
    expect(client.stats.failovers).toBe(1);
  });
});
