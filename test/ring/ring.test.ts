import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import {
  PreferenceLists,
  createRing,
  decodeRing,
  encodeRing,
  fromRingState,
  isNewer,
  joinRing,
  leaveRing,
  ownership,
  ringChecksum,
  shares,
  type Placement,
  type Ring,
} from '../../src/ring/index.js';

const Q = 256;
const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `node-${String(i + from).padStart(3, '0')}`);

function build(nodes: string[], q = Q, capacityOf?: (id: string) => number): Ring {
  let ring = createRing(q, nodes[0]!);
  for (const id of nodes.slice(1)) ring = joinRing(ring, id, capacityOf);
  return ring;
}

/** Replica count per node for replication factor n. */
function replicaLoad(ring: Ring, n: number): Map<string, number> {
  const pl = new PreferenceLists(ring, n);
  const load = new Map(ring.nodes.map((id) => [id, 0]));
  for (let p = 0; p < ring.partitions; p++) for (const id of pl.replicas(p)) load.set(id, load.get(id)! + 1);
  return load;
}

const maxOverMean = (m: Map<string, number>) => {
  const v = [...m.values()];
  return Math.max(...v) / (v.reduce((a, b) => a + b, 0) / v.length);
};

describe('ring', () => {
  it('is a value: the same changes give the same ring, checksum and encoding', () => {
    const a = build(ids(7));
    const b = build(ids(7));
    expect(a).toEqual(b);
    expect(ringChecksum(a)).toBe(ringChecksum(b));
    expect(Buffer.from(encodeRing(a)).equals(Buffer.from(encodeRing(b)))).toBe(true);
    expect(decodeRing(encodeRing(a))).toEqual(a);
    expect(a.version).toBe(7);
  });

  it('keeps every node within one partition of its share, and replica load within 1.25 of the mean, for 3..50 nodes', () => {
    for (let n = 3; n <= 50; n++) {
      const ring = build(ids(n));
      const share = shares(ring.nodes, Q);
      for (const [id, owned] of ownership(ring)) expect(Math.abs(owned - share.get(id)!)).toBeLessThanOrEqual(1);
      expect(maxOverMean(ownership(ring))).toBeLessThanOrEqual(1.25);
      expect(maxOverMean(replicaLoad(ring, 3))).toBeLessThanOrEqual(1.25);
    }
  });

  it('adding a node moves about 1/(n+1) of the partitions, all of them to the new node', () => {
    for (const n of [3, 4, 8, 16, 31, 49]) {
      const before = build(ids(n));
      const after = joinRing(before, 'newcomer');
      const moved = after.owners.filter((o, p) => o !== before.owners[p]);
      expect(moved.every((o) => o === 'newcomer')).toBe(true);
      expect(Math.abs(moved.length - Q / (n + 1))).toBeLessThanOrEqual(1);
      // Replicas too: every (partition, node) pair the new ring adds involves the new node.
      const pb = new PreferenceLists(before, 3);
      const pa = new PreferenceLists(after, 3);
      for (let p = 0; p < Q; p++) {
        const gained = pa.replicas(p).filter((id) => !pb.replicas(p).includes(id));
        expect(gained.every((id) => id === 'newcomer')).toBe(true);
      }
    }
  });

  it('a leave moves only the leaving node partitions and keeps the others balanced', () => {
    const before = build(ids(10));
    const leaver = 'node-003';
    const after = leaveRing(before, leaver);
    expect(after.nodes).not.toContain(leaver);
    expect(after.owners).not.toContain(leaver);
    after.owners.forEach((o, p) => {
      if (before.owners[p] !== leaver) expect(o).toBe(before.owners[p]);
    });
    const share = shares(after.nodes, Q);
    for (const [id, owned] of ownership(after)) expect(Math.abs(owned - share.get(id)!)).toBeLessThanOrEqual(1);
    expect(() => leaveRing(createRing(Q, 'solo'), 'solo')).toThrow(RangeError);
    expect(leaveRing(before, 'stranger')).toBe(before);
    expect(joinRing(before, 'node-001')).toBe(before);
  });

  it('gives partitions in proportion to capacity', () => {
    const cap = (id: string) => (id === 'node-000' ? 2 : 1);
    const ring = build(ids(5), Q, cap);
    const owned = ownership(ring);
    // 2/(2+4) of 256 = 85.33
    expect(Math.abs(owned.get('node-000')! - 85)).toBeLessThanOrEqual(1);
    for (const id of ids(4, 1)) expect(Math.abs(owned.get(id)! - 42.67)).toBeLessThanOrEqual(1.34);
  });

  it('orders concurrent rings the same way everywhere', () => {
    const base = build(ids(4));
    const x = joinRing(base, 'x');
    const y = joinRing(base, 'y');
    expect(x.version).toBe(y.version);
    expect(isNewer(x, y)).not.toBe(isNewer(y, x));
    expect(isNewer(x, base)).toBe(true);
    expect(isNewer(base, x)).toBe(false);
    expect(isNewer(x, x)).toBe(false);
  });

  it('rejects inconsistent rings from the network', () => {
    const good = { version: 2, partitions: 4, nodes: ['a', 'b'], owners: [0, 1, 0, 1] };
    expect(fromRingState(good).owners).toEqual(['a', 'b', 'a', 'b']);
    expect(() => fromRingState({ ...good, partitions: 3, owners: [0, 1, 0] })).toThrow(RangeError);
    expect(() => fromRingState({ ...good, owners: [0, 1, 0] })).toThrow(RangeError);
    expect(() => fromRingState({ ...good, owners: [0, 1, 0, 2] })).toThrow(RangeError);
    expect(() => fromRingState({ ...good, nodes: ['b', 'a'] })).toThrow(RangeError);
    expect(() => fromRingState({ ...good, version: 0 })).toThrow(RangeError);
    expect(() => createRing(100, 'a')).toThrow(RangeError);
  });
});

describe('preference lists', () => {
  it('are N distinct nodes followed by every other node as fallbacks', () => {
    const ring = build(ids(6));
    const pl = new PreferenceLists(ring, 3);
    for (let p = 0; p < Q; p++) {
      const walk = pl.walk(p);
      expect(new Set(walk).size).toBe(walk.length);
      expect(walk.length).toBe(6);
      expect(walk[0]).toBe(ring.owners[p]);
      expect(pl.replicas(p)).toEqual(walk.slice(0, 3));
    }
    expect(new PreferenceLists(createRing(Q, 'solo'), 3).replicas(5)).toEqual(['solo']);
  });

  it('maps a key to the partition of its hash', () => {
    const pl = new PreferenceLists(build(ids(3)), 3);
    const key = Buffer.from('user:42');
    expect(pl.partitionOf(key)).toBe(Number(native.hash64(key) >> 56n));
    expect(pl.partitionOfHash(0n)).toBe(0);
    expect(pl.partitionOfHash(2n ** 64n - 1n)).toBe(255);
    expect(pl.partitionOfHash(2n ** 56n)).toBe(1);
  });

  it('spread replicas across racks and data centres whenever enough exist', () => {
    const nodes = ids(12);
    const ring = build(nodes);
    const racks = new Map<string, Placement>(nodes.map((id, i) => [id, { dc: 'dc1', rack: `r${i % 3}` }]));
    const byRack = new PreferenceLists(ring, 3, (id) => racks.get(id));
    for (let p = 0; p < Q; p++) expect(new Set(byRack.replicas(p).map((id) => racks.get(id)!.rack)).size).toBe(3);

    const dcs = new Map<string, Placement>(nodes.map((id, i) => [id, { dc: `dc${i % 2}`, rack: `r${i % 4}` }]));
    const byDc = new PreferenceLists(ring, 3, (id) => dcs.get(id));
    for (let p = 0; p < Q; p++) {
      const reps = byDc.replicas(p).map((id) => dcs.get(id)!);
      expect(new Set(reps.map((r) => r.dc)).size).toBe(2);
      expect(new Set(reps.map((r) => r.dc + r.rack)).size).toBe(3);
    }

    // With fewer racks than replicas, replicas still land on distinct nodes.
    const oneRack = new PreferenceLists(ring, 3, () => ({ dc: 'dc1', rack: 'r0' }));
    for (let p = 0; p < Q; p++) expect(new Set(oneRack.replicas(p)).size).toBe(3);
  });
});
