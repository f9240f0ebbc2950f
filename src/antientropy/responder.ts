// The answering side of an exchange: roots, a whole tree, key listings and
// version shipping, served from this node's trees and store. Every request is
// checked before anything is read or written; bad input gets BadRequestError,
// too many concurrent exchanges get OverloadedError.
import type {
  AeEntry,
  AeKeys,
  AeKeysReply,
  AeRoots,
  AeRootsReply,
  AeSync,
  AeSyncReply,
  AeTree,
  AeTreeReply,
  SiblingSet,
} from '../codec/index.js';
import { BadRequestError, OverloadedError, UnavailableError } from '../errors.js';
import type { Body } from '../transport/index.js';
import { native } from '../native.js';
import { checkSiblingSet, digest } from '../version/index.js';
import type { PartitionTrees } from './partition-trees.js';
import { type RangeScan, partitionBounds, scanSegments } from './segment-scan.js';

/** The store operations an exchange needs (src/storage's Store fits). */
export interface ExchangeStore {
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  scanHashRange: RangeScan;
  getSet(key: Uint8Array): Promise<SiblingSet | undefined>;
  merge(key: Uint8Array, set: SiblingSet): Promise<SiblingSet | undefined>;
}

export interface ResponderOptions {
  trees: PartitionTrees;
  store: ExchangeStore;
  segments: number;
  fanout: number;
  maxMessageBytes: number;
  maxInbound: number;
  /**
   * Whether `peer` may run a transfer exchange for `partition` now: only while
   * this node forwards that partition's writes to it, so nothing written after
   * the transfer read a key can be missed.
   */
  mayTransfer(peer: string, partition: number): boolean;
}

export interface ResponderStats {
  requests: number;
  overloaded: number;
  keysListed: number;
  keysMerged: number;
  keysSent: number;
}

/** Approximate wire size of one entry (key, clock, siblings and their values). */
export function entryBytes(key: Uint8Array, set: SiblingSet): number {
  let n = key.length + set.clock.length + 8;
  for (const s of set.siblings) n += s.value.length + s.dot.length + 24;
  return n;
}

export class ExchangeResponder {
  readonly stats: ResponderStats = { requests: 0, overloaded: 0, keysListed: 0, keysMerged: 0, keysSent: 0 };
  private inbound = 0;

  constructor(private readonly o: ResponderOptions) {}

  /**
   * Serves an anti-entropy request of the RPC protocol (aeRoots, aeTree, aeKeys,
   * aeSync) from peer; undefined for any other kind, which the caller routes.
   */
  serve(req: Body, peer: string): Promise<Body> | undefined {
    switch (req.kind) {
      case 'aeRoots':
        return settle(() => ({ kind: 'aeRootsReply', value: this.roots(req.value) }));
      case 'aeTree':
        return settle(() => ({ kind: 'aeTreeReply', value: this.tree(req.value, peer) }));
      case 'aeKeys':
        return this.keys(req.value).then((value) => ({ kind: 'aeKeysReply', value }));
      case 'aeSync':
        return this.sync(req.value).then((value) => ({ kind: 'aeSyncReply', value }));
      default:
        return undefined;
    }
  }

  roots(req: AeRoots): AeRootsReply {
    this.stats.requests++;
    this.checkShape(req.partitions, req.segments, req.fanout);
    if (req.roots.length !== req.partition.length * 8) throw new BadRequestError('roots must hold 8 bytes per partition');
    const roots = Buffer.from(req.roots.buffer, req.roots.byteOffset, req.roots.length);
    const differing: number[] = [];
    const unknown: number[] = [];
    req.partition.forEach((p, i) => {
      this.checkPartition(p, req.partitions);
      const t = this.o.trees.tree(p);
      if (t === undefined) unknown.push(p);
      else if (t.root() !== roots.readBigUInt64LE(i * 8)) differing.push(p);
    });
    return { differing, unknown };
  }

  tree(req: AeTree, peer: string): AeTreeReply {
    this.stats.requests++;
    this.checkShape(req.partitions, req.segments, req.fanout);
    this.checkPartition(req.partition, req.partitions);
    if (req.root.length !== 8) throw new BadRequestError('root must be 8 bytes');
    if (req.transfer && !this.o.mayTransfer(peer, req.partition)) {
      throw new UnavailableError(`not yet forwarding partition ${req.partition} to ${peer || 'this peer'}: retry after the ring change reaches this node`);
    }
    const t = this.o.trees.tree(req.partition);
    if (t === undefined) throw new UnavailableError(`no tree for partition ${req.partition} here (not held, or still building)`);
    if (t.root() === Buffer.from(req.root).readBigUInt64LE(0)) return { equal: true, tree: Buffer.alloc(0) };
    return { equal: false, tree: t.serialize() };
  }

  async keys(req: AeKeys): Promise<AeKeysReply> {
    this.stats.requests++;
    this.checkShape(req.partitions, req.segments, this.o.fanout);
    this.checkPartition(req.partition, req.partitions);
    if (req.segmentBits.length !== Math.ceil(this.o.segments / 8)) throw new BadRequestError(`segment_bits must be ${Math.ceil(this.o.segments / 8)} bytes`);
    if (req.after.length !== 0 && req.after.length !== 8) throw new BadRequestError('after must be empty or 8 bytes');
    const { start, end } = partitionBounds(req.partition, req.partitions);
    const from = req.after.length === 8 ? Buffer.from(req.after).readBigUInt64BE(0) + 1n : start;
    if (from < start || from > end) throw new BadRequestError('after lies outside the partition');
    const maxBytes = Math.min(Math.max(req.maxBytes || this.o.maxMessageBytes, 4096), this.o.maxMessageBytes);
    return this.limited(async () => {
      const list = await scanSegments((s, e) => this.o.store.scanHashRange(s, e), from, end, this.o.segments, req.segmentBits, maxBytes);
      const digests = Buffer.allocUnsafe(list.entries.length * 8);
      list.entries.forEach((e, i) => digests.writeBigUInt64LE(e.digest, i * 8));
      this.stats.keysListed += list.entries.length;
      const last = Buffer.allocUnsafe(8);
      last.writeBigUInt64BE(list.last);
      return { keys: list.entries.map((e) => e.key), digests, more: list.more, last };
    });
  }

  async sync(req: AeSync): Promise<AeSyncReply> {
    this.stats.requests++;
    const q = req.partitions;
    if (!Number.isInteger(q) || q < 1 || q > 65536 || (q & (q - 1)) !== 0 || q !== this.o.trees.partitions) {
      throw new BadRequestError(`partitions must be this ring's ${this.o.trees.partitions}, got ${q}`);
    }
    this.checkPartition(req.partition, q);
    // Check everything before merging anything.
    const push = req.push.map((e, i) => {
      const key = this.checkKey(e.key, req.partition, q, `push ${i}`);
      return { key, set: checkSiblingSet(e.set, this.o.store.maxValueBytes) };
    });
    const pull = req.pull.map((k, i) => this.checkKey(k, req.partition, q, `pull ${i}`));
    // A single pushed version is a write forwarded during a ring change: as cheap as
    // a replica write, and refusing it would only turn it into a hint.
    const run = pull.length === 0 && push.length <= 1 ? (fn: () => Promise<AeSyncReply>) => fn() : (fn: () => Promise<AeSyncReply>) => this.limited(fn);
    return run(async () => {
      const merged = await Promise.all(push.map((e) => this.o.store.merge(e.key, e.set)));
      this.stats.keysMerged += push.length;
      // A pushed key whose merge left exactly the pushed state: the sender has it already.
      const settled = new Set<string>();
      push.forEach((e, i) => {
        const m = merged[i];
        if (m !== undefined && digest(m) === digest(e.set)) settled.add(e.key.toString('latin1'));
      });
      const entries: AeEntry[] = [];
      let bytes = 0;
      let answered = 0;
      const sets = await Promise.all(pull.map((k) => this.o.store.getSet(k)));
      for (let i = 0; i < pull.length; i++) {
        const set = sets[i];
        if (set !== undefined && !settled.has(pull[i]!.toString('latin1'))) {
          const n = entryBytes(pull[i]!, set);
          if (bytes + n > this.o.maxMessageBytes && entries.length > 0) break;
          bytes += n;
          entries.push({ key: pull[i]!, set });
        }
        answered++;
      }
      this.stats.keysSent += entries.length;
      return { entries, answered };
    });
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inbound >= this.o.maxInbound) {
      this.stats.overloaded++;
      throw new OverloadedError('too many anti-entropy exchanges in progress here; retry later');
    }
    this.inbound++;
    try {
      return await fn();
    } finally {
      this.inbound--;
    }
  }

  private checkShape(q: number, segments: number, fanout: number): void {
    if (q !== this.o.trees.partitions) throw new BadRequestError(`partitions must be this ring's ${this.o.trees.partitions}, got ${q}`);
    if (segments !== this.o.segments || fanout !== this.o.fanout) {
      throw new BadRequestError(`tree shape must be ${this.o.segments} segments, fanout ${this.o.fanout}; got ${segments}, ${fanout}`);
    }
  }

  private checkPartition(p: number, q: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= q) throw new BadRequestError(`partition ${p} is out of range 0..${q - 1}`);
  }

  private checkKey(key: Uint8Array, p: number, q: number, what: string): Buffer {
    if (!(key instanceof Uint8Array) || key.length === 0 || key.length > this.o.store.maxKeyBytes) {
      throw new BadRequestError(`${what}: a key must be 1 to ${this.o.store.maxKeyBytes} bytes`);
    }
    if (native.partitionOf(key, q) !== p) throw new BadRequestError(`${what}: the key is not in partition ${p}`);
    return Buffer.from(key);
  }
}

/** fn's result, or its throw (a bad request) as a rejection, as the RPC handler expects. */
function settle(fn: () => Body): Promise<Body> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
