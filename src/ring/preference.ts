// Preference lists: for each partition, the N nodes that hold its replicas, then
// every other node in ring order as fallbacks for the sloppy quorum.
import { native } from '../native.js';
import { type DcReplication, type Replication, checkDcReplication, replicationTotal } from './replication.js';
import { type Ring, ringId } from './ring.js';

export interface Placement {
  dc: string;
  rack: string;
}

export type PlacementOf = (nodeId: string) => Placement | undefined;

const nowhere: Placement = { dc: '', rack: '' };

/**
 * Preference lists of one ring for one replication, computed once.
 * A partition's list walks the ring clockwise from the partition, collecting
 * distinct nodes. With N replicas in all, among the first N it prefers a node in a
 * data centre not yet used, then a rack not yet used, so replicas spread whenever
 * enough dcs/racks exist. With replicas per data centre, each dc's replicas are its
 * first nodes on the walk (racks spread within the dc), listed in walk order, except
 * that a node already holding its dc's fair share of replicas (plus a fifth) is passed
 * over while another will do; nodes of dcs not named are never replicas, only
 * fallbacks.
 *
 * Why the share cap: the ring's claim spaces each node's partitions, not each dc's,
 * so a dc's nodes can follow long runs of other dcs' partitions and collect many
 * more replicas than the others (up to 1.9 times the dc's mean measured over 2–3 dcs
 * of 2–16 nodes). The cap brings that to within 1.25 and moves no more data on a
 * join than the plain walk does (test/ring/replication.test.ts).
 */
export class PreferenceLists {
  readonly partitions: number;
  /** The replication factor in all (per-dc replication: the sum). */
  readonly n: number;
  /** Replicas per data centre; undefined with N replicas in all. */
  readonly perDc: DcReplication | undefined;
  private readonly lists: string[][];
  private readonly replicaLists: string[][];
  private readonly bits: number;
  private id: Buffer | undefined;

  constructor(
    readonly ring: Ring,
    replication: Replication,
    private readonly placementOf: PlacementOf = () => nowhere,
  ) {
    if (typeof replication === 'number') {
      if (!Number.isInteger(replication) || replication < 1) throw new RangeError(`n must be a positive integer, got ${replication}`);
    } else checkDcReplication(replication);
    this.n = replicationTotal(replication);
    this.perDc = typeof replication === 'number' ? undefined : replication;
    this.partitions = ring.partitions;
    this.bits = Math.log2(ring.partitions);
    const owningSet = new Set(ring.owners);
    const owning = owningSet.size;
    const fair = this.perDc === undefined ? undefined : fairShares(this.perDc, owningSet, ring.partitions, placementOf);
    const load = new Map<string, number>();
    this.lists = [];
    this.replicaLists = [];
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
      if (this.perDc === undefined) {
        const k = Math.min(this.n, walk.length);
        const list = spread(walk, k, placementOf);
        this.replicaLists.push(list.slice(0, k));
        this.lists.push(list);
      } else {
        const replicas = perDcReplicas(walk, this.perDc, placementOf, (id) => (load.get(id) ?? 0) >= fair!.get(id)!);
        for (const id of replicas) load.set(id, (load.get(id) ?? 0) + 1);
        const taken = new Set(replicas);
        this.replicaLists.push(replicas);
        this.lists.push([...replicas, ...walk.filter((id) => !taken.has(id))]);
      }
    }
  }

  /** The data centre a node is placed in ('' when unknown). */
  dcOf(nodeId: string): string {
    return (this.placementOf(nodeId) ?? nowhere).dc;
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

  /** The partition's replicas first, then the other nodes as fallbacks in ring order. */
  walk(partition: number): readonly string[] {
    const l = this.lists[partition];
    if (l === undefined) throw new RangeError(`partition ${partition} is out of range`);
    return l;
  }

  /** The partition's N replicas (fewer when the ring, or a dc, has fewer nodes). */
  replicas(partition: number): readonly string[] {
    const l = this.replicaLists[partition];
    if (l === undefined) throw new RangeError(`partition ${partition} is out of range`);
    return l;
  }

  /** The partitions for which `nodeId` is one of the replicas. */
  partitionsOf(nodeId: string): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.partitions; p++) if (this.replicaLists[p]!.includes(nodeId)) out.push(p);
    return out;
  }
}

/** Each named dc's first nodes on the walk (racks spread, full ones passed over while others will do), in walk order. */
function perDcReplicas(walk: string[], perDc: DcReplication, placementOf: PlacementOf, full: (id: string) => boolean): string[] {
  const chosen = new Set<string>();
  for (const dc of Object.keys(perDc)) {
    const inDc = walk.filter((id) => (placementOf(id) ?? nowhere).dc === dc);
    const k = Math.min(perDc[dc]!, inDc.length);
    for (const id of spread(inDc, k, placementOf, full).slice(0, k)) chosen.add(id);
  }
  return walk.filter((id) => chosen.has(id));
}

/** Per node of a named dc: the most replicas it takes while another node will do (its dc's mean plus a fifth). */
function fairShares(perDc: DcReplication, owning: ReadonlySet<string>, partitions: number, placementOf: PlacementOf): Map<string, number> {
  const byDc = new Map<string, string[]>();
  for (const id of owning) {
    const dc = (placementOf(id) ?? nowhere).dc;
    if (perDc[dc] === undefined) continue;
    let l = byDc.get(dc);
    if (l === undefined) byDc.set(dc, (l = []));
    l.push(id);
  }
  const out = new Map<string, number>();
  for (const [dc, ids] of byDc) {
    const cap = Math.ceil(((partitions * Math.min(perDc[dc]!, ids.length)) / ids.length) * 1.2);
    for (const id of ids) out.set(id, cap);
  }
  return out;
}

/** The walk with n nodes chosen first: a new dc, then a new rack, then (with `full`) one not full, each taken in walk order. */
function spread(walk: string[], n: number, placementOf: PlacementOf, full?: (id: string) => boolean): string[] {
  const chosen: string[] = [];
  const taken = new Set<string>();
  const dcs = new Set<string>();
  const racks = new Set<string>();
  const top = full === undefined ? 2 : 5;
  while (chosen.length < n) {
    let best = '';
    let bestScore = -1;
    for (const id of walk) {
      if (taken.has(id)) continue;
      const at = placementOf(id) ?? nowhere;
      const place = !dcs.has(at.dc) ? 2 : !racks.has(at.dc + '\0' + at.rack) ? 1 : 0;
      const score = full === undefined ? place : place * 2 + (full(id) ? 0 : 1);
      if (score > bestScore) {
        best = id;
        bestScore = score;
        if (score === top) break;
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
