// The partition ring as Riak keeps it: Q fixed partitions (Dynamo's strategy 3),
// each owned by one node, changed only by explicit join / leave / remove, each of
// which produces the next version. A ring is a value: every node that holds the same
// ring computes the same preference lists.
import { RingStateCodec, type RingState } from '../codec/index.js';
import { native } from '../native.js';

export interface Ring {
  readonly version: number;
  /** Q, a power of two. */
  readonly partitions: number;
  /**
   * The ring's members, sorted; a member may own no partition when Q is small.
   * While a change is pending this includes the joining and the leaving nodes.
   */
  readonly nodes: readonly string[];
  /** owners[p] is the node that owns partition p: what reads and writes use. */
  readonly owners: readonly string[];
  /** A pending ownership change (docs/operations.md), absent when none is pending. */
  readonly next?: Transition;
}

/**
 * A pending change of ownership. Until it completes, requests keep going to the
 * current owners; nodes gaining a replica receive its data first (and writes are
 * forwarded to them), and the change completes once every such node is ready.
 */
export interface Transition {
  /** owners[p]: the owner of partition p once the change completes. */
  readonly owners: readonly string[];
  /** Nodes being added: members of `nodes` that own nothing until the change completes. */
  readonly joining: readonly string[];
  /** Nodes being taken out: they own nothing after the change. */
  readonly leaving: readonly string[];
  /** Nodes holding every partition they gain in the change; sorted. */
  readonly ready: readonly string[];
}

export const MAX_PARTITIONS = 65536;

export function assertPartitions(q: number): void {
  if (!Number.isInteger(q) || q < 1 || q > MAX_PARTITIONS || (q & (q - 1)) !== 0) {
    throw new RangeError(`partitions must be a power of two from 1 to ${MAX_PARTITIONS}, got ${q}`);
  }
}

/** The first ring of a cluster: one node owns every partition. */
export function createRing(partitions: number, nodeId: string): Ring {
  assertPartitions(partitions);
  return { version: 1, partitions, nodes: [nodeId], owners: new Array<string>(partitions).fill(nodeId) };
}

export function toRingState(ring: Ring): RingState {
  const index = new Map(ring.nodes.map((id, i) => [id, i]));
  const at = (id: string) => index.get(id)!;
  const state: RingState = {
    version: ring.version,
    partitions: ring.partitions,
    nodes: [...ring.nodes],
    owners: ring.owners.map(at),
  };
  if (ring.next !== undefined) {
    state.nextOwners = ring.next.owners.map(at);
    state.joining = ring.next.joining.map(at);
    state.leaving = ring.next.leaving.map(at);
    state.ready = ring.next.ready.map(at);
  }
  return state;
}

/** Validates a ring from the network; throws RangeError when it is inconsistent. */
export function fromRingState(s: RingState): Ring {
  assertPartitions(s.partitions);
  if (!Number.isSafeInteger(s.version) || s.version < 1) throw new RangeError('ring version must be a positive integer');
  if (s.owners.length !== s.partitions) throw new RangeError(`ring has ${s.owners.length} owners for ${s.partitions} partitions`);
  for (let i = 1; i < s.nodes.length; i++) {
    if (!(s.nodes[i - 1]! < s.nodes[i]!)) throw new RangeError('ring nodes must be sorted and distinct');
  }
  const idOf = (i: number) => {
    const id = s.nodes[i];
    if (id === undefined) throw new RangeError(`ring node index ${i} is out of range`);
    return id;
  };
  const owners = s.owners.map(idOf);
  const nextOwners = s.nextOwners ?? [];
  if (nextOwners.length === 0) {
    if ((s.joining?.length ?? 0) + (s.leaving?.length ?? 0) + (s.ready?.length ?? 0) > 0) {
      throw new RangeError('ring lists joining, leaving or ready nodes without a pending change');
    }
    return { version: s.version, partitions: s.partitions, nodes: [...s.nodes], owners };
  }
  if (nextOwners.length !== s.partitions) throw new RangeError(`ring has ${nextOwners.length} next owners for ${s.partitions} partitions`);
  const set = (name: string, xs: number[] | undefined): string[] => {
    const ids = (xs ?? []).map(idOf);
    for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) throw new RangeError(`ring ${name} nodes must be sorted and distinct`);
    return ids;
  };
  const joining = set('joining', s.joining);
  const leaving = set('leaving', s.leaving);
  const ready = set('ready', s.ready);
  if (joining.some((id) => leaving.includes(id))) throw new RangeError('a ring node cannot be both joining and leaving');
  if (joining.length + leaving.length === 0) throw new RangeError('a pending ring change must add or remove a node');
  const next = nextOwners.map(idOf);
  if (owners.some((id) => joining.includes(id))) throw new RangeError('a joining node cannot own a partition yet');
  if (next.some((id) => leaving.includes(id))) throw new RangeError('a leaving node cannot own a partition after the change');
  if (s.nodes.length - leaving.length < 1) throw new RangeError('a ring change cannot leave the ring empty');
  return { version: s.version, partitions: s.partitions, nodes: [...s.nodes], owners, next: { owners: next, joining, leaving, ready } };
}

export function encodeRing(ring: Ring): Uint8Array {
  return RingStateCodec.encode(toRingState(ring));
}

export function decodeRing(bytes: Uint8Array): Ring {
  return fromRingState(RingStateCodec.decode(bytes));
}

/** XXH64 of the ring's canonical encoding: equal rings, equal checksums. */
export function ringChecksum(ring: Ring): bigint {
  return native.hash64(encodeRing(ring));
}

/** The ring's checksum as 8 big-endian bytes: its identity on the wire (ReplicaWrite.ring_id). */
export function ringId(ring: Ring): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(ringChecksum(ring));
  return b;
}

/**
 * Whether `a` supersedes `b`: a higher version wins; between two different rings
 * of one version (concurrent changes) the higher checksum wins, so every node
 * picks the same one and the losing change is retried on top of it.
 */
export function isNewer(a: Ring, b: Ring): boolean {
  if (a.version !== b.version) return a.version > b.version;
  return ringChecksum(a) > ringChecksum(b);
}

/** How many partitions each node owns. */
export function ownership(ring: Ring): Map<string, number> {
  const counts = new Map<string, number>(ring.nodes.map((id) => [id, 0]));
  for (const id of ring.owners) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}
