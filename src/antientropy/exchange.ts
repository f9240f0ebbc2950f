// One exchange of one partition with one peer, from the side that starts it:
// compare roots; if they differ, fetch the peer's tree and find the differing
// segments; list the peer's keys and digests in those segments (paged, in hash
// order) next to this node's own; ship only the keys whose versions differ, both
// ways, merged with the storage join so siblings survive. Traffic is proportional
// to the differences, not to the data. Running it again after an interruption
// ships only what is still missing, which is what makes transfers resumable.
import type { AeEntry, AeKeysReply, AeSyncReply, AeTreeReply, AeKeys, AeSync, AeTree, SiblingSet } from '../codec/index.js';
import { BadRequestError, ClosedError } from '../errors.js';
import { type MerkleTree, native } from '../native.js';
import type { ByteBudget } from './byte-budget.js';
import { type ExchangeStore, entryBytes } from './responder.js';
import { partitionBounds, scanSegments, segmentBits, u64be } from './segment-scan.js';

/** The requests of an exchange, sent to one peer (over RPC in a node). */
export interface ExchangePeer {
  tree(req: AeTree): Promise<AeTreeReply>;
  keys(req: AeKeys): Promise<AeKeysReply>;
  sync(req: AeSync): Promise<AeSyncReply>;
}

/** both: repair both sides; pull: only fetch into this node (transfer); push: only send (before dropping a partition). */
export type ExchangeMode = 'both' | 'pull' | 'push';

export interface ExchangeOptions {
  partition: number;
  /** Q of the ring. */
  partitions: number;
  segments: number;
  fanout: number;
  mode: ExchangeMode;
  /** An ownership transfer: the peer checks it forwards this partition's writes here. */
  transfer: boolean;
  /** This node's tree of the partition. */
  tree: MerkleTree;
  store: ExchangeStore;
  peer: ExchangePeer;
  budget: ByteBudget;
  maxMessageBytes: number;
  signal?: AbortSignal;
}

export interface ExchangeTally {
  /** Roots matched: nothing was listed or shipped. */
  equal: boolean;
  segments: number;
  /** Keys the peer listed in differing segments. */
  keysListed: number;
  pushed: number;
  pulled: number;
  bytesSent: number;
  bytesReceived: number;
}

const PULL_BATCH = 256;

export async function runExchange(o: ExchangeOptions): Promise<ExchangeTally> {
  const tally: ExchangeTally = { equal: false, segments: 0, keysListed: 0, pushed: 0, pulled: 0, bytesSent: 0, bytesReceived: 0 };
  const q = o.partitions;
  const p = o.partition;
  const send = async (n: number) => {
    if (!(await o.budget.take(n, o.signal))) throw new ClosedError('exchange stopped');
    tally.bytesSent += n;
  };
  const received = (n: number) => {
    o.budget.charge(n);
    tally.bytesReceived += n;
  };

  const root = Buffer.allocUnsafe(8);
  root.writeBigUInt64LE(o.tree.root());
  await send(32);
  const t = await o.peer.tree({ partitions: q, partition: p, segments: o.segments, fanout: o.fanout, root, transfer: o.transfer });
  received(8 + t.tree.length);
  if (t.equal) {
    tally.equal = true;
    return tally;
  }
  const diff = native.merkleDiff(o.tree.serialize(), t.tree);
  tally.segments = diff.length;
  if (diff.length === 0) return tally;
  const bits = segmentBits(o.segments, diff);
  const { start, end } = partitionBounds(p, q);

  for (let from = start; ; ) {
    await send(48 + bits.length);
    const page = await o.peer.keys({
      partitions: q,
      partition: p,
      segments: o.segments,
      segmentBits: bits,
      after: from === start ? Buffer.alloc(0) : u64be(from - 1n),
      maxBytes: o.maxMessageBytes,
    });
    if (page.digests.length !== page.keys.length * 8) throw new BadRequestError('key listing: digests do not match keys');
    received(page.digests.length + page.keys.reduce((s, k) => s + k.length + 2, 0));
    tally.keysListed += page.keys.length;
    const upTo = page.more ? Buffer.from(page.last).readBigUInt64BE(0) + 1n : end;
    if (upTo <= from || upTo > end) throw new BadRequestError('key listing: the page does not advance');

    const theirs = new Map<string, bigint>();
    const digests = Buffer.from(page.digests.buffer, page.digests.byteOffset, page.digests.length);
    page.keys.forEach((k, i) => theirs.set(Buffer.from(k).toString('latin1'), digests.readBigUInt64LE(i * 8)));
    const mine = await scanSegments((s, e) => o.store.scanHashRange(s, e), from, upTo, o.segments, bits);
    const push: AeEntry[] = [];
    const pull: Buffer[] = [];
    for (const e of mine.entries) {
      const id = e.key.toString('latin1');
      const d = theirs.get(id);
      theirs.delete(id);
      if (d === e.digest) continue;
      if (o.mode !== 'pull') push.push({ key: e.key, set: e.set });
      if (d !== undefined && o.mode !== 'push') pull.push(e.key);
    }
    if (o.mode !== 'push') for (const id of theirs.keys()) pull.push(Buffer.from(id, 'latin1'));
    await ship(o, push, pull, send, received, tally);
    if (!page.more) break;
    from = upTo;
  }
  return tally;
}

/** Sends `push` and fetches `pull` in messages under the size bound; merges what comes back. */
async function ship(
  o: ExchangeOptions,
  push: AeEntry[],
  pull: Buffer[],
  send: (n: number) => Promise<void>,
  received: (n: number) => void,
  tally: ExchangeTally,
): Promise<void> {
  let i = 0;
  let j = 0;
  while (i < push.length || j < pull.length) {
    const out: AeEntry[] = [];
    let bytes = 0;
    while (i < push.length) {
      const e = push[i]!;
      const n = entryBytes(e.key, e.set as SiblingSet);
      if (out.length > 0 && bytes + n > o.maxMessageBytes) break;
      out.push(e);
      bytes += n;
      i++;
    }
    const ask = pull.slice(j, j + PULL_BATCH);
    bytes += ask.reduce((s, k) => s + k.length + 2, 0);
    await send(bytes + 16);
    const reply = await o.peer.sync({ partitions: o.partitions, partition: o.partition, push: out, pull: ask });
    tally.pushed += out.length;
    if (ask.length > 0 && (reply.answered < 1 || reply.answered > ask.length)) throw new BadRequestError('version shipping: the reply answers none of the keys asked');
    j += ask.length > 0 ? reply.answered : 0;
    const asked = new Set(ask.map((k) => k.toString('latin1')));
    let inBytes = 0;
    const merges: Array<Promise<unknown>> = [];
    for (const e of reply.entries) {
      if (e.set == null || !asked.has(Buffer.from(e.key).toString('latin1'))) throw new BadRequestError('version shipping: the reply holds a key that was not asked for');
      inBytes += entryBytes(e.key, e.set);
      merges.push(o.store.merge(Buffer.from(e.key), e.set));
    }
    received(inBytes);
    await Promise.all(merges);
    tally.pulled += reply.entries.length;
  }
}
