// Scheduled anti-entropy: every interval, pick the next replica peer (round
// robin), compare the roots of every partition both hold in one message, and
// repair up to partitionsPerRound of those that differ by exchange. A byte budget
// bounds the traffic, so repair never starves foreground requests.
import type { AeRoots, AeRootsReply } from '../codec/index.js';
import type { Startable } from '../time.js';
import { ByteBudget, sleep } from './byte-budget.js';
import type { AntiEntropyConfig } from './config.js';
import { type ExchangePeer, type ExchangeTally, runExchange } from './exchange.js';
import type { PartitionTrees } from './partition-trees.js';
import type { ExchangeStore } from './responder.js';

/** An exchange channel to one peer, with the root comparison scheduled rounds start with. */
export interface AntiEntropyPeer extends ExchangePeer {
  roots(req: AeRoots): Promise<AeRootsReply>;
}

export interface AntiEntropyOptions {
  config: AntiEntropyConfig;
  trees: PartitionTrees;
  store: ExchangeStore;
  /** Each replica peer of this node under the current ring, with the partitions both replicate. */
  shared(): ReadonlyMap<string, readonly number[]>;
  /** A channel to a peer; undefined when membership does not see it alive. */
  peer(id: string): AntiEntropyPeer | undefined;
  onError?: (err: unknown, peer: string, partition?: number) => void;
  random?: () => number;
}

export interface AntiEntropyStats {
  /** Rounds run with a peer (a round with nobody to talk to is not counted). */
  rounds: number;
  /** Partition roots compared, and how many of them differed. */
  rootsCompared: number;
  rootsDiffering: number;
  exchanges: number;
  /** Exchanges that found the roots equal by the time they ran. */
  exchangesEqual: number;
  keysListed: number;
  keysPushed: number;
  keysPulled: number;
  bytesSent: number;
  bytesReceived: number;
  /** Time exchanges waited for the byte budget. */
  throttledMs: number;
  errors: number;
  lastRoundAt: number;
}

export class AntiEntropy implements Startable {
  readonly stats: AntiEntropyStats = {
    rounds: 0,
    rootsCompared: 0,
    rootsDiffering: 0,
    exchanges: 0,
    exchangesEqual: 0,
    keysListed: 0,
    keysPushed: 0,
    keysPulled: 0,
    bytesSent: 0,
    bytesReceived: 0,
    throttledMs: 0,
    errors: 0,
    lastRoundAt: 0,
  };
  readonly budget: ByteBudget;
  private cursor = '';
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly random: () => number;

  constructor(private readonly o: AntiEntropyOptions) {
    this.budget = new ByteBudget(o.config.bytesPerSec);
    this.random = o.random ?? Math.random;
  }

  async start(): Promise<void> {
    if (this.o.config.intervalMs === 0 || this.loop !== undefined) return;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        await sleep(this.o.config.intervalMs, signal);
        if (signal.aborted) break;
        await this.round().catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.loop = undefined;
  }

  /**
   * One round: the next peer in turn, its shared roots compared, up to
   * partitionsPerRound differing partitions repaired. Resolves with the peer
   * and partitions repaired (peer '' when there was nobody to talk to).
   */
  async round(): Promise<{ peer: string; repaired: number[] }> {
    const shared = this.o.shared();
    const ids = [...shared.keys()].sort();
    // Round robin from the last peer, skipping those not reachable now.
    const start = ids.findIndex((id) => id > this.cursor);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(Math.max(0, start) + k) % ids.length]!;
      const peer = this.o.peer(id);
      if (peer === undefined) continue;
      this.cursor = id;
      this.stats.rounds++;
      this.stats.lastRoundAt = Date.now();
      return { peer: id, repaired: await this.roundWith(id, peer, shared.get(id)!) };
    }
    return { peer: '', repaired: [] };
  }

  private async roundWith(id: string, peer: AntiEntropyPeer, partitions: readonly number[]): Promise<number[]> {
    const c = this.o.config;
    const trees = this.o.trees;
    const ready = partitions.filter((p) => trees.tree(p) !== undefined);
    if (ready.length === 0) return [];
    const roots = Buffer.allocUnsafe(ready.length * 8);
    ready.forEach((p, i) => roots.writeBigUInt64LE(trees.tree(p)!.root(), i * 8));
    let reply: AeRootsReply;
    try {
      await this.budget.take(roots.length + ready.length * 2 + 16, this.abort.signal);
      reply = await peer.roots({ partitions: trees.partitions, segments: c.segments, fanout: c.fanout, partition: ready, roots });
    } catch (err) {
      this.stats.errors++;
      this.o.onError?.(err, id);
      return [];
    }
    this.stats.bytesSent += roots.length + ready.length * 2;
    this.stats.rootsCompared += ready.length;
    const mine = new Set(ready);
    const differing = reply.differing.filter((p) => mine.has(p));
    this.stats.rootsDiffering += differing.length;
    // A random subset, so that a steady trickle of differences cannot starve some partitions.
    for (let i = differing.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [differing[i], differing[j]] = [differing[j]!, differing[i]!];
    }
    const repaired: number[] = [];
    for (const p of differing.slice(0, c.partitionsPerRound)) {
      if (this.abort.signal.aborted) break;
      const tree = trees.tree(p);
      if (tree === undefined) continue;
      const waited = this.budget.waitedMs;
      try {
        const t = await runExchange({
          partition: p,
          partitions: trees.partitions,
          segments: c.segments,
          fanout: c.fanout,
          mode: 'both',
          transfer: false,
          tree,
          store: this.o.store,
          peer,
          budget: this.budget,
          maxMessageBytes: c.maxMessageBytes,
          signal: this.abort.signal,
        });
        this.count(t);
        repaired.push(p);
      } catch (err) {
        this.stats.errors++;
        this.o.onError?.(err, id, p);
      }
      this.stats.throttledMs += this.budget.waitedMs - waited;
    }
    return repaired;
  }

  private count(t: ExchangeTally): void {
    this.stats.exchanges++;
    if (t.equal) this.stats.exchangesEqual++;
    this.stats.keysListed += t.keysListed;
    this.stats.keysPushed += t.pushed;
    this.stats.keysPulled += t.pulled;
    this.stats.bytesSent += t.bytesSent;
    this.stats.bytesReceived += t.bytesReceived;
  }
}
