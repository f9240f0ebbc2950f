// Serialised read-modify-write of records, over group commit. Each LevelDB key
// with work in progress has a slot holding its latest state: updates of one key
// apply in arrival order, each on top of the previous one even before it has
// committed, while reads see only committed state. When a slot's last batch has
// committed it stays on as a cache entry (idle) until the cache's byte budget
// evicts it (CLOCK: an idle slot used since the hand last passed gets a second
// chance), so the next update of a recently written key needs no read.
//
// An idle slot keeps its record as the bytes written to LevelDB, not decoded:
// one buffer per key instead of a tree of objects, which the garbage collector
// would otherwise trace on every major collection and which each update would
// turn into old-generation garbage. The next use decodes it again
// (docs/performance.md). Those bytes, and the key, are slices of Node's shared
// 8 KiB Buffer pool, and one live slice keeps its whole slab: an entry that
// survives a second pass of the hand (so it is in use, not just written) is
// moved into memory of its own, once per version (docs/storage.md).
import { InternalError } from '../errors.js';
import { sameBytes } from '../version/index.js';
import type { Batch, BatchMember, CommitQueue, OpSink } from './commit-queue.js';
import type { KeyFilter } from './key-filter.js';
import type { ReadQueue } from './read-queue.js';

/** How one area's records are stored. */
export interface RecordKind<T> {
  decode(bytes: Buffer): T;
  /** A new buffer (it stays in the cache after the batch is written). */
  encode(value: T): Buffer;
  /**
   * Operations that accompany a change from `before` (as last written) to `after`,
   * in the same batch. `memo` is what the call that wrote `before` returned
   * (undefined when `before` was read from disk); the result is kept for the next.
   */
  changed?(dbKey: Buffer, before: T | undefined, after: T | undefined, sink: OpSink, memo: unknown): unknown;
  /**
   * 32 well-mixed bits of dbKey, which the table files the key's slot under
   * (default: FNV-1a of the whole key). Keys that share them are told apart by
   * their bytes.
   */
  slotHash?(dbKey: Buffer): number;
}

/** FNV-1a, 32 bits. */
function fnv1a(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h | 0;
}


/**
 * The next state of a record from its current one (undefined: absent; possibly
 * not yet committed). Returning the same object changes nothing; undefined deletes
 * the record; throwing changes nothing and rejects the update.
 */
export type Update<T> = (current: T | undefined) => T | undefined;

interface Waiter<T> {
  fn: Update<T>;
  resolve: (v: T | undefined) => void;
  reject: (err: unknown) => void;
}

const NO_WAITERS: never[] = [];

/** Heap bytes of a cache entry besides its record: slot, map entry, key buffer object, the memo (a digest). */
const ENTRY_OVERHEAD = 192;

class Slot<T> implements BatchMember {
  state: T | undefined;
  /** As of the last batch this slot was written into (or as loaded). */
  written: T | undefined;
  /** As of the last committed batch (or as loaded): what reads see. */
  committed: T | undefined;
  /** The encodings of `written` and `committed` (undefined: absent). */
  writtenBytes: Buffer | undefined;
  committedBytes: Buffer | undefined;
  /** What the kind's `changed` returned when `written` was written (it outlives packing). */
  memo: unknown = undefined;
  /** Idle and kept as committedBytes only: state, written and committed are dropped. */
  packed = false;
  loaded = false;
  waiting: Waiter<T>[] = NO_WAITERS;
  /** The gathering batch this slot has joined, if any. */
  gathering: Batch | undefined;
  /** The latest batch holding this slot's state, until it commits. */
  last: Batch | undefined;
  /** Idle: nothing in progress; the slot is a cache entry of `weight` bytes. */
  idle = false;
  weight = 0;
  /** Used since the eviction hand last passed. */
  recent = false;
  /** The hand has passed this entry since its bytes last changed. */
  seen = false;
  /** dbKey and committedBytes are in memory of their own (not pool slices). */
  compacted = false;
  /** Removed from the table (a later update of the key makes a new slot). */
  gone = false;

  /** The next slot filed under the same slotHash. */
  next: Slot<T> | undefined = undefined;

  constructor(
    readonly table: RecordTable<T>,
    readonly hash: number,
    public dbKey: Buffer,
  ) {}

  writeTo(sink: OpSink): void {
    this.table.write(this, sink);
  }

  settled(batch: Batch, err: Error | undefined): void {
    this.table.settle(this, batch, err);
  }
}

export class RecordTable<T> {
  // Slots by slotHash, each heading a chain of the slots that share it. Small
  // integer keys, not the keys' bytes as strings: a string per lookup, and its
  // hashing and comparison inside a Map of 100K+ entries, were ~8% of the
  // write path's main thread (docs/performance.md, round 10).
  private readonly slots = new Map<number, Slot<T>>();
  private slotCount = 0;
  private hand: IterableIterator<Slot<T>> = this.slots.values();
  private readonly slotHash: (dbKey: Buffer) => number;
  private idleBytes = 0;
  private idleCount = 0;
  /** Updates served without a read, and reads made for updates. */
  cacheHits = 0;
  loads = 0;

  constructor(
    private readonly kind: RecordKind<T>,
    private readonly queue: CommitQueue,
    private readonly reads: ReadQueue,
    private readonly cacheBytes: number,
    /** Data keys on disk: a key it excludes is absent without a read. */
    private readonly filter?: KeyFilter,
  ) {
    this.slotHash = kind.slotHash?.bind(kind) ?? fnv1a;
  }

  /** Records with work in progress. */
  get active(): number {
    return this.slotCount - this.idleCount;
  }

  /** Records kept as cache entries, and their estimated bytes. */
  get cached(): { records: number; bytes: number } {
    return { records: this.idleCount, bytes: this.idleBytes };
  }

  /**
   * The memory that cache entries' keys and records keep allocated: the sum of
   * the distinct ArrayBuffers they are slices of (a diagnostic; it walks the cache).
   */
  backingBytes(): number {
    const seen = new Set<ArrayBufferLike>();
    let n = 0;
    const count = (b: Buffer | undefined): void => {
      if (b === undefined || seen.has(b.buffer)) return;
      seen.add(b.buffer);
      n += b.buffer.byteLength;
    };
    this.forEachSlot((s) => {
      if (!s.idle) return;
      count(s.dbKey);
      count(s.committedBytes);
    });
    return n;
  }

  /**
   * Applies fn to the key's latest state, after every earlier update of the key.
   * Resolves with the new state once it has committed (when fn changed nothing:
   * once the state it saw has committed). `background`: a record not cached is
   * read on the thread pool (with the other reads of the turn) even with sync
   * reads, so that background work never holds up the event loop on a read.
   */
  update(dbKey: Buffer, fn: Update<T>, background = false): Promise<T | undefined> {
    if (this.queue.failure !== undefined) return Promise.reject(this.failed());
    const hash = this.slotHash(dbKey);
    let slot = this.find(hash, dbKey);
    if (slot === undefined) {
      slot = new Slot(this, hash, dbKey);
      // A key the filter excludes is loaded as absent at once, in either read mode.
      if ((this.reads.isSync && !background) || this.filter?.excludes(dbKey) === true) {
        try {
          this.loadNow(slot);
        } catch (err) {
          return Promise.reject(err);
        }
        this.insert(slot);
      } else {
        this.insert(slot);
        this.load(slot);
      }
    } else if (slot.idle) {
      if (slot.packed) {
        try {
          this.unpack(slot);
        } catch (err) {
          this.forget(slot);
          return Promise.reject(err);
        }
      }
      this.cacheHits++;
      slot.idle = false;
      this.idleCount--;
      this.idleBytes -= slot.weight;
    }
    if (!slot.loaded) {
      const s = slot;
      return new Promise((resolve, reject) => {
        if (s.waiting === NO_WAITERS) s.waiting = [];
        s.waiting.push({ fn, resolve, reject });
      });
    }
    return this.apply(slot, fn);
  }

  /** The key's committed state. */
  read(dbKey: Buffer): Promise<T | undefined> {
    const slot = this.find(this.slotHash(dbKey), dbKey);
    if (slot !== undefined && slot.loaded) {
      slot.recent = true;
      if (!slot.packed) return Promise.resolve(slot.committed);
      try {
        return Promise.resolve(slot.committedBytes === undefined ? undefined : this.decode(slot.committedBytes, dbKey));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    if (this.filter?.excludes(dbKey) === true) return Promise.resolve(undefined);
    if (this.reads.isSync) {
      try {
        const buf = this.reads.readNow(dbKey);
        return Promise.resolve(buf === undefined ? undefined : this.decode(buf, dbKey));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.reads.readAsync(dbKey).then((buf) => (buf === undefined ? undefined : this.decode(buf, dbKey)));
  }

  /** Decodes a stored record; InternalError if it is corrupt. */
  decode(buf: Buffer, dbKey: Buffer): T {
    try {
      return this.kind.decode(buf);
    } catch (err) {
      throw new InternalError(`corrupt record at ${dbKey.toString('hex')}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Forgets cached records (tests use it to force reads). */
  dropCache(): void {
    this.forEachSlot((slot) => {
      if (slot.idle) this.forget(slot);
    });
  }

  private find(hash: number, dbKey: Buffer): Slot<T> | undefined {
    let s = this.slots.get(hash);
    while (s !== undefined && !sameBytes(s.dbKey, dbKey)) s = s.next;
    return s;
  }

  private insert(slot: Slot<T>): void {
    slot.next = this.slots.get(slot.hash);
    this.slots.set(slot.hash, slot);
    this.slotCount++;
  }

  /** Calls fn for every slot; fn may remove the slot it is given. */
  private forEachSlot(fn: (s: Slot<T>) => void): void {
    for (const head of this.slots.values()) {
      for (let s: Slot<T> | undefined = head; s !== undefined; ) {
        const next: Slot<T> | undefined = s.next;
        fn(s);
        s = next;
      }
    }
  }

  private failed(): Error {
    return new InternalError('storage write failed; the store accepts no more writes', { cause: this.queue.failure });
  }

  private apply(slot: Slot<T>, fn: Update<T>): Promise<T | undefined> {
    let next: T | undefined;
    try {
      next = fn(slot.state);
    } catch (err) {
      this.retire(slot);
      return Promise.reject(err);
    }
    if (next !== slot.state) {
      if (this.queue.failure !== undefined) return Promise.reject(this.failed());
      slot.state = next;
      if (slot.gathering === undefined) {
        slot.gathering = slot.last = this.queue.current;
        this.queue.join(slot);
      }
    }
    const b = slot.last;
    if (b === undefined) {
      this.retire(slot);
      return Promise.resolve(next);
    }
    return b.done.then(() => next, this.rethrowFailure);
  }

  private readonly rethrowFailure = (): never => {
    throw this.failed();
  };

  /**
   * Reads a new slot's state synchronously (sync reads; with batched reads, only
   * for a key the filter excluded); throws InternalError.
   */
  private loadNow(slot: Slot<T>): void {
    this.loads++;
    let buf: Buffer | undefined;
    try {
      buf = !this.reads.isSync || this.filter?.excludes(slot.dbKey) === true ? undefined : this.reads.readNow(slot.dbKey);
    } catch (err) {
      throw new InternalError(`read failed: ${(err as Error).message}`, { cause: err });
    }
    const value = buf === undefined ? undefined : this.decode(buf, slot.dbKey);
    slot.loaded = true;
    slot.state = slot.written = slot.committed = value;
    slot.writtenBytes = slot.committedBytes = buf;
  }

  private load(slot: Slot<T>): void {
    this.loads++;
    this.reads.read(slot.dbKey, (err, buf) => {
      let value: T | undefined;
      try {
        if (err !== undefined) throw new InternalError(`read failed: ${err.message}`, { cause: err });
        value = buf === undefined ? undefined : this.decode(buf, slot.dbKey);
      } catch (e) {
        this.remove(slot);
        for (const w of slot.waiting) w.reject(e);
        return;
      }
      slot.loaded = true;
      slot.state = slot.written = slot.committed = value;
      slot.writtenBytes = slot.committedBytes = buf;
      // The waiters stay listed while they run, so that the slot is not retired
      // between them.
      const ws = slot.waiting;
      for (const w of ws) this.apply(slot, w.fn).then(w.resolve, w.reject);
      slot.waiting = NO_WAITERS;
      this.retire(slot);
    });
  }

  /** Writes the slot's latest state into the batch being written. */
  write(slot: Slot<T>, sink: OpSink): void {
    slot.gathering = undefined;
    const s = slot.state;
    if (s === slot.written) return;
    if (this.kind.changed !== undefined) slot.memo = this.kind.changed(slot.dbKey, slot.written, s, sink, slot.memo);
    if (s === undefined) {
      sink.del(slot.dbKey);
      slot.writtenBytes = undefined;
    } else {
      const bytes = this.kind.encode(s);
      this.filter?.add(slot.dbKey);
      sink.put(slot.dbKey, bytes);
      slot.writtenBytes = bytes;
    }
    slot.written = s;
  }

  settle(slot: Slot<T>, batch: Batch, err: Error | undefined): void {
    if (err !== undefined) {
      this.remove(slot);
      return;
    }
    // One batch is written at a time, so `written` is still what this batch holds.
    slot.committed = slot.written;
    if (slot.committedBytes !== slot.writtenBytes) {
      slot.committedBytes = slot.writtenBytes;
      slot.seen = slot.compacted = false;
    }
    if (slot.last === batch) slot.last = undefined;
    this.retire(slot);
  }

  /** Decodes a packed slot's record again (InternalError if it does not decode). */
  private unpack(slot: Slot<T>): void {
    const bytes = slot.committedBytes;
    const value = bytes === undefined ? undefined : this.decode(bytes, slot.dbKey);
    slot.state = slot.written = slot.committed = value;
    slot.packed = false;
  }

  /** Makes a slot with nothing in progress a cache entry, and keeps the cache in budget. */
  private retire(slot: Slot<T>): void {
    if (slot.idle || !slot.loaded || slot.gathering !== undefined || slot.last !== undefined || slot.waiting.length > 0 || slot.gone) return;
    // Nothing in progress: state, written and committed are one value, and
    // committedBytes is its encoding.
    slot.state = slot.written = slot.committed = undefined;
    slot.writtenBytes = slot.committedBytes;
    slot.packed = true;
    slot.idle = true;
    slot.recent = true;
    slot.weight = ENTRY_OVERHEAD + (slot.committedBytes?.length ?? 0) + 2 * slot.dbKey.length;
    this.idleCount++;
    this.idleBytes += slot.weight;
    if (this.idleBytes > this.cacheBytes) this.evict();
  }

  private evict(): void {
    // Each pass of the hand clears `recent` or evicts, so two passes always suffice.
    for (let steps = 2 * this.slotCount + 2; this.idleBytes > this.cacheBytes && steps > 0; ) {
      let r = this.hand.next();
      if (r.done === true) {
        this.hand = this.slots.values();
        r = this.hand.next();
        if (r.done === true) return;
      }
      // The hand stops at a chain's head and passes its whole chain.
      for (let s: Slot<T> | undefined = r.value; s !== undefined && this.idleBytes > this.cacheBytes; steps--) {
        const next: Slot<T> | undefined = s.next;
        this.pass(s);
        s = next;
      }
    }
  }

  private pass(s: Slot<T>): void {
    if (!s.idle) return;
    if (s.recent && this.cacheBytes > 0) {
      s.recent = false;
      if (s.seen && !s.compacted) this.compact(s);
      s.seen = true;
    } else this.forget(s);
  }

  /**
   * Copies an idle entry's key and record into one allocation of their own, so
   * that they no longer keep the pool slabs they were cut from (with whatever
   * else was cut from them) alive. Only entries in use get here: a record written
   * and never used again is evicted first, without a copy.
   */
  private compact(slot: Slot<T>): void {
    const k = slot.dbKey.length;
    const b = slot.committedBytes;
    const own = Buffer.allocUnsafeSlow(k + (b?.length ?? 0));
    slot.dbKey.copy(own, 0);
    slot.dbKey = own.subarray(0, k);
    if (b !== undefined) {
      b.copy(own, k);
      slot.committedBytes = slot.writtenBytes = own.subarray(k);
    }
    slot.compacted = true;
  }

  private remove(slot: Slot<T>): void {
    if (slot.gone) return;
    slot.gone = true;
    this.slotCount--;
    const head = this.slots.get(slot.hash);
    if (head === slot) {
      if (slot.next === undefined) this.slots.delete(slot.hash);
      else this.slots.set(slot.hash, slot.next);
    } else {
      let p = head;
      while (p !== undefined && p.next !== slot) p = p.next;
      if (p !== undefined) p.next = slot.next;
    }
    slot.next = undefined;
  }

  private forget(slot: Slot<T>): void {
    this.remove(slot);
    if (!slot.idle) return;
    slot.idle = false;
    this.idleCount--;
    this.idleBytes -= slot.weight;
  }
}
