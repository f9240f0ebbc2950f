// Lists the keys of a partition that fall in chosen Merkle segments, with their
// version digests, in hash order. Segments use a hash's low bits, so they are
// scattered across the partition's hash range: one listing reads the range once
// and keeps the records whose segment is wanted.
import type { SiblingSet } from '../codec/index.js';
import { digest } from '../version/index.js';

export interface ScannedRecord {
  key: Buffer;
  hash: bigint;
  set: SiblingSet;
}

/** What a listing reads: the store's committed records with start <= hash < end. */
export type RangeScan = (start: bigint, end: bigint) => AsyncIterable<ScannedRecord>;

export interface SegmentEntry {
  key: Buffer;
  hash: bigint;
  digest: bigint;
  set: SiblingSet;
}

export interface SegmentListing {
  entries: SegmentEntry[];
  /** The listing stopped early at `last` (inclusive); ask again from last + 1. */
  more: boolean;
  last: bigint;
}

const TOP = 1n << 64n;

/** [start, end) of partition p of q in hash space (end up to 2^64). */
export function partitionBounds(p: number, q: number): { start: bigint; end: bigint } {
  const shift = BigInt(64 - Math.log2(q));
  if (q === 1) return { start: 0n, end: TOP };
  return { start: BigInt(p) << shift, end: BigInt(p + 1) << shift };
}

/** A bitmap of `segments` bits with the given segments set. */
export function segmentBits(segments: number, which: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(Math.ceil(segments / 8));
  for (let i = 0; i < which.length; i++) {
    const s = which[i]!;
    b[s >>> 3]! |= 1 << (s & 7);
  }
  return b;
}

/**
 * The records with start <= hash < end whose segment (hash & (segments - 1)) is
 * set in `bits`. Stops once the keys listed reach maxBytes (counting key bytes
 * plus 8 per entry), at a record boundary; `last` is then the last hash listed.
 */
export async function scanSegments(
  scan: RangeScan,
  start: bigint,
  end: bigint,
  segments: number,
  bits: Uint8Array,
  maxBytes = Infinity,
): Promise<SegmentListing> {
  const mask = BigInt(segments - 1);
  const entries: SegmentEntry[] = [];
  let bytes = 0;
  let last = end - 1n;
  let more = false;
  if (start >= end) return { entries, more, last };
  for await (const r of scan(start, end)) {
    const s = Number(r.hash & mask);
    if ((bits[s >>> 3]! & (1 << (s & 7))) === 0) continue;
    if (bytes >= maxBytes && entries.length > 0 && r.hash !== entries[entries.length - 1]!.hash) {
      more = true;
      last = entries[entries.length - 1]!.hash;
      break;
    }
    entries.push({ key: Buffer.from(r.key), hash: r.hash, digest: digest(r.set), set: r.set });
    bytes += r.key.length + 8;
  }
  return { entries, more, last };
}

export function u64be(x: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(x);
  return b;
}
