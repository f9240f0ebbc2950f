// One Merkle tree per partition this node holds, over (key hash, version digest).
// Trees are built in bulk from disk (LevelDB iterated by partition, the hashing
// done off the main thread by the addon), kept current by the store's change
// observer, and rebuilt from disk on a long period to catch anything an
// incremental update missed (a batch that failed after its changes were observed).
import type { SiblingSet } from '../codec/index.js';
import { type MerkleTree, native } from '../native.js';
import { digest } from '../version/index.js';

/** Where trees are built from: the store's (keyHash, digest) pairs of one partition, in hash order. */
export type DigestSource = (partition: number, q: number) => Promise<BigUint64Array>;

export interface PartitionTreesOptions {
  segments: number;
  fanout: number;
  source: DigestSource;
  /** Period of the rolling rebuild (each held tree once per period); 0 = never. */
  rebuildIntervalMs: number;
  onError?: (err: unknown, partition: number) => void;
}

interface Entry {
  tree: MerkleTree | undefined;
  /** Live keys the tree covers. */
  keys: number;
  builtAt: number;
  /** While a (re)build reads the disk: the latest digest of every key changed meanwhile (null: deleted). */
  changed: Map<bigint, bigint | null> | undefined;
}

/**
 * The observer sees a change when it joins a write batch, before the batch
 * commits. A build's disk snapshot may miss a change seen shortly before the
 * build began, so the last RECENT_MAX changes are kept in a ring buffer, and
 * those of the last RECENT_MS are applied over every build's snapshot.
 */
const RECENT_MS = 2000;
const RECENT_MAX = 65_536;

/**
 * Tree changes wait in a log and go to the trees in one native call when it fills
 * or a tree is read. One call per change cost more than the change itself: the
 * crossing, and a cache miss on a random leaf of 256 trees that stalled the write
 * path, where a loop over the log overlaps the misses (docs/performance.md, round 12).
 */
const LOG_MAX = 4096;

const HASH = new BigUint64Array(1);
const HASH_WORDS = new Uint32Array(HASH.buffer);
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0; // little-endian: word 1
const ADD = 1;
const REMOVE = 2;
const UPDATE = 3;

export interface TreeStats {
  held: number;
  /** Held partitions whose tree is built. */
  ready: number;
  builds: number;
  buildErrors: number;
  /** Entries hashed into trees by builds. */
  entriesBuilt: number;
  /** Incremental updates applied from the change observer. */
  updates: number;
}

export class PartitionTrees {
  private readonly entries = new Map<number, Entry>();
  /** The last changes, a ring buffer: key hash, digest, partition (-1 - p when deleted), time. */
  private readonly recentHash = new BigUint64Array(RECENT_MAX);
  private readonly recentDigest = new BigUint64Array(RECENT_MAX);
  private readonly recentPart = new Int32Array(RECENT_MAX);
  private readonly recentTime = new Float64Array(RECENT_MAX);
  private recentNext = 0;
  private recentCount = 0;
  /** Changes not yet in their trees: partition << 2 | kind, and keyHash, old, new digest. */
  private readonly logMeta = new Uint32Array(LOG_MAX);
  private readonly logWords = new BigUint64Array(3 * LOG_MAX);
  private logCount = 0;
  /** The tree each logged change goes to, by partition (flushLog runs before one is replaced). */
  private byPart: (MerkleTree | undefined)[] = [];
  private q = 0;
  /** 32 - log2(q): a partition is the top log2(q) bits of the key hash's high word. */
  private shift = 32;
  private readonly queue: number[] = [];
  private building: Promise<void> | undefined;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private retryTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  readonly stats: TreeStats = { held: 0, ready: 0, builds: 0, buildErrors: 0, entriesBuilt: 0, updates: 0 };

  constructor(private readonly o: PartitionTreesOptions) {}

  get partitions(): number {
    return this.q;
  }

  /**
   * Sets the partitions (of q) to keep trees for: builds the new ones in the
   * background, one at a time, and forgets the others. A change of q starts over.
   */
  hold(partitions: Iterable<number>, q: number): void {
    if (this.stopped) return;
    if (q !== this.q) {
      this.entries.clear();
      this.byPart = new Array<MerkleTree | undefined>(q);
      this.logCount = 0; // their trees are gone
      this.stats.ready = 0;
      this.queue.length = 0;
      this.q = q;
      this.shift = 32 - Math.log2(q);
    }
    const want = new Set(partitions);
    for (const [p, e] of [...this.entries]) {
      if (want.has(p)) continue;
      this.entries.delete(p);
      this.byPart[p] = undefined; // its logged changes go nowhere
      if (e.tree !== undefined) this.stats.ready--;
    }
    for (const p of want) {
      if (this.entries.has(p)) continue;
      this.entries.set(p, { tree: undefined, keys: 0, builtAt: 0, changed: undefined });
      this.queue.push(p);
    }
    this.stats.held = this.entries.size;
    this.pump();
    this.armRebuild();
  }

  /** The partitions held now. */
  held(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /** The current tree of a held partition, once built, with every change so far. */
  tree(partition: number): MerkleTree | undefined {
    this.flushLog();
    return this.entries.get(partition)?.tree;
  }

  /** Live keys in a held partition's tree (0 when not built). */
  keyCount(partition: number): number {
    return this.entries.get(partition)?.keys ?? 0;
  }

  /** Whether a build is queued or running. */
  get busy(): boolean {
    return this.building !== undefined;
  }

  /** Resolves when no build is queued or running. */
  async idle(): Promise<void> {
    while (this.building !== undefined) await this.building;
  }

  /** Queues a rebuild of one held partition from disk. */
  rebuild(partition: number): void {
    if (!this.entries.has(partition) || this.queue.includes(partition)) return;
    this.queue.push(partition);
    this.pump();
  }

  /**
   * The store's change observer: keep held trees current. Cheap: a digest (two
   * when the store does not know before's) and an O(1) tree update. Returns
   * after's digest, which the store hands back as beforeDigest next time.
   */
  readonly onChange = (keyHash: bigint, before: SiblingSet | undefined, after: SiblingSet | undefined, beforeDigest?: bigint): bigint | undefined => {
    if (this.q === 0) return undefined;
    HASH[0] = keyHash; // its high word, read without a bigint shift (which allocates)
    const p = this.q === 1 ? 0 : HASH_WORDS[HIGH]! >>> this.shift;
    const e = this.entries.get(p);
    const a = after === undefined ? undefined : digest(after);
    this.remember(keyHash, p, a ?? null);
    if (e === undefined) return a;
    if (e.changed !== undefined) e.changed.set(keyHash, a ?? null);
    if (e.tree === undefined) return a;
    const b = before === undefined ? undefined : (beforeDigest ?? digest(before));
    if (b !== undefined && a !== undefined) {
      if (a !== b) this.log(p, UPDATE, keyHash, b, a);
    } else if (b !== undefined) {
      this.log(p, REMOVE, keyHash, b, 0n);
      e.keys--;
    } else if (a !== undefined) {
      this.log(p, ADD, keyHash, 0n, a);
      e.keys++;
    }
    this.stats.updates++;
    return a;
  };

  private log(p: number, kind: number, keyHash: bigint, before: bigint, after: bigint): void {
    const i = this.logCount++;
    this.logMeta[i] = (p << 2) | kind;
    this.logWords[3 * i] = keyHash;
    this.logWords[3 * i + 1] = before;
    this.logWords[3 * i + 2] = after;
    if (this.logCount === LOG_MAX) this.flushLog();
  }

  private flushLog(): void {
    if (this.logCount === 0) return;
    const n = this.logCount;
    this.logCount = 0;
    native.merkleApply(this.byPart, this.logMeta, this.logWords, n);
  }

  private remember(keyHash: bigint, p: number, d: bigint | null): void {
    const i = this.recentNext;
    this.recentHash[i] = keyHash;
    this.recentDigest[i] = d ?? 0n;
    this.recentPart[i] = d === null ? -1 - p : p;
    this.recentTime[i] = Date.now();
    this.recentNext = (i + 1) % RECENT_MAX;
    if (this.recentCount < RECENT_MAX) this.recentCount++;
  }

  /** The recent changes of partition p, oldest first, into `into` (later ones win). */
  private recentOf(p: number, into: Map<bigint, bigint | null>): void {
    const since = Date.now() - RECENT_MS;
    const n = this.recentCount;
    for (let k = 0; k < n; k++) {
      const i = (this.recentNext - n + k + RECENT_MAX) % RECENT_MAX;
      if (this.recentTime[i]! <= since) continue;
      const part = this.recentPart[i]!;
      if (part === p) into.set(this.recentHash[i]!, this.recentDigest[i]!);
      else if (part === -1 - p) into.set(this.recentHash[i]!, null);
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.logCount = 0;
    clearTimeout(this.rebuildTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.queue.length = 0;
    return this.idle();
  }

  private pump(): void {
    if (this.building !== undefined || this.stopped) return;
    const p = this.queue.shift();
    if (p === undefined) return;
    this.building = this.build(p).finally(() => {
      this.building = undefined;
      this.pump();
    });
  }

  private async build(p: number): Promise<void> {
    const e = this.entries.get(p);
    if (e === undefined) return;
    const q = this.q;
    e.changed = new Map();
    this.recentOf(p, e.changed);
    try {
      const pairs = await this.o.source(p, q);
      const tree = await native.merkleBuild(pairs, this.o.segments, this.o.fanout);
      // Dropped, re-sized or rebuilt meanwhile: this result is stale.
      if (this.entries.get(p) !== e || this.q !== q || this.stopped) return;
      let keys = pairs.length / 2;
      // Changes observed just before or while the disk was read may or may not be
      // in `pairs`: replace what the snapshot held for each such key by its latest digest.
      for (const [h, d] of e.changed) {
        const snap = lookup(pairs, h);
        if (snap !== undefined) {
          tree.remove(h, snap);
          keys--;
        }
        if (d !== null) {
          tree.add(h, d);
          keys++;
        }
      }
      if (e.tree === undefined) this.stats.ready++;
      this.flushLog(); // what is logged belongs to the tree being replaced
      e.tree = this.byPart[p] = tree;
      e.keys = keys;
      e.builtAt = Date.now();
      this.stats.builds++;
      this.stats.entriesBuilt += pairs.length / 2;
    } catch (err) {
      this.stats.buildErrors++;
      this.o.onError?.(err, p);
      // Try again later: the partition stays held and unbuilt.
      if (this.entries.get(p) === e && !this.stopped) {
        const t = setTimeout(() => {
          this.retryTimers.delete(t);
          this.rebuild(p);
        }, 1000);
        this.retryTimers.add(t);
      }
    } finally {
      e.changed = undefined;
    }
  }

  /** One tree rebuilt per tick, the oldest first, so each is rebuilt once per period. */
  private armRebuild(): void {
    if (this.rebuildTimer !== undefined || this.o.rebuildIntervalMs === 0 || this.stopped) return;
    const tick = () => {
      this.rebuildTimer = undefined;
      if (this.stopped) return;
      let oldest: number | undefined;
      let at = Infinity;
      for (const [p, e] of this.entries) {
        if (e.tree !== undefined && e.builtAt < at) {
          oldest = p;
          at = e.builtAt;
        }
      }
      if (oldest !== undefined && Date.now() - at >= this.o.rebuildIntervalMs) this.rebuild(oldest);
      this.armRebuild();
    };
    const every = Math.max(1000, Math.floor(this.o.rebuildIntervalMs / Math.max(1, this.entries.size)));
    this.rebuildTimer = setTimeout(tick, every);
    this.rebuildTimer.unref();
  }
}

/** The digest paired with keyHash in interleaved, hash-sorted pairs, or undefined. */
function lookup(pairs: BigUint64Array, keyHash: bigint): bigint | undefined {
  let lo = 0;
  let hi = pairs.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pairs[2 * mid]! < keyHash) lo = mid + 1;
    else hi = mid;
  }
  return lo < pairs.length / 2 && pairs[2 * lo] === keyHash ? pairs[2 * lo + 1] : undefined;
}
