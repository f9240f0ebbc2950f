// The record cache's idle entries, kept outside the JavaScript heap: each entry
// (key, record bytes, the kind's memo) is copied into one ring of bytes and found
// through an open-addressing index of Int32s. A cache of objects (a slot, a key
// Buffer and a record Buffer per entry, in a Map) made every write promote
// ~700 bytes to V8's old generation and leave the version it replaced there as
// garbage: most of a node's scavenge and mark-compact time (docs/performance.md,
// round 13). Here a write's objects die young, and the collector never traces
// the cache.
//
// The ring is a log: entries are appended at the head and evicted from the tail.
// A key written again keeps its entry, rewritten in place, when the new record
// fits there; otherwise its old entry is dead space until the tail passes it. An
// entry read or rewritten since the tail last passed gets a second chance
// (CLOCK): the tail moves it to the head, within the ring, and clears the mark.

import { InternalError } from '../errors.js';
import { staysPut } from './linear-probing.js';

/** Entry header, in bytes: size, hash, flags and key length, record length, memo (u64). */
const HEADER = 24;
const LIVE = 1;
const HAS_RECORD = 2;
const HAS_MEMO = 4;
const USED = 8;

export class RecordArena {
  private readonly bytes: Buffer;
  private readonly i32: Int32Array;
  private readonly u64: BigUint64Array;
  // Entries lie in [tail, head) or, wrapped, in [tail, end) then [0, head).
  private head = 0;
  private tail = 0;
  private end = 0;
  private wrapped = false;
  /** Entries in the ring, live or dead. */
  private entries = 0;
  /** The furthest the head has reached: the ring's bytes written so far. */
  private reached = 0;
  // Index: offset + 1 of a live entry (0: empty), and its hash, by linear probing.
  private index: Int32Array;
  private hashes: Int32Array;
  private mask: number;
  /** Live entries, and the ring bytes they take. */
  count = 0;
  liveBytes = 0;

  /**
   * A ring of `maxBytes`, allocated whole: zero-filled memory this large comes
   * from the kernel's zero pages, which become memory only as the head first
   * writes them. So the cache's memory grows with use, and nothing is ever copied
   * to grow the ring.
   */
  constructor(maxBytes: number) {
    this.bytes = Buffer.alloc(Math.max(8, maxBytes - (maxBytes % 8)));
    this.i32 = new Int32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >> 2);
    this.u64 = new BigUint64Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >> 3);
    this.index = new Int32Array(1024);
    this.hashes = new Int32Array(1024);
    this.mask = 1023;
  }

  /** Bytes of the ring written so far: the memory it takes (the rest is address space). */
  get allocated(): number {
    return this.reached;
  }

  /** The live entry of dbKey (filed under `hash`), or -1. */
  find(hash: number, dbKey: Buffer): number {
    const index = this.index;
    for (let j = hash & this.mask; ; j = (j + 1) & this.mask) {
      const e = index[j]!;
      if (e === 0) return -1;
      if (this.hashes[j] === hash && this.keyIs(e - 1, dbKey)) return e - 1;
    }
  }

  /** A copy of the entry's record (undefined: the entry records an absent key). */
  recordAt(off: number): Buffer | undefined {
    const w = off >> 2;
    const flags = this.i32[w + 2]!;
    if ((flags & HAS_RECORD) === 0) return undefined;
    const start = off + HEADER + (flags >>> 8);
    const out = Buffer.allocUnsafe(this.i32[w + 3]!);
    this.bytes.copy(out, 0, start, start + out.length);
    return out;
  }

  memoAt(off: number): bigint | undefined {
    return (this.i32[(off >> 2) + 2]! & HAS_MEMO) === 0 ? undefined : this.u64[(off + 16) >> 3];
  }

  /** Marks the entry used: the tail moves it to the head once instead of evicting it. */
  markUsed(off: number): void {
    this.i32[(off >> 2) + 2] = this.i32[(off >> 2) + 2]! | USED;
  }

  /**
   * Sets the key's entry: in place (marked used) when its entry has room, else a
   * new one at the head, evicting the oldest as needed. false when the entry would
   * be larger than a quarter of the ring: then the key has no entry.
   */
  put(hash: number, dbKey: Buffer, record: Buffer | undefined, memo: bigint | undefined): boolean {
    const size = (HEADER + dbKey.length + (record?.length ?? 0) + 7) & ~7;
    const at = this.find(hash, dbKey);
    if (at >= 0 && size <= this.i32[at >> 2]!) {
      this.write(at, dbKey, record, memo, USED);
      return true;
    }
    if (at >= 0) this.remove(at);
    if (size > this.bytes.length >> 2) return false;
    const off = this.reserve(size);
    this.i32[off >> 2] = size;
    this.i32[(off >> 2) + 1] = hash;
    this.write(off, dbKey, record, memo, 0);
    this.indexAdd(hash, off);
    this.count++;
    this.liveBytes += size;
    return true;
  }

  /** Fills in the entry at off (its size and hash set) but for the index. */
  private write(off: number, dbKey: Buffer, record: Buffer | undefined, memo: bigint | undefined, mark: number): void {
    const w = off >> 2;
    this.i32[w + 2] = LIVE | mark | (record === undefined ? 0 : HAS_RECORD) | (memo === undefined ? 0 : HAS_MEMO) | (dbKey.length << 8);
    this.i32[w + 3] = record?.length ?? 0;
    if (memo !== undefined) this.u64[(off + 16) >> 3] = memo;
    this.bytes.set(dbKey, off + HEADER);
    if (record !== undefined) this.bytes.set(record, off + HEADER + dbKey.length);
  }

  /** Takes a live entry out (its bytes stay in the ring, dead, until the tail passes). */
  remove(off: number): void {
    const w = off >> 2;
    this.indexRemove(this.i32[w + 1]!, off);
    this.i32[w + 2] = this.i32[w + 2]! & ~LIVE;
    this.count--;
    this.liveBytes -= this.i32[w]!;
  }

  clear(): void {
    this.head = this.tail = this.end = this.entries = this.count = this.liveBytes = 0;
    this.wrapped = false;
    this.index.fill(0);
  }

  private keyIs(off: number, dbKey: Buffer): boolean {
    const n = this.i32[(off >> 2) + 2]! >>> 8;
    if (n !== dbKey.length) return false;
    const b = this.bytes;
    for (let i = 0, p = off + HEADER; i < n; i++, p++) if (b[p] !== dbKey[i]) return false;
    return true;
  }

  /** The offset of `size` free bytes at the head. */
  private reserve(size: number): number {
    for (;;) {
      if (!this.wrapped) {
        if (this.head + size <= this.bytes.length) break;
        if (this.entries === 0) {
          this.head = this.tail = 0;
          continue;
        }
        this.end = this.head;
        this.head = 0;
        this.wrapped = true;
      } else {
        if (this.head + size <= this.tail) break;
        this.evictTail();
        if (this.tail === this.end) {
          // The older lap is gone: what is left lies in [0, head).
          this.tail = 0;
          this.wrapped = false;
        }
      }
    }
    const off = this.head;
    this.head += size;
    if (this.head > this.reached) this.reached = this.head;
    this.entries++;
    return off;
  }

  /** Evicts the tail's entry, or moves it to the head (wrapped: head <= tail) if it was used. */
  private evictTail(): void {
    const off = this.tail;
    const w = off >> 2;
    const size = this.i32[w]!;
    if (size <= 0) throw new InternalError('record cache: an entry has no size');
    const flags = this.i32[w + 2]!;
    if ((flags & (LIVE | USED)) === (LIVE | USED)) {
      const to = this.head;
      this.bytes.copyWithin(to, off, off + size);
      this.i32[(to >> 2) + 2] = flags & ~USED;
      this.index[this.cellOf(this.i32[w + 1]!, off)] = to + 1;
      this.head += size;
      this.tail += size;
      return;
    }
    if ((flags & LIVE) !== 0) this.remove(off);
    this.tail += size;
    this.entries--;
  }

  private indexAdd(hash: number, off: number): void {
    if (2 * (this.count + 1) > this.index.length) this.growIndex();
    let j = hash & this.mask;
    while (this.index[j] !== 0) j = (j + 1) & this.mask;
    this.index[j] = off + 1;
    this.hashes[j] = hash;
  }

  /** The index cell of the live entry at off. */
  private cellOf(hash: number, off: number): number {
    const mask = this.mask;
    let i = hash & mask;
    for (let n = 0; this.index[i] !== off + 1; n++) {
      if (n > mask) throw new InternalError('record cache: an entry is missing from its index');
      i = (i + 1) & mask;
    }
    return i;
  }

  /** Removes off's cell, shifting back the cells after it that probed past it. */
  private indexRemove(hash: number, off: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = this.cellOf(hash, off);
    for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      if (staysPut(this.hashes[j]! & mask, i, j)) continue;
      index[i] = index[j]!;
      this.hashes[i] = this.hashes[j]!;
      i = j;
    }
    index[i] = 0;
  }

  private growIndex(): void {
    const oldIndex = this.index;
    const oldHashes = this.hashes;
    this.index = new Int32Array(oldIndex.length * 2);
    this.hashes = new Int32Array(oldIndex.length * 2);
    this.mask = this.index.length - 1;
    for (let j = 0; j < oldIndex.length; j++) {
      const e = oldIndex[j]!;
      if (e === 0) continue;
      let k = oldHashes[j]! & this.mask;
      while (this.index[k] !== 0) k = (k + 1) & this.mask;
      this.index[k] = e;
      this.hashes[k] = oldHashes[j]!;
    }
  }
}
