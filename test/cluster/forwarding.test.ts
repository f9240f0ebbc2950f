// Writes in the grace after a ring change (real node processes): every replica
// of either ring still gets each write, but a write placed by the current ring is
// not forwarded again to the replicas its coordinator has written to already.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Keyring, RpcPeers, parseKey } from '../../src/transport/index.js';
import { ProcessCluster, type NodeStatus, replicaSet, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;

beforeAll(async () => {
  // Two nodes, then a third joins; the grace after the join outlasts the tests.
  cluster = await ProcessCluster.start({ nodes: 2, extraArgs: ['--handover-grace-ms', '600000'] });
  const third = await cluster.addNode();
  await cluster.launch(third);
  await cluster.waitConverged(90_000);
}, 150_000);

afterAll(async () => {
  await cluster?.stop();
});

async function statuses(): Promise<NodeStatus[]> {
  return Promise.all(cluster.nodes.map((n) => cluster.status(n)));
}

function forwarded(before: NodeStatus[], after: NodeStatus[]): number {
  return after.reduce((sum, st, i) => sum + st.transfer.forwarded - before[i]!.transfer.forwarded, 0);
}

async function heldBy(key: string): Promise<string[]> {
  const held: string[] = [];
  for (const n of cluster.nodes) {
    const res = await fetch(`http://127.0.0.1:${n.httpPort}/kv/${key}?local=true`);
    if (res.status === 200) held.push(n.id);
  }
  return held;
}

describe('forwarding in the grace after a join', () => {
  it('is in effect: the nodes that were replicas before the join are in the grace', async () => {
    const st = await statuses();
    expect(st[0]!.transfer.graceLeftMs).toBeGreaterThan(0);
    expect(st[1]!.transfer.graceLeftMs).toBeGreaterThan(0);
  });

  it('a write placed by the current ring reaches all three replicas and is not forwarded again', async () => {
    const client = await cluster.client();
    await client.refreshRing();
    expect(client.ring.pending).toBe(false);
    expect(client.ring.nodes).toHaveLength(3);
    const before = await statuses();
    for (let i = 0; i < 60; i++) await client.put(`placed-${i}`, `v${i}`);
    // A put is acknowledged at W=2; the third replica's copy may land just after.
    for (const i of [0, 29, 59]) await waitFor(`placed-${i} on all three nodes`, async () => (await heldBy(`placed-${i}`)).length === 3);
    const after = await statuses();
    expect(forwarded(before, after)).toBe(0);
  });

  it('a replica write that names no ring (or another one) is still forwarded to the other side of the change', async () => {
    const [n1] = cluster.nodes;
    const peers = new RpcPeers({ keyring: new Keyring(parseKey(cluster.key)), nodeId: 'old-coordinator', requestTimeoutMs: 5000 });
    try {
      // A well-formed set to send: a real write's state, read back from n1.
      const client = await cluster.client();
      await client.put('source', 'from an old ring');
      const set = await replicaSet(peers, n1!.port, 'source');
      const before = await statuses();
      // As a coordinator still on the ring before the join would: to n1 only, naming no ring.
      const reply = await peers.request('127.0.0.1', n1!.port, { kind: 'replicaWrite', value: { key: Buffer.from('unplaced'), set, hintFor: '' } });
      expect(reply.kind).toBe('replicaWriteReply');
      const after = await statuses();
      // n1 forwarded it to n3, the replica the ring before the join did not have.
      expect(after[0]!.transfer.forwarded - before[0]!.transfer.forwarded).toBe(1);
      expect(await heldBy('unplaced')).toEqual(['n1', 'n3']);
      // Naming a ring n1 does not hold (another ring of the same version, say) is the same.
      const other = { key: Buffer.from('elsewhere'), set, hintFor: '', ringId: randomBytes(8) };
      expect((await peers.request('127.0.0.1', n1!.port, { kind: 'replicaWrite', value: other })).kind).toBe('replicaWriteReply');
      expect((await statuses())[0]!.transfer.forwarded - after[0]!.transfer.forwarded).toBe(1);
      expect(await heldBy('elsewhere')).toEqual(['n1', 'n3']);
    } finally {
      await peers.close();
    }
  });
});
