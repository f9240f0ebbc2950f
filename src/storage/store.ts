// The storage engine of one node: sibling sets by key, hints, the expiry index
// and metadata in one LevelDB (docs/storage.md). Writes coordinated here get dots
// from this store's actor; merges fold in state from other replicas. Every write
// goes through group commit; every read-modify-write of a key is serialised.
import { randomBytes } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import type { HintRecord, SiblingSet } from '../codec/index.js';
import { BadRequestError, ClosedError } from '../errors.js';
import { systemClock } from '../time.js';
import type { Clock } from '../time.js';
import {
  DEFAULT_MAX_CLOCK_ENTRIES,
  EMPTY_CONTEXT,
  applyWrite,
  checkSiblingSet,
  digest,
  hasLive,
  isLive,
  liveValues,
  nextCounter,
  parseContext,
  sync as syncSets,
} from '../version/index.js';
import { checkKey, checkMetaName, checkOptions, checkOwner, checkPartition, checkStaged, checkTtl, checkValue } from './checks.js';
import { CommitQueue } from './commit-queue.js';
import type { OpSink } from './commit-queue.js';
import { HintArea } from './hint-area.js';
import type { StoredHint } from './hint-area.js';
import { KeyFilter } from './key-filter.js';
import { saveFilter, takeFilter } from './filter-snapshot.js';
import { DATA, EMPTY, areaRange, dataKey, dataKeyHash, dataKeyUserKey, hashRange, metaKey, partitionRange } from './layout.js';
import { ExpirySweep } from './expiry-sweep.js';
import { ReadQueue } from './read-queue.js';
import type { ReadMode } from './read-queue.js';
import { RecordTable } from './record-table.js';
import { hintKind, siblingSetKind } from './records.js';
import { SweepLoop } from './sweep-loop.js';

/** About 300 MB of hints of 200-byte values (docs/operations.md, Hinted handoff). */
export const DEFAULT_MAX_HINTS = 1_000_000;

export interface StoreOptions {
  /** The LevelDB folder; created if missing. */
  path: string;
  /** Largest key accepted, in bytes. Default 1024. */
  maxKeyBytes?: number;
  /** Largest value accepted, in bytes. Default 1 MiB. */
  maxValueBytes?: number;
  /**
   * fsync every batch before acknowledging its writes. Default false: an
   * acknowledged write then survives a crash of the process, not of the machine.
   */
  sync?: boolean;
  /**
   * How long tombstones, and the remains of expired values, are kept so that
   * replicas that missed the delete or the expiry cannot bring older versions
   * back. Default 1 hour. Must exceed the longest time a replica can stay out of
   * sync (hint delivery, one anti-entropy round).
   */
  tombstoneGraceMs?: number;
  /**
   * How far the clocks of replicas may disagree. An expired value is discarded
   * this long after its expiry (it is invisible from the expiry on), so that a
   * replica whose clock lags never reads the emptied copy as live. Default 10 s.
   */
  clockSkewMs?: number;
  /** Period of the background sweep of the expiry index. Default 1000; 0 = none (call sweep()). */
  sweepIntervalMs?: number;
  /** Index entries a sweep handles per step. Default 1000. */
  sweepBatch?: number;
  /** Entries a key's clock keeps before pruning the oldest. Default 32. */
  maxClockEntries?: number;
  /**
   * Hints this store holds at most; a new hint beyond is refused with
   * OverloadedError (anti-entropy repairs what was not hinted). Default 1,000,000.
   */
  maxHints?: number;
  /** Bytes of recently written records kept in memory, encoded, outside the JS heap. Default 64 MiB; 0 disables. */
  cacheBytes?: number;
  /** LevelDB's block cache. Default 16 MiB. */
  blockCacheBytes?: number;
  /** LevelDB's write buffer (memtable). Default 16 MiB. */
  writeBufferBytes?: number;
  /**
   * How records are read: 'sync' (default), a synchronous LevelDB get on the
   * event loop — no thread-pool round trip, which costs far more here than a get
   * served from LevelDB's caches, but a read that goes to the disk holds the event
   * loop meanwhile; or 'batched', one getMany on the thread pool for all the reads
   * of a turn — for data much larger than memory (docs/performance.md).
   */
  reads?: ReadMode;
  /**
   * When one turn gathers many writes (32, or half the last batch) with no batch
   * being written, send those out at once and gather the rest: the disk writes
   * one part while the event loop computes the other. Default true.
   */
  splitBatches?: boolean;
  /**
   * Keep a Bloom filter of the data keys on disk (~1.25 bytes per key), so that
   * first writes of new keys and reads of absent ones skip a LevelDB lookup. After
   * open it is filled by a background scan of the keys; until that ends, every
   * lookup reads. A clean close saves it in the store's folder and the next open
   * takes it back instead of scanning, if nothing else opened the database in
   * between (filter-snapshot.ts). Default true.
   */
  keyFilter?: boolean;
  clock?: Clock;
  /**
   * Called for every change of a key's record (write, merge, sweep) as it joins a
   * batch, with the key hash and the states before and after (undefined: absent).
   * Runs synchronously on the write path: keep it cheap. Anti-entropy keeps its
   * Merkle trees current with it. It may return a digest of `after`; the store
   * keeps it with the record and hands it back as `beforeDigest` with the key's
   * next change, unless the record was read from disk in between.
   */
  onDataChange?: (keyHash: bigint, before: SiblingSet | undefined, after: SiblingSet | undefined, beforeDigest: bigint | undefined) => bigint | undefined;
}

export interface PutOptions {
  /** From an earlier get: the versions this write supersedes. Absent: none. */
  context?: Uint8Array;
  /** Time to live in ms; 0 or absent: forever. */
  ttlMs?: number;
  /**
   * Called once with the key's new state as soon as it is computed, before it
   * commits (reads do not see it until then), so that a coordinator can send it
   * to the other replicas while the local batch is written. It runs inside the
   * key's serialised update: it must not throw (a throw abandons the write, which
   * then rejects with it) and must not write to the store synchronously.
   */
  staged?: (set: SiblingSet) => void;
  /**
   * The caller hands `value` over and nobody changes it afterwards (a view of a
   * received frame): the store keeps it instead of a copy.
   */
  adopt?: boolean;
}

export interface DeleteOptions {
  context?: Uint8Array;
  /** As PutOptions.staged. */
  staged?: (set: SiblingSet) => void;
}

export interface GetResult {
  /** Live sibling values; empty when absent. Read-only views. */
  values: Buffer[];
  /** The merged causal context (covers deleted and expired versions too). */
  context: Buffer;
}

export interface ScannedRecord {
  key: Buffer;
  hash: bigint;
  set: SiblingSet;
}

export interface StoreStats {
  /** LevelDB batches written, and operations in them. */
  batches: number;
  batchOps: number;
  /** Reads of LevelDB (getMany calls, or synchronous gets) and keys they read. */
  readCalls: number;
  keysRead: number;
  /** Read-modify-writes served from the record cache, and those that read first. */
  cacheHits: number;
  loads: number;
  sweeps: number;
  /** Records changed or removed by sweeps. */
  reclaimed: number;
  sweepErrors: number;
  hints: number;
  /** New hints refused because maxHints were held. */
  hintsRefused: number;
  /**
   * The key filter (absent with keyFilter: false): ready once its scan ended (or
   * at once when restored from the last clean close), distinct keys added and its
   * bytes, lookups it answered without a read, and failed scans.
   */
  keyFilter: { ready: boolean; restored: boolean; keys: number; bytes: number; skips: number; errors: number } | undefined;
}

const ACTOR = metaKey('store.actor');
const COUNTER = metaKey('store.counter');
const RESERVED = 'store.';

function u64le(x: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32LE(x >>> 0, 0);
  b.writeUInt32LE(Math.floor(x / 0x1_0000_0000), 4);
  return b;
}

function readU64le(b: Buffer): number {
  return b.readUInt32LE(4) * 0x1_0000_0000 + b.readUInt32LE(0);
}

function copySet(s: SiblingSet): SiblingSet {
  return {
    clock: Buffer.from(s.clock),
    siblings: s.siblings.map((x) => ({ dot: Buffer.from(x.dot), value: Buffer.from(x.value), tombstone: x.tombstone, expiresAt: x.expiresAt, writtenAt: x.writtenAt })),
  };
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** s itself when all its bytes are Buffers (what the store hands out), else copySet(s). */
function adoptSet(s: SiblingSet): SiblingSet {
  if (!Buffer.isBuffer(s.clock)) return copySet(s);
  for (const x of s.siblings) if (!Buffer.isBuffer(x.dot) || !Buffer.isBuffer(x.value)) return copySet(s);
  return s;
}

export class Store {
  /** The identity that coordinates this store's writes: random, persisted at creation. */
  readonly actor: bigint;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly graceMs: number;
  private readonly skewMs: number;
  private readonly maxClockEntries: number;
  private readonly clock: Clock;
  private readonly queue: CommitQueue;
  private readonly reads: ReadQueue;
  private readonly data: RecordTable<SiblingSet>;
  private readonly hintTable: RecordTable<HintRecord>;
  private readonly hints: HintArea;
  private readonly expiry: ExpirySweep;
  private readonly loop: SweepLoop | undefined;
  private readonly filter: KeyFilter | undefined;
  /** The filter came from the last clean close (no scan after this open). */
  private readonly filterRestored: boolean;
  private readonly path: string;
  private filling: Promise<void> = Promise.resolve();
  private lastCounter: number;
  private savedCounter: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counts = { sweeps: 0, reclaimed: 0, sweepErrors: 0, filterErrors: 0 };

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    options: StoreOptions,
    actor: bigint,
    counter: number,
    savedFilter: KeyFilter | undefined,
  ) {
    this.path = options.path;
    this.actor = actor;
    this.lastCounter = this.savedCounter = counter;
    this.maxKeyBytes = options.maxKeyBytes ?? 1024;
    this.maxValueBytes = options.maxValueBytes ?? 1024 * 1024;
    this.graceMs = options.tombstoneGraceMs ?? 3_600_000;
    this.skewMs = options.clockSkewMs ?? 10_000;
    this.maxClockEntries = options.maxClockEntries ?? DEFAULT_MAX_CLOCK_ENTRIES;
    this.clock = options.clock ?? systemClock;
    this.queue = new CommitQueue(db, { sync: options.sync ?? false, beforeWrite: this.saveCounter, split: options.splitBatches ?? true });
    this.reads = new ReadQueue(db, options.reads ?? 'sync');
    const onChange = options.onDataChange;
    const observe =
      onChange &&
      ((dbKey: Buffer, before: SiblingSet | undefined, after: SiblingSet | undefined, beforeDigest: bigint | undefined) =>
        onChange(dataKeyHash(dbKey), before, after, beforeDigest));
    this.filter = options.keyFilter === false ? undefined : (savedFilter ?? new KeyFilter());
    this.filterRestored = this.filter !== undefined && this.filter === savedFilter;
    this.data = new RecordTable(siblingSetKind(this.graceMs, this.skewMs, observe), this.queue, this.reads, options.cacheBytes ?? 64 * 1024 * 1024, this.filter);
    this.hintTable = new RecordTable(hintKind, this.queue, this.reads, Math.min(options.cacheBytes ?? 4 * 1024 * 1024, 4 * 1024 * 1024));
    this.hints = new HintArea(db, this.hintTable, options.maxHints ?? DEFAULT_MAX_HINTS);
    this.expiry = new ExpirySweep(db, this.data, this.queue, { graceMs: this.graceMs, skewMs: this.skewMs }, options.sweepBatch ?? 1000);
    const interval = options.sweepIntervalMs ?? 1000;
    if (interval > 0) {
      this.loop = new SweepLoop(() => this.sweep(), interval, () => this.counts.sweepErrors++);
      void this.loop.start();
    }
  }

  /** Opens (creating if needed) the store at options.path. */
  static async open(options: StoreOptions): Promise<Store> {
    if (typeof options?.path !== 'string' || options.path === '') throw new BadRequestError('path must be a non-empty string');
    for (const name of ['maxKeyBytes', 'maxValueBytes', 'tombstoneGraceMs', 'clockSkewMs', 'sweepIntervalMs', 'cacheBytes', 'maxHints'] as const) {
      const v = options[name];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new BadRequestError(`${name} must be a non-negative integer`);
    }
    if (options.reads !== undefined && options.reads !== 'sync' && options.reads !== 'batched') {
      throw new BadRequestError("reads must be 'sync' or 'batched'");
    }
    for (const name of ['sweepBatch', 'maxClockEntries', 'blockCacheBytes', 'writeBufferBytes'] as const) {
      const v = options[name];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new BadRequestError(`${name} must be a positive integer`);
    }
    // Taken (and deleted) before LevelDB opens, whether or not this store uses it.
    const savedFilter = await takeFilter(options.path);
    const db = new ClassicLevel<Buffer, Buffer>(options.path, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      cacheSize: options.blockCacheBytes ?? 16 * 1024 * 1024,
      writeBufferSize: options.writeBufferBytes ?? 16 * 1024 * 1024,
    });
    await db.open();
    try {
      let actor = await db.get(ACTOR);
      if (actor === undefined || actor.length !== 8) {
        actor = randomBytes(8);
        await db.put(ACTOR, actor, { sync: true });
      }
      const counter = await db.get(COUNTER);
      const store = new Store(db, options, actor.readBigUInt64LE(0), counter?.length === 8 ? readU64le(counter) : 0, savedFilter);
      store.hints.count = await store.hints.countStored();
      store.startFilter();
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  // ------------------------------------------------------------------ data

  /** The live values of key and the context to write over them. */
  get(key: Uint8Array): Promise<GetResult> {
    try {
      this.checkOpen();
      const dbKey = dataKey(checkKey(key, this.maxKeyBytes));
      return this.data.read(dbKey).then(this.toResult);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private readonly toResult = (set: SiblingSet | undefined): GetResult => ({
    values: liveValues(set, this.clock.now()),
    context: set === undefined ? Buffer.from(EMPTY_CONTEXT) : asBuffer(set.clock),
  });

  /** The committed state of key, tombstones and expired versions included (for replication). */
  async getSet(key: Uint8Array): Promise<SiblingSet | undefined> {
    this.checkOpen();
    const dbKey = dataKey(checkKey(key, this.maxKeyBytes));
    return this.data.read(dbKey);
  }

  /**
   * Writes value as a new version coordinated by this store: it supersedes the
   * versions options.context covers and becomes a sibling of the others. Resolves
   * with the key's state once it has committed.
   */
  put(key: Uint8Array, value: Uint8Array, options?: PutOptions): Promise<SiblingSet> {
    try {
      this.checkOpen();
      checkKey(key, this.maxKeyBytes);
      checkValue(value, this.maxValueBytes);
      const o = checkOptions<PutOptions>(options);
      const context = parseContext(o?.context);
      const ttl = checkTtl(o?.ttlMs);
      const staged = checkStaged(o?.staged);
      const copy = o?.adopt === true ? asBuffer(value) : Buffer.from(value);
      const dbKey = dataKey(key);
      return this.data.update(dbKey, (cur) => this.write(cur, context, copy, false, ttl, staged)) as Promise<SiblingSet>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes a tombstone version: a delete of what options.context covers. */
  async delete(key: Uint8Array, options?: DeleteOptions): Promise<SiblingSet> {
    this.checkOpen();
    checkKey(key, this.maxKeyBytes);
    const o = checkOptions<DeleteOptions>(options);
    const context = parseContext(o?.context);
    const staged = checkStaged(o?.staged);
    const dbKey = dataKey(key);
    return this.data.update(dbKey, (cur) => this.write(cur, context, EMPTY, true, 0, staged)) as Promise<SiblingSet>;
  }

  /**
   * Gives every live version of key a new time to live (0: forever), by writing
   * each again under a new dot so that the change wins over older copies anywhere.
   * Resolves with the new state, or undefined when nothing was live.
   */
  async touch(key: Uint8Array, ttlMs: number): Promise<SiblingSet | undefined> {
    this.checkOpen();
    checkKey(key, this.maxKeyBytes);
    const ttl = checkTtl(ttlMs);
    const dbKey = dataKey(key);
    let touched = false;
    const set = await this.data.update(dbKey, (cur) => {
      const now = this.clock.now();
      if (cur === undefined || !hasLive(cur, now)) return cur;
      touched = true;
      let next = cur;
      for (const s of cur.siblings) if (isLive(s, now)) next = this.write(next, cur.clock, s.value, false, ttl);
      return next;
    });
    return touched ? set : undefined;
  }

  /**
   * Folds another replica's state of key into this one (the sync join):
   * idempotent, commutative, associative. BadRequestError/TooLargeError for a
   * malformed set; nothing is written then. Resolves with the merged state
   * (undefined when nothing is left: a set without siblings is not stored).
   */
  merge(key: Uint8Array, remote: SiblingSet): Promise<SiblingSet | undefined> {
    return this.mergeKept(key, remote, copySet);
  }

  /**
   * merge, keeping the set's buffers instead of copies: for a set nobody changes
   * afterwards (a view of a received frame, as replica writes are). Four copies
   * per replica write otherwise.
   */
  mergeAdopting(key: Uint8Array, remote: SiblingSet): Promise<SiblingSet | undefined> {
    return this.mergeKept(key, remote, adoptSet);
  }

  /** merge, keeping what `keep` makes of the checked set. */
  private mergeKept(key: Uint8Array, remote: SiblingSet, keep: (s: SiblingSet) => SiblingSet): Promise<SiblingSet | undefined> {
    try {
      this.checkOpen();
      checkKey(key, this.maxKeyBytes);
      const set = keep(checkSiblingSet(remote, this.maxValueBytes));
      const dbKey = dataKey(key);
      return this.data.update(dbKey, (cur) => {
        const next = syncSets(cur, set);
        // No sibling left: every version was superseded and reclaimed elsewhere.
        return next !== undefined && next.siblings.length === 0 ? undefined : next;
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private write(
    cur: SiblingSet | undefined,
    context: Uint8Array,
    value: Uint8Array,
    tombstone: boolean,
    ttlMs: number,
    staged?: (set: SiblingSet) => void,
  ): SiblingSet {
    const now = this.clock.now();
    const counter = nextCounter(this.lastCounter, now, this.actor, cur?.clock ?? EMPTY_CONTEXT, context);
    const next = applyWrite(
      cur,
      { actor: this.actor, counter, context, value, tombstone, expiresAt: ttlMs > 0 ? now + ttlMs : 0, writtenAt: now },
      this.maxClockEntries,
    );
    staged?.(next);
    // Only a write that goes ahead uses up its counter.
    this.lastCounter = counter;
    return next;
  }

  // Every batch carries the counter high-water mark, so a restart never reissues a dot.
  private readonly saveCounter = (sink: OpSink): void => {
    if (this.lastCounter > this.savedCounter) {
      sink.put(COUNTER, u64le(this.lastCounter));
      this.savedCounter = this.lastCounter;
    }
  };

  // ------------------------------------------------------------------ iteration

  /** The committed records of one partition (of q), in hash order. */
  scanPartition(partition: number, q: number): AsyncGenerator<ScannedRecord> {
    this.checkOpen();
    checkPartition(partition, q);
    const r = partitionRange(partition, q);
    return this.scan(r.gte, r.lt);
  }

  /** The committed records with start <= hash < end (end up to 2^64), in hash order. */
  scanHashRange(start: bigint, end: bigint): AsyncGenerator<ScannedRecord> {
    this.checkOpen();
    if (typeof start !== 'bigint' || typeof end !== 'bigint' || start < 0n || end > 1n << 64n || start > end) {
      throw new RangeError('need 0 <= start <= end <= 2^64');
    }
    if (start === end) return this.scan(EMPTY, EMPTY);
    const r = hashRange(start, end);
    return this.scan(r.gte, r.lt);
  }

  /**
   * (keyHash, digest) of every record of one partition, interleaved, in hash
   * order: what merkleBuild takes.
   */
  async partitionDigests(partition: number, q: number): Promise<BigUint64Array> {
    this.checkOpen();
    checkPartition(partition, q);
    const r = partitionRange(partition, q);
    let out = new BigUint64Array(2048);
    let n = 0;
    const it = this.db.iterator({ gte: r.gte, lt: r.lt });
    try {
      for (;;) {
        const entries = await it.nextv(512);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          if (n + 2 > out.length) {
            const grown = new BigUint64Array(out.length * 2);
            grown.set(out);
            out = grown;
          }
          out[n++] = dataKeyHash(k);
          out[n++] = digest(this.data.decode(v, k));
        }
      }
    } finally {
      await it.close();
    }
    return out.slice(0, n);
  }

  private async *scan(gte: Buffer, lt: Buffer): AsyncGenerator<ScannedRecord> {
    if (gte.length === 0) return;
    const it = this.db.iterator({ gte, lt });
    try {
      for (;;) {
        const entries = await it.nextv(256);
        if (entries.length === 0) return;
        for (const [k, v] of entries) yield { key: dataKeyUserKey(k), hash: dataKeyHash(k), set: this.data.decode(v, k) };
      }
    } finally {
      await it.close();
    }
  }

  // ------------------------------------------------------------------ hints

  /** Stores set as a hint for owner (merging with a hint already held for owner and key). */
  async putHint(owner: string, key: Uint8Array, set: SiblingSet): Promise<HintRecord> {
    this.checkOpen();
    const o = checkOwner(owner);
    checkKey(key, this.maxKeyBytes);
    const s = copySet(checkSiblingSet(set, this.maxValueBytes));
    return this.hints.put(o, key, s, this.clock.now());
  }

  /** owner's committed hint for key (its merged set), or undefined. */
  async getHint(owner: string, key: Uint8Array): Promise<SiblingSet | undefined> {
    this.checkOpen();
    const o = checkOwner(owner);
    checkKey(key, this.maxKeyBytes);
    return this.hints.get(o, key);
  }

  /** owner's committed hints, at most limit of them. */
  scanHints(owner: string, limit = Infinity): AsyncGenerator<StoredHint> {
    this.checkOpen();
    return this.hints.scan(checkOwner(owner), limit);
  }

  /**
   * Deletes owner's hint for key; with ifDigest (from scanHints), only if the hint
   * has not changed since. Resolves true if it deleted one.
   */
  async deleteHint(owner: string, key: Uint8Array, ifDigest?: bigint): Promise<boolean> {
    this.checkOpen();
    const o = checkOwner(owner);
    checkKey(key, this.maxKeyBytes);
    if (ifDigest !== undefined && typeof ifDigest !== 'bigint') throw new BadRequestError('ifDigest must be a bigint');
    return this.hints.delete(o, key, ifDigest);
  }

  /** Hints held (those whose batch is still being written included). */
  hintCount(): number {
    return this.hints.count;
  }

  /** Owners with committed hints. */
  async hintOwners(): Promise<string[]> {
    this.checkOpen();
    return this.hints.owners();
  }

  // ------------------------------------------------------------------ metadata

  /** A named metadata value (node id, incarnation, ring state...), or undefined. */
  async getMeta(name: string): Promise<Buffer | undefined> {
    this.checkOpen();
    return this.db.get(metaKey(checkMetaName(name)));
  }

  /** Stores a named metadata value; names starting with "store." are the store's own. */
  async putMeta(name: string, value: Uint8Array): Promise<void> {
    this.checkOpen();
    const k = metaKey(this.checkUserMetaName(name));
    if (!(value instanceof Uint8Array)) throw new BadRequestError('metadata value must be a Buffer or Uint8Array');
    await this.queue.raw(k, Buffer.from(value)).done;
  }

  async deleteMeta(name: string): Promise<void> {
    this.checkOpen();
    await this.queue.raw(metaKey(this.checkUserMetaName(name)), undefined).done;
  }

  private checkUserMetaName(name: string): string {
    checkMetaName(name);
    if (name.startsWith(RESERVED)) throw new BadRequestError(`metadata names starting with "${RESERVED}" are reserved`);
    return name;
  }

  // ------------------------------------------------------------------ TTL and GC

  /**
   * Reclaims what is due at `now`: for every expiry-index entry filed at or
   * before now, re-reads the record and drops expired values, tombstones and
   * expired remains past the grace period, deleting records left empty. Never
   * touches a live version. Resolves with the number of records changed.
   */
  async sweep(now: number = this.clock.now()): Promise<number> {
    this.checkOpen();
    const changed = await this.expiry.run(now);
    this.counts.sweeps++;
    this.counts.reclaimed += changed;
    return changed;
  }

  // ------------------------------------------------------------------ lifecycle

  private startFilter(): void {
    const f = this.filter;
    if (f === undefined || f.ready) return; // none, or restored from the last clean close
    // A failed scan leaves the filter not ready: every lookup keeps reading.
    this.filling = f.fill(this.db, areaRange(DATA), () => this.closed).catch(() => {
      this.counts.filterErrors++;
    });
  }

  /** Resolves once the key filter's scan has ended (ready, failed, or stopped by close). */
  keyFilterFilled(): Promise<void> {
    return this.filling;
  }

  get stats(): StoreStats {
    return {
      batches: this.queue.batches,
      batchOps: this.queue.ops,
      readCalls: this.reads.calls,
      keysRead: this.reads.keysRead,
      cacheHits: this.data.cacheHits + this.hintTable.cacheHits,
      loads: this.data.loads + this.hintTable.loads,
      sweeps: this.counts.sweeps,
      reclaimed: this.counts.reclaimed,
      sweepErrors: this.counts.sweepErrors,
      hints: this.hints.count,
      hintsRefused: this.hints.refused,
      keyFilter:
        this.filter === undefined
          ? undefined
          : { ready: this.filter.ready, restored: this.filterRestored, ...this.filter.size, skips: this.filter.skips, errors: this.counts.filterErrors },
    };
  }

  /**
   * The data records' cache: entries, the bytes they take in its ring, and the
   * memory the ring has taken so far (docs/storage.md).
   */
  cacheFootprint(): { records: number; bytes: number; backingBytes: number } {
    return { ...this.data.cached, backingBytes: this.data.backingBytes() };
  }

  /** Forgets the record cache, so that the next updates read from LevelDB (for tests). */
  dropCache(): void {
    this.data.dropCache();
    this.hintTable.dropCache();
  }

  /**
   * Stops the sweep, waits for every write already accepted to commit, and closes
   * LevelDB. Later calls fail with ClosedError. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    await this.loop?.stop();
    await this.filling;
    // Reads finishing may start updates, and updates may read: settle both.
    for (let i = 0; i < 1000; i++) {
      await this.reads.idle();
      await this.queue.idle();
      if (this.data.active === 0 && this.hintTable.active === 0) break;
      await new Promise((r) => setImmediate(r));
    }
    await this.db.close();
    if (this.filter?.ready === true) await saveFilter(this.path, this.filter);
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the store is closed');
  }
}

