import { describe, expect, it } from 'vitest';
import {
  PreferenceLists,
  createRing,
  formatReplication,
  joinRing,
  parseDcReplication,
  replicationTotal,
  type DcReplication,
  type Placement,
  type Ring,
} from '../../src/ring/index.js';

const Q = 256;

/** Nodes named dcD-nII, joined in the order given. */
function build(nodes: string[]): Ring {
  let ring = createRing(Q, nodes[0]!);
  for (const id of nodes.slice(1)) ring = joinRing(ring, id);
  return ring;
}

function cluster(dcs: number, perDc: number, order: 'interleaved' | 'grouped'): string[] {
  const out: string[] = [];
  if (order === 'interleaved') for (let i = 0; i < perDc; i++) for (let d = 0; d < dcs; d++) out.push(`dc${d}-n${String(i).padStart(2, '0')}`);
  else for (let d = 0; d < dcs; d++) for (let i = 0; i < perDc; i++) out.push(`dc${d}-n${String(i).padStart(2, '0')}`);
  return out;
}

const racks = 3;
const placement = (id: string): Placement => ({ dc: id.split('-')[0]!, rack: `r${Number(id.slice(-2)) % racks}` });

/** Every node its own rack: balance then depends on the placement alone (uneven racks force their own imbalance). */
const ownRack = (id: string): Placement => ({ dc: id.split('-')[0]!, rack: id });

/** Each dc's replicas of p as the plain walk picks them: its first k nodes clockwise (the reference for movement). */
function plainWalk(ring: Ring, perDc: DcReplication): Set<string>[] {
  const out: Set<string>[] = [];
  for (let p = 0; p < ring.partitions; p++) {
    const walk: string[] = [];
    for (let i = 0; i < ring.partitions; i++) {
      const id = ring.owners[(p + i) % ring.partitions]!;
      if (!walk.includes(id)) walk.push(id);
    }
    const chosen = new Set<string>();
    for (const dc of Object.keys(perDc)) for (const id of walk.filter((x) => placement(x).dc === dc).slice(0, perDc[dc])) chosen.add(id);
    out.push(chosen);
  }
  return out;
}

const replicaSets = (pl: PreferenceLists) => Array.from({ length: pl.partitions }, (_, p) => new Set(pl.replicas(p)));

function moved(before: Set<string>[], after: Set<string>[]): number {
  let m = 0;
  for (let p = 0; p < before.length; p++) for (const id of after[p]!) if (!before[p]!.has(id)) m++;
  return m;
}

describe('replication per data centre', () => {
  it('parses dc:count lists and refuses anything else', () => {
    expect(parseDcReplication('dc1:3,dc2:2')).toEqual({ dc1: 3, dc2: 2 });
    expect(parseDcReplication(' b:1 , a:2 ')).toEqual({ b: 1, a: 2 });
    expect(formatReplication({ b: 1, a: 2 })).toBe('a:2,b:1');
    expect(formatReplication(3)).toBe('3');
    expect(replicationTotal({ dc1: 3, dc2: 2 })).toBe(5);
    for (const bad of ['', 'dc1', 'dc1:0', 'dc1:-1', 'dc1:3,dc1:2', 'dc1:x', 'a b:1', 'dc1:9,dc2:8', ':3']) {
      expect(() => parseDcReplication(bad), bad).toThrow(RangeError);
    }
  });

  it('places each dc its own count of replicas, distinct nodes in walk order, and never a node of an unnamed dc', () => {
    for (const [dcs, per] of [
      [2, 2],
      [2, 5],
      [3, 4],
      [3, 7],
    ] as const) {
      // dc(dcs) is a dc the replication does not name: its nodes only stand in.
      const nodes = [...cluster(dcs, per, 'interleaved'), 'dc9-n00', 'dc9-n01'];
      const ring = build(nodes);
      const perDc: Record<string, number> = {};
      for (let d = 0; d < dcs; d++) perDc[`dc${d}`] = 1 + (d % 3);
      const pl = new PreferenceLists(ring, perDc, placement);
      expect(pl.n).toBe(replicationTotal(perDc));
      expect(pl.perDc).toEqual(perDc);
      for (let p = 0; p < Q; p++) {
        const reps = pl.replicas(p);
        const walk = pl.walk(p);
        expect(new Set(walk).size).toBe(walk.length);
        expect(walk.length).toBe(nodes.length);
        expect(walk.slice(0, reps.length)).toEqual(reps);
        for (const [dc, k] of Object.entries(perDc)) expect(reps.filter((id) => placement(id).dc === dc).length).toBe(Math.min(k, per));
        expect(reps.some((id) => id.startsWith('dc9-'))).toBe(false);
        // Walk order: the replicas keep the order of the ring walk.
        const order = new Map<string, number>();
        for (let i = 0; i < Q; i++) if (!order.has(ring.owners[(p + i) % Q]!)) order.set(ring.owners[(p + i) % Q]!, i);
        for (let i = 1; i < reps.length; i++) expect(order.get(reps[i]!)!).toBeGreaterThan(order.get(reps[i - 1]!)!);
        expect(pl.dcOf(reps[0]!)).toBe(placement(reps[0]!).dc);
      }
      for (const id of nodes) expect(pl.partitionsOf(id)).toEqual([...Array(Q).keys()].filter((p) => pl.replicas(p).includes(id)));
    }
  });

  it('takes what a dc has when it has fewer nodes than its count', () => {
    const ring = build(['a-n00', 'b-n00', 'b-n01', 'b-n02']);
    const pl = new PreferenceLists(ring, { a: 3, b: 2 }, (id) => ({ dc: id.split('-')[0]!, rack: 'r' }));
    for (let p = 0; p < Q; p++) {
      expect(pl.replicas(p).filter((id) => id.startsWith('a-'))).toEqual(['a-n00']);
      expect(pl.replicas(p).filter((id) => id.startsWith('b-')).length).toBe(2);
    }
  });

  it('spreads each dc replicas across its racks whenever it has enough', () => {
    const ring = build(cluster(2, 9, 'grouped'));
    const pl = new PreferenceLists(ring, { dc0: 3, dc1: 3 }, placement);
    for (let p = 0; p < Q; p++) {
      for (const dc of ['dc0', 'dc1']) {
        const inDc = pl.replicas(p).filter((id) => placement(id).dc === dc);
        expect(new Set(inDc.map((id) => placement(id).rack)).size).toBe(3);
      }
    }
  });

  it('keeps every dc replica load within 1.25 of its mean, and a join moves no more than the plain walk', () => {
    for (const order of ['interleaved', 'grouped'] as const) {
      for (const dcs of [1, 2, 3]) {
        for (const per of [2, 3, 4, 5, 6, 8, 10, 16]) {
          const nodes = cluster(dcs, per, order);
          const ring = build(nodes);
          const perDc: Record<string, number> = {};
          for (let d = 0; d < dcs; d++) perDc[`dc${d}`] = 3;
          const pl = new PreferenceLists(ring, perDc, ownRack);
          const load = new Map(nodes.map((id) => [id, 0]));
          for (let p = 0; p < Q; p++) for (const id of pl.replicas(p)) load.set(id, load.get(id)! + 1);
          for (let d = 0; d < dcs; d++) {
            const v = [...load].filter(([id]) => id.startsWith(`dc${d}-`)).map(([, n]) => n);
            const mean = v.reduce((a, b) => a + b, 0) / v.length;
            expect(Math.max(...v) / mean, `${order} ${dcs}×${per}`).toBeLessThanOrEqual(1.25);
          }
          const grown = joinRing(ring, 'dc0-n99');
          const after = new PreferenceLists(grown, perDc, ownRack);
          expect(moved(replicaSets(pl), replicaSets(after)), `${order} ${dcs}×${per}`).toBeLessThanOrEqual(
            Math.max(moved(plainWalk(ring, perDc), plainWalk(grown, perDc)), (Q * 3) / (per + 1)) * 1.15,
          );
        }
      }
    }
  });
});
