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
  /** The ring's members, sorted; a member may own no partition when Q is small. */
  readonly nodes: readonly string[];
  /** owners[p] is the node that owns partition p. */
  readonly owners: readonly string[];
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
  return {
    version: ring.version,
    partitions: ring.partitions,
    nodes: [...ring.nodes],
    owners: ring.owners.map((id) => index.get(id)!),
  };
}

/** Validates a ring from the network; throws RangeError when it is inconsistent. */
export function fromRingState(s: RingState): Ring {
  assertPartitions(s.partitions);
  if (!Number.isSafeInteger(s.version) || s.version < 1) throw new RangeError('ring version must be a positive integer');
  if (s.owners.length !== s.partitions) throw new RangeError(`ring has ${s.owners.length} owners for ${s.partitions} partitions`);
  for (let i = 1; i < s.nodes.length; i++) {
    if (!(s.nodes[i - 1]! < s.nodes[i]!)) throw new RangeError('ring nodes must be sorted and distinct');
  }
  const owners = s.owners.map((i) => {
    const id = s.nodes[i];
    if (id === undefined) throw new RangeError(`ring owner index ${i} is out of range`);
    return id;
  });
  return { version: s.version, partitions: s.partitions, nodes: [...s.nodes], owners };
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
