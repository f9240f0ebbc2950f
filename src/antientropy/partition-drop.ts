// Dropping partitions this node no longer replicates (after a change completes
// and its grace period ends). Before anything is deleted, a push-only exchange
// with a current replica hands over whatever only this node holds (e.g. it was
// down while the change ran), so no acknowledged write is lost. A record is
// deleted by merging "its own clock, no versions": everything the clock covers is
// dropped, and a version written meanwhile (not covered) survives.
import { ClosedError } from '../errors.js';
import { native } from '../native.js';
import type { ByteBudget } from './byte-budget.js';
import type { AntiEntropyConfig } from './config.js';
import { type ExchangePeer, runExchange } from './exchange.js';
import type { ExchangeStore } from './responder.js';
import type { ScannedRecord } from './segment-scan.js';

export interface DropStore extends ExchangeStore {
  scanPartition(partition: number, q: number): AsyncGenerator<ScannedRecord>;
  partitionDigests(partition: number, q: number): Promise<BigUint64Array>;
}

export interface DropOptions {
  config: AntiEntropyConfig;
  store: DropStore;
  budget: ByteBudget;
  /** A reachable current replica of the partition to hand its data to, or undefined. */
  replicaFor(partition: number): ExchangePeer | undefined;
}

export interface DropStats {
  partitions: number;
  keys: number;
  /** Keys handed to a replica before dropping. */
  handedOver: number;
  /** Partitions kept for now because no replica could take their data. */
  deferred: number;
}

export class PartitionDrop {
  readonly stats: DropStats = { partitions: 0, keys: 0, handedOver: 0, deferred: 0 };

  constructor(private readonly o: DropOptions) {}

  /** Whether this node holds any record of the partition. */
  async holds(partition: number, q: number): Promise<boolean> {
    const it = this.o.store.scanPartition(partition, q);
    try {
      return !(await it.next()).done;
    } finally {
      await it.return(undefined);
    }
  }

  /**
   * Hands over and drops each of `partitions` that holds data. Resolves with the
   * partitions it could not drop yet (no replica reachable, or an exchange failed).
   */
  async run(partitions: readonly number[], q: number, signal: AbortSignal): Promise<number[]> {
    const left: number[] = [];
    for (const p of partitions) {
      if (signal.aborted) throw new ClosedError('stopped');
      if (!(await this.holds(p, q))) continue;
      const peer = this.o.replicaFor(p);
      if (peer === undefined) {
        this.stats.deferred++;
        left.push(p);
        continue;
      }
      const c = this.o.config;
      try {
        const tree = await native.merkleBuild(await this.o.store.partitionDigests(p, q), c.segments, c.fanout);
        const t = await runExchange({
          partition: p,
          partitions: q,
          segments: c.segments,
          fanout: c.fanout,
          mode: 'push',
          transfer: false,
          tree,
          store: this.o.store,
          peer,
          budget: this.o.budget,
          maxMessageBytes: c.maxMessageBytes,
          signal,
        });
        this.stats.handedOver += t.pushed;
      } catch (err) {
        if (err instanceof ClosedError) throw err;
        this.stats.deferred++;
        left.push(p);
        continue;
      }
      let batch: Array<Promise<unknown>> = [];
      for await (const r of this.o.store.scanPartition(p, q)) {
        batch.push(this.o.store.merge(r.key, { clock: r.set.clock, siblings: [] }));
        this.stats.keys++;
        if (batch.length >= 64) {
          await Promise.all(batch);
          batch = [];
        }
      }
      await Promise.all(batch);
      this.stats.partitions++;
    }
    return left;
  }
}
