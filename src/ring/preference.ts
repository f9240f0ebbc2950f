// Preference lists: for each partition, the N nodes that hold its replicas, then
// every other node in ring order as fallbacks for the sloppy quorum.
import { native } from '../native.js';
import { type Ring, ringId } from './ring.js';

export interface Placement {
  dc: string;
  rack: string;
}

export type PlacementOf = (nodeId: string) => Placement | undefined;

const nowhere: Placement = { dc: '', rack: '' };

/**
 * Preference lists of one ring for one replication factor, computed once.
 * A partition's list walks the ring clockwise from the partition, collecting
 * distinct nodes; among the first N it prefers a node in a data centre not yet
 * used, then a rack not yet used, so replicas spread whenever enough dcs/racks exist.
 */
export class PreferenceLists {
  readonly partitions: number;
  private readonly lists: string[][];
  private readonly bits: number;
  private id: Buffer | undefined;

  constructor(
    readonly ring: Ring,
    readonly n: number,
    placementOf: PlacementOf = () => nowhere,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    this.partitions = ring.partitions;
    this.bits = Math.log2(ring.partitions);
    const owning = new Set(ring.owners).size;
    this.lists = [];
    for (let p = 0; p < ring.partitions; p++) {
      const walk: string[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < ring.partitions && walk.length < owning; i++) {
        const id = ring.owners[(p + i) % ring.partitions]!;
        if (!seen.has(id)) {
          seen.add(id);
          walk.push(id);
        }
      }
      this.lists.push(spread(walk, Math.min(n, walk.length), placementOf));
    }
  }

  /** The ring's identity (its checksum, 8 bytes), worked out once. */
  get ringId(): Buffer {
    return (this.id ??= ringId(this.ring));
  }

  /** The partition of a key: the top log2(Q) bits of its XXH64. */
  partitionOf(key: Uint8Array): number {
    return native.partitionOf(key, this.partitions);
  }

  /** The partition of a key hash. */
  partitionOfHash(hash: bigint): number {
    return this.bits === 0 ? 0 : Number(hash >> BigInt(64 - this.bits));
  }

  /** The first N nodes are the partition's replicas; the rest are fallbacks in ring order. */
  walk(partition: number): readonly string[] {
    const l = this.lists[partition];
    if (l === undefined) throw new RangeError(`partition ${partition} is out of range`);
    return l;
  }

  /** The partition's N replicas (fewer when the ring has fewer nodes). */
  replicas(partition: number): readonly string[] {
    return this.walk(partition).slice(0, this.n);
  }

  /** The partitions for which `nodeId` is one of the N replicas. */
  partitionsOf(nodeId: string): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.partitions; p++) {
      const l = this.lists[p]!;
      for (let i = 0; i < this.n && i < l.length; i++) {
        if (l[i] === nodeId) {
          out.push(p);
          break;
        }
      }
    }
    return out;
  }
}

function spread(walk: string[], n: number, placementOf: PlacementOf): string[] {
  const chosen: string[] = [];
  const taken = new Set<string>();
  const dcs = new Set<string>();
  const racks = new Set<string>();
  while (chosen.length < n) {
    let best = '';
    let bestScore = -1;
    for (const id of walk) {
      if (taken.has(id)) continue;
      const at = placementOf(id) ?? nowhere;
      const score = !dcs.has(at.dc) ? 2 : !racks.has(at.dc + '\0' + at.rack) ? 1 : 0;
      if (score > bestScore) {
        best = id;
        bestScore = score;
        if (score === 2) break;
      }
    }
    const at = placementOf(best) ?? nowhere;
    chosen.push(best);
    taken.add(best);
    dcs.add(at.dc);
    racks.add(at.dc + '\0' + at.rack);
  }
  for (const id of walk) if (!taken.has(id)) chosen.push(id);
  return chosen;
}
