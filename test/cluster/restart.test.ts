// Restarting a node process: after SIGTERM the store's key filter is taken back
// from the clean close (no scan), after SIGKILL it is rebuilt by a scan; either
// way every key the node held is still seen by the writes that follow.
import { describe, expect, it } from 'vitest';
import { type ClusterNode, clusterPerFile, type ProcessCluster, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 3 }, (c) => (cluster = c));

interface FilterStatus {
  ready: boolean;
  restored: boolean;
}

async function keyFilter(n: ClusterNode): Promise<FilterStatus> {
  const st = (await cluster.status(n)) as unknown as { storage: { keyFilter: FilterStatus } };
  return st.storage.keyFilter;
}

async function restart(n: ClusterNode, signal: NodeJS.Signals): Promise<void> {
  await cluster.kill(n, signal);
  await cluster.launch(n);
  await cluster.waitConverged();
}

describe('a node restarted', () => {
  it.each([
    ['SIGTERM', true],
    ['SIGKILL', false],
  ] as const)('after %s (filter restored: %s) keeps every key it held: blind writes become siblings on it', async (signal, restored) => {
    const client = await cluster.client();
    const keys = Array.from({ length: 150 }, (_, i) => `${signal}-${i}`);
    for (const k of keys) await client.put(k, 'before', { w: 3 });
    const node = cluster.nodes[2]!;
    await restart(node, signal);
    expect((await keyFilter(node)).restored).toBe(restored);
    await waitFor('the key filter to be ready', async () => (await keyFilter(node)).ready);
    // Blind writes coordinated by the restarted node (over its HTTP API; every node
    // is a replica of every key here): its store must read each key's old value.
    for (const k of keys) {
      const res = await fetch(`http://127.0.0.1:${node.httpPort}/kv/${k}?w=3`, { method: 'PUT', body: 'after', signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(204);
    }
    for (const k of keys) expect(await cluster.localValues(node, k)).toEqual(['after', 'before']);
  });
});
