// Staged ownership changes. A join, leave or remove does not switch owners at
// once: it records the target ownership as the ring's pending change, the nodes
// that gain replicas receive them, mark themselves ready, and only then does the
// change complete (docs/operations.md, "Why ownership changes are staged").
// Every function here is pure and deterministic: two nodes that apply the same
// step to the same ring produce the same ring.
import type { CapacityOf } from './claim.js';
import { joinRing, leaveRing } from './claim.js';
import { PreferenceLists, type PlacementOf } from './preference.js';
import type { Ring } from './ring.js';
import type { Replication } from './replication.js';

/** Where a node stands in a ring. */
export type RingRole = 'joining' | 'active' | 'leaving' | 'none';

export function roleIn(ring: Ring | undefined, nodeId: string): RingRole {
  if (ring === undefined || !ring.nodes.includes(nodeId)) return 'none';
  if (ring.next?.joining.includes(nodeId)) return 'joining';
  if (ring.next?.leaving.includes(nodeId)) return 'leaving';
  return 'active';
}

/** The ring that serves requests now: without the joining nodes. */
export function currentOf(ring: Ring): Ring {
  if (ring.next === undefined) return ring;
  const joining = ring.next.joining;
  return { version: ring.version, partitions: ring.partitions, nodes: ring.nodes.filter((id) => !joining.includes(id)), owners: ring.owners };
}

/** The ring as it will be once the pending change completes (the ring itself when none is pending). */
export function targetOf(ring: Ring): Ring {
  if (ring.next === undefined) return ring;
  const leaving = ring.next.leaving;
  return { version: ring.version, partitions: ring.partitions, nodes: ring.nodes.filter((id) => !leaving.includes(id)), owners: ring.next.owners };
}

function staged(ring: Ring, nodes: string[], target: readonly string[], joining: string[], leaving: string[]): Ring {
  const base = { version: ring.version + 1, partitions: ring.partitions };
  if (joining.length === 0 && leaving.length === 0) return { ...base, nodes, owners: ring.owners };
  return { ...base, nodes, owners: ring.owners, next: { owners: target, joining, leaving, ready: [] } };
}

const without = (xs: readonly string[], id: string) => xs.filter((x) => x !== id);
const sortedWith = (xs: readonly string[], id: string) => [...xs, id].sort();

/**
 * The ring with `nodeId` staged to join (the next version): it is added to
 * `nodes` and to the pending change, taking its share of the target ownership.
 * A node being taken out is kept instead. `ring` itself when there is nothing to do.
 */
export function stageJoin(ring: Ring, nodeId: string, capacityOf?: CapacityOf): Ring {
  const next = ring.next;
  if (ring.nodes.includes(nodeId)) {
    if (next === undefined || !next.leaving.includes(nodeId)) return ring;
    // Cancel its leave: it takes a share of the target again.
    const target = targetOf(ring);
    const after = joinRing(target, nodeId, capacityOf);
    return staged(ring, [...ring.nodes], after.owners, [...next.joining], without(next.leaving, nodeId));
  }
  const after = joinRing(targetOf(ring), nodeId, capacityOf);
  return staged(ring, sortedWith(ring.nodes, nodeId), after.owners, sortedWith(next?.joining ?? [], nodeId), [...(next?.leaving ?? [])]);
}

/**
 * The ring with `nodeId` staged to go (the next version): its target partitions
 * go to the nodes furthest below their share. A node still joining is simply
 * dropped. `ring` itself when it is not a member or already leaving; RangeError
 * when it is the last node that would own anything.
 */
export function stageLeave(ring: Ring, nodeId: string, capacityOf?: CapacityOf): Ring {
  const next = ring.next;
  if (!ring.nodes.includes(nodeId) || next?.leaving.includes(nodeId)) return ring;
  const after = leaveRing(targetOf(ring), nodeId, capacityOf);
  if (next?.joining.includes(nodeId)) {
    return staged(ring, without(ring.nodes, nodeId), after.owners, without(next.joining, nodeId), [...next.leaving]);
  }
  return staged(ring, [...ring.nodes], after.owners, [...(next?.joining ?? [])], sortedWith(next?.leaving ?? [], nodeId));
}

/** The ring with `nodeId` marked ready for the pending change; `ring` itself if there is none or it already is. */
export function markReady(ring: Ring, nodeId: string): Ring {
  const next = ring.next;
  if (next === undefined || next.ready.includes(nodeId) || !ring.nodes.includes(nodeId)) return ring;
  return { ...ring, version: ring.version + 1, next: { ...next, ready: sortedWith(next.ready, nodeId) } };
}

/** The ring with the pending change done: target owners serve, leaving nodes are gone. */
export function completeChange(ring: Ring): Ring {
  const next = ring.next;
  if (next === undefined) return ring;
  return { version: ring.version + 1, partitions: ring.partitions, nodes: ring.nodes.filter((id) => !next.leaving.includes(id)), owners: next.owners };
}

/**
 * Which partitions each node gains as a replica in the pending change (empty when
 * none is pending): the nodes that must receive data before the change completes.
 */
export function gainedReplicas(ring: Ring, n: Replication, placementOf?: PlacementOf): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (ring.next === undefined) return out;
  const now = new PreferenceLists(currentOf(ring), n, placementOf);
  const then = new PreferenceLists(targetOf(ring), n, placementOf);
  for (let p = 0; p < ring.partitions; p++) {
    const had = now.replicas(p);
    for (const id of then.replicas(p)) {
      if (had.includes(id)) continue;
      let ps = out.get(id);
      if (ps === undefined) out.set(id, (ps = []));
      ps.push(p);
    }
  }
  return out;
}

/** Whether every node that gains a replica in the pending change is ready. */
export function changeIsReady(ring: Ring, gained: ReadonlyMap<string, readonly number[]>): boolean {
  const next = ring.next;
  if (next === undefined) return false;
  for (const id of gained.keys()) if (!next.ready.includes(id)) return false;
  return true;
}
