// LevelDB keys (docs/architecture.md "LevelDB layout"): the first byte names the
// area. Hashes and times are u64 big-endian so that byte order is numeric order.
//   d hash key                      data: SiblingSet
//   h owner 0x00 hash key           hints: HintRecord
//   t time hash key                 expiry index: empty
//   m name                          metadata: bytes

import { native } from '../native.js';

export const DATA = 0x64; // 'd'
export const HINT = 0x68; // 'h'
export const META = 0x6d; // 'm'
export const EXPIRY = 0x74; // 't'

export const EMPTY = Buffer.alloc(0);

/** [gte, lt) of one whole area. */
export function areaRange(area: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([area]), lt: Buffer.from([area + 1]) };
}

function writeU64BE(b: Buffer, x: number, off: number): void {
  b.writeUInt32BE(Math.floor(x / 0x1_0000_0000), off);
  b.writeUInt32BE(x >>> 0, off + 4);
}

/** The data key of key, its hash written natively (a BigInt and its conversion cost more than the rest). */
export function dataKey(key: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(9 + key.length);
  b[0] = DATA;
  native.hash64Into(key, b, 1);
  b.set(key, 9);
  return b;
}

/** The hash part of a data key. */
export function dataKeyHash(dbKey: Buffer): bigint {
  return dbKey.readBigUInt64BE(1);
}

/** The user's key inside a data key (a view). */
export function dataKeyUserKey(dbKey: Buffer): Buffer {
  return dbKey.subarray(9);
}

/** The index entry filing a data record under time t (ms). */
export function expiryKey(t: number, dbKey: Buffer): Buffer {
  const b = Buffer.allocUnsafe(dbKey.length + 8);
  b[0] = EXPIRY;
  writeU64BE(b, t, 1);
  dbKey.copy(b, 9, 1);
  return b;
}

/** The first index key past every entry filed at or before time t. */
export function expiryBound(t: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = EXPIRY;
  writeU64BE(b, t + 1, 1);
  return b;
}

export function expiryTime(indexKey: Buffer): number {
  return indexKey.readUInt32BE(1) * 0x1_0000_0000 + indexKey.readUInt32BE(5);
}

/** The data key an index entry points at. */
export function expiryDataKey(indexKey: Buffer): Buffer {
  const b = Buffer.allocUnsafe(indexKey.length - 8);
  b[0] = DATA;
  indexKey.copy(b, 1, 9);
  return b;
}

/** [gte, lt) of the data keys whose hash has the given top log2(q) bits. */
export function partitionRange(partition: number, q: number): { gte: Buffer; lt: Buffer } {
  const bits = BigInt(Math.log2(q));
  const start = BigInt(partition) << (64n - bits);
  const end = BigInt(partition + 1) << (64n - bits);
  return hashRange(start, end);
}

/** [gte, lt) of the data keys with start <= hash < end (end up to 2^64). */
export function hashRange(start: bigint, end: bigint): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.allocUnsafe(9);
  gte[0] = DATA;
  gte.writeBigUInt64BE(start, 1);
  if (end >= 1n << 64n) return { gte, lt: Buffer.from([DATA + 1]) };
  const lt = Buffer.allocUnsafe(9);
  lt[0] = DATA;
  lt.writeBigUInt64BE(end, 1);
  return { gte, lt };
}

export function hintPrefix(owner: Buffer): Buffer {
  const b = Buffer.allocUnsafe(owner.length + 2);
  b[0] = HINT;
  owner.copy(b, 1);
  b[owner.length + 1] = 0;
  return b;
}

export function hintKey(owner: Buffer, hash: bigint, key: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(owner.length + 10 + key.length);
  b[0] = HINT;
  owner.copy(b, 1);
  b[owner.length + 1] = 0;
  b.writeBigUInt64BE(hash, owner.length + 2);
  b.set(key, owner.length + 10);
  return b;
}

/** The owner of a hint key, as bytes (a view). */
export function hintKeyOwner(hk: Buffer): Buffer {
  return hk.subarray(1, hk.indexOf(0, 1));
}

export function metaKey(name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.allocUnsafe(n.length + 1);
  b[0] = META;
  n.copy(b, 1);
  return b;
}
