// Serialised read-modify-write of records, over group commit. Each LevelDB key
// with work in progress has a slot holding its latest state: updates of one key
// apply in arrival order, each on top of the previous one even before it has
// committed, while reads see only committed state. When a slot's last batch has
// committed, its record (as the bytes written to LevelDB) moves into the record
// cache, a ring of bytes outside the JavaScript heap (record-arena.ts), and the
// slot is dropped; the next update of a recently written key then needs no read.
import { InternalError } from '../errors.js';
import { sameBytes } from '../version/index.js';
import type { Batch, BatchMember, CommitQueue, OpSink } from './commit-queue.js';
import type { KeyFilter } from './key-filter.js';
import { RecordArena } from './record-arena.js';
import { staysPut } from './linear-probing.js';
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

class Slot<T> implements BatchMember {
  state: T | undefined;
  /** As of the last batch this slot was written into (or as loaded). */
  written: T | undefined;
  /** As of the last committed batch (or as loaded): what reads see. */
  committed: T | undefined;
  /** The encodings of `written` and `committed` (undefined: absent). */
  writtenBytes: Buffer | undefined;
  committedBytes: Buffer | undefined;
  /** What the kind's `changed` returned when `written` was written (kept in the cache with the record). */
  memo: unknown = undefined;
  loaded = false;
  waiting: Waiter<T>[] = NO_WAITERS;
  /** The gathering batch this slot has joined, if any. */
  gathering: Batch | undefined;
  /** The latest batch holding this slot's state, until it commits. */
  last: Batch | undefined;
  /** Removed from the table (a later update of the key makes a new slot). */
  gone = false;

  constructor(
    readonly table: RecordTable<T>,
    readonly hash: number,
    readonly dbKey: Buffer,
  ) {}

  writeTo(sink: OpSink): void {
    this.table.write(this, sink);
  }

  settled(batch: Batch, err: Error | undefined): void {
    this.table.settle(this, batch, err);
  }
}

export class RecordTable<T> {
  // Slots with work in progress, by slotHash (linear probing; keys that share
  // it told apart by their bytes). Not a Map: slots come and go with every write,
  // and a Map reallocates its table as it grows and shrinks (docs/performance.md,
  // round 13). No string per lookup either (round 10).
  private cells: (Slot<T> | undefined)[] = new Array<Slot<T> | undefined>(64).fill(undefined);
  private mask = 63;
  private slotCount = 0;
  private readonly slotHash: (dbKey: Buffer) => number;
  /** Idle records; undefined with no cache. */
  private readonly cache: RecordArena | undefined;
  /** Updates served without a read, and reads made for updates. */
  cacheHits = 0;
  loads = 0;

  constructor(
    private readonly kind: RecordKind<T>,
    private readonly queue: CommitQueue,
    private readonly reads: ReadQueue,
    cacheBytes: number,
    /** Data keys on disk: a key it excludes is absent without a read. */
    private readonly filter?: KeyFilter,
  ) {
    this.slotHash = kind.slotHash?.bind(kind) ?? fnv1a;
    this.cache = cacheBytes > 0 ? new RecordArena(cacheBytes) : undefined;
  }

  /** Records with work in progress. */
  get active(): number {
    return this.slotCount;
  }

  /** Records kept in the cache, and the bytes they take there. */
  get cached(): { records: number; bytes: number } {
    return { records: this.cache?.count ?? 0, bytes: this.cache?.liveBytes ?? 0 };
  }

  /** The memory the cache has taken: the bytes of its ring written so far. */
  backingBytes(): number {
    return this.cache?.allocated ?? 0;
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
      const off = this.cache === undefined ? -1 : this.cache.find(hash, dbKey);
      if (off >= 0) {
        this.cacheHits++;
        try {
          this.loadCached(slot, off);
        } catch (err) {
          return Promise.reject(err);
        }
        this.insert(slot);
      } else if ((this.reads.isSync && !background) || this.filter?.excludes(dbKey) === true) {
        // A key the filter excludes is loaded as absent at once, in either read mode.
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
    const hash = this.slotHash(dbKey);
    const slot = this.find(hash, dbKey);
    if (slot !== undefined && slot.loaded) return Promise.resolve(slot.committed);
    const off = slot === undefined && this.cache !== undefined ? this.cache.find(hash, dbKey) : -1;
    if (off >= 0) {
      const bytes = this.cache!.recordAt(off);
      this.cache!.markUsed(off);
      try {
        return Promise.resolve(bytes === undefined ? undefined : this.decode(bytes, dbKey));
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
    this.cache?.clear();
  }

  private find(hash: number, dbKey: Buffer): Slot<T> | undefined {
    const cells = this.cells;
    for (let j = hash & this.mask; ; j = (j + 1) & this.mask) {
      const s = cells[j];
      if (s === undefined || (s.hash === hash && sameBytes(s.dbKey, dbKey))) return s;
    }
  }

  private insert(slot: Slot<T>): void {
    if (2 * (this.slotCount + 1) > this.cells.length) this.growCells();
    let j = slot.hash & this.mask;
    while (this.cells[j] !== undefined) j = (j + 1) & this.mask;
    this.cells[j] = slot;
    this.slotCount++;
  }

  private growCells(): void {
    const old = this.cells;
    this.cells = new Array<Slot<T> | undefined>(2 * old.length).fill(undefined);
    this.mask = this.cells.length - 1;
    for (const s of old) {
      if (s === undefined) continue;
      let j = s.hash & this.mask;
      while (this.cells[j] !== undefined) j = (j + 1) & this.mask;
      this.cells[j] = s;
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
   * A new slot's state from the cache (a copy: the ring reuses its bytes). The
   * entry stays, for the slot to rewrite in place when it is dropped; reads go to
   * the slot meanwhile. InternalError if it does not decode (and the entry goes).
   */
  private loadCached(slot: Slot<T>, off: number): void {
    const cache = this.cache!;
    const buf = cache.recordAt(off);
    slot.memo = cache.memoAt(off);
    let value: T | undefined;
    try {
      value = buf === undefined ? undefined : this.decode(buf, slot.dbKey);
    } catch (err) {
      cache.remove(off);
      throw err;
    }
    slot.loaded = true;
    slot.state = slot.written = slot.committed = value;
    slot.writtenBytes = slot.committedBytes = buf;
  }

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
    slot.committedBytes = slot.writtenBytes;
    if (slot.last === batch) slot.last = undefined;
    this.retire(slot);
  }

  /** Once nothing is in progress on a slot: its record goes into the cache, and the slot away. */
  private retire(slot: Slot<T>): void {
    if (!slot.loaded || slot.gathering !== undefined || slot.last !== undefined || slot.waiting.length > 0 || slot.gone) return;
    this.remove(slot);
    // Nothing in progress: committedBytes is the encoding of the state.
    const memo = slot.memo;
    this.cache?.put(slot.hash, slot.dbKey, slot.committedBytes, typeof memo === 'bigint' ? memo : undefined);
  }

  private remove(slot: Slot<T>): void {
    if (slot.gone) return;
    slot.gone = true;
    this.slotCount--;
    const cells = this.cells;
    const mask = this.mask;
    let i = slot.hash & mask;
    while (cells[i] !== slot) i = (i + 1) & mask;
    // Shift back the slots after it that probed past it (none is left unreachable).
    for (let j = (i + 1) & mask; cells[j] !== undefined; j = (j + 1) & mask) {
      if (staysPut(cells[j]!.hash & mask, i, j)) continue;
      cells[i] = cells[j];
      i = j;
    }
    cells[i] = undefined;
  }
}
