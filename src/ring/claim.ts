// Ring changes. A join takes partitions from the nodes furthest above their share;
// a leave or remove gives the node's partitions to those furthest below theirs.
// Either way only the changing node's partitions move, and every node stays within
// one partition of its share (shares proportional to capacity).
import type { Ring } from './ring.js';
import { ownership } from './ring.js';

/** Relative weight of a node (its `capacity`; missing or 0 means 1). */
export type CapacityOf = (nodeId: string) => number;

const unit: CapacityOf = () => 1;

function weight(capacityOf: CapacityOf, id: string): number {
  const c = capacityOf(id);
  return Number.isFinite(c) && c > 0 ? c : 1;
}

/**
 * Each node's share of the partitions, proportional to capacity, in whole
 * partitions (largest remainder; ties go to the smaller id), summing to Q.
 */
export function shares(nodes: readonly string[], partitions: number, capacityOf: CapacityOf = unit): Map<string, number> {
  const total = nodes.reduce((s, id) => s + weight(capacityOf, id), 0);
  const exact = nodes.map((id) => ({ id, q: (partitions * weight(capacityOf, id)) / total }));
  const out = new Map(exact.map((e) => [e.id, Math.floor(e.q)]));
  let left = partitions - [...out.values()].reduce((s, v) => s + v, 0);
  const byRemainder = [...exact].sort((a, b) => b.q - Math.floor(b.q) - (a.q - Math.floor(a.q)) || (a.id < b.id ? -1 : 1));
  for (const e of byRemainder) {
    if (left === 0) break;
    out.set(e.id, out.get(e.id)! + 1);
    left--;
  }
  return out;
}

/** Each node's partitions, sorted, for spacing queries. */
class Positions {
  private readonly byNode = new Map<string, number[]>();
  constructor(
    owners: readonly string[],
    private readonly q: number,
  ) {
    owners.forEach((id, p) => this.of(id).push(p));
  }
  of(id: string): number[] {
    let a = this.byNode.get(id);
    if (a === undefined) this.byNode.set(id, (a = []));
    return a;
  }
  move(p: number, from: string, to: string): void {
    const a = this.of(from);
    a.splice(lowerBound(a, p), 1);
    const b = this.of(to);
    b.splice(lowerBound(b, p), 0, p);
  }
  /** Circular distance from p to the nearest partition `id` owns (Q when none). */
  distance(p: number, id: string): number {
    const a = this.of(id);
    if (a.length === 0) return this.q;
    const i = lowerBound(a, p);
    const next = i < a.length ? a[i]! - p : a[0]! + this.q - p;
    const prev = i > 0 ? p - a[i - 1]! : p + this.q - a[a.length - 1]!;
    return Math.min(next, prev);
  }
}

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hashOf(p: number, id: string): number {
  // A cheap deterministic tie-break (FNV-1a); placement never depends on it for balance.
  let h = 0x811c9dc5 ^ p;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Picks, among candidates, the partition farthest from `owner`'s own (spreads replicas). */
function bestSpaced(pos: Positions, candidates: readonly number[], owner: string): number {
  let best = candidates[0]!;
  let bestD = -1;
  let bestH = 0;
  for (const p of candidates) {
    const d = pos.distance(p, owner);
    const h = hashOf(p, owner);
    if (d > bestD || (d === bestD && h > bestH)) {
      best = p;
      bestD = d;
      bestH = h;
    }
  }
  return best;
}

/** The ring with `nodeId` added (the next version), or `ring` itself if it is already a member. */
export function joinRing(ring: Ring, nodeId: string, capacityOf: CapacityOf = unit): Ring {
  if (ring.nodes.includes(nodeId)) return ring;
  const nodes = [...ring.nodes, nodeId].sort();
  const share = shares(nodes, ring.partitions, capacityOf);
  const owned = ownership(ring);
  owned.set(nodeId, 0);
  const owners = [...ring.owners];
  const pos = new Positions(owners, ring.partitions);
  const want = share.get(nodeId)!;
  while (owned.get(nodeId)! < want) {
    let victim = '';
    let surplus = -Infinity;
    for (const id of ring.nodes) {
      const s = owned.get(id)! - share.get(id)!;
      if (s > surplus || (s === surplus && id < victim)) {
        victim = id;
        surplus = s;
      }
    }
    const theirs = pos.of(victim);
    if (theirs.length === 0) break;
    const p = bestSpaced(pos, theirs, nodeId);
    owners[p] = nodeId;
    pos.move(p, victim, nodeId);
    owned.set(victim, owned.get(victim)! - 1);
    owned.set(nodeId, owned.get(nodeId)! + 1);
  }
  return { version: ring.version + 1, partitions: ring.partitions, nodes, owners };
}

/**
 * The ring without `nodeId` (the next version), its partitions given to the nodes
 * furthest below their share; `ring` itself if it is not a member. Removing the last
 * member is refused: a ring always has an owner for every partition.
 */
export function leaveRing(ring: Ring, nodeId: string, capacityOf: CapacityOf = unit): Ring {
  if (!ring.nodes.includes(nodeId)) return ring;
  const nodes = ring.nodes.filter((id) => id !== nodeId);
  if (nodes.length === 0) throw new RangeError('cannot remove the last member of the ring');
  const share = shares(nodes, ring.partitions, capacityOf);
  const owned = ownership(ring);
  owned.delete(nodeId);
  const owners = [...ring.owners];
  const pos = new Positions(owners, ring.partitions);
  for (const p of [...pos.of(nodeId)]) {
    let heir = '';
    let deficit = -Infinity;
    let heirD = -1;
    for (const id of nodes) {
      const d = share.get(id)! - owned.get(id)!;
      if (d < deficit) continue;
      const spacing = pos.distance(p, id);
      if (d > deficit || spacing > heirD || (spacing === heirD && id < heir)) {
        heir = id;
        deficit = d;
        heirD = spacing;
      }
    }
    owners[p] = heir;
    pos.move(p, nodeId, heir);
    owned.set(heir, owned.get(heir)! + 1);
  }
  return { version: ring.version + 1, partitions: ring.partitions, nodes, owners };
}
