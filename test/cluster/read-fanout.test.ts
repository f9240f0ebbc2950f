// `--read-fanout quorum` with real `shoal start` processes: gets ask R replicas
// instead of N (counted by the replicas that answer), stay correct, and keep
// answering at R=2 with a node SIGKILLed. The SDK sends its gets to a node here
// (readCoordination 'node'): the fan-out under test is the coordinating node's.
import { describe, expect, it } from 'vitest';
import { clusterPerFile, type ProcessCluster } from '../support/cluster.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 3, extraArgs: ['--read-fanout', 'quorum'] }, (c) => (cluster = c));

async function replicaReads(): Promise<number> {
  const all = await Promise.all(cluster.running().map((n) => cluster.status(n)));
  return all.reduce((s, st) => s + st.coordinator['replicaReads']!, 0);
}

describe('a 3-node cluster with --read-fanout quorum', () => {
  it('answers each get with one replica read besides the coordinator\'s own, not two', async () => {
    const client = await cluster.client({ readCoordination: 'node' });
    for (let i = 0; i < 100; i++) await client.put(`fan-${i}`, `v${i}`, { w: 3 });
    const before = await replicaReads();
    for (let i = 0; i < 100; i++) expect((await client.get(`fan-${i}`)).values.map(String)).toEqual([`v${i}`]);
    const used = (await replicaReads()) - before;
    // The SDK sends each get to a replica, which reads its own copy and asks one
    // other; fan-out "all" would make this 200. A slow reply may add a speculative read.
    expect(client.stats.direct).toBe(client.stats.requests);
    expect(used).toBeGreaterThanOrEqual(100);
    expect(used).toBeLessThan(150);
    // Absent keys ask every replica before answering "not found".
    const beforeAbsent = await replicaReads();
    for (let i = 0; i < 20; i++) expect((await client.get(`nowhere-${i}`)).values).toEqual([]);
    expect((await replicaReads()) - beforeAbsent).toBe(40);
  });

  it('keeps answering at R=2 with a node SIGKILLed', async () => {
    const client = await cluster.client({ readCoordination: 'node' });
    for (let i = 0; i < 60; i++) await client.put(`kill-${i}`, `v${i}`, { w: 3 });
    await cluster.kill(cluster.nodes[2]!);
    for (let i = 0; i < 60; i++) expect((await client.get(`kill-${i}`, { r: 2 })).values.map(String)).toEqual([`v${i}`]);
  });
});
