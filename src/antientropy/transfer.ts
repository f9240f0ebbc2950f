// The receiving side of an ownership transfer. While a ring change is pending,
// this node fetches every partition it gains from each node that replicates it
// now, by pull-only exchanges under their own byte budget. A source accepts only
// once it forwards that partition's new writes here, so anything written after
// the exchange read a key arrives by forwarding. Finished partitions are recorded
// on disk per change; after a crash of either side the loop simply runs again,
// and a repeated exchange ships only what is still missing.
import { ClosedError } from '../errors.js';
import type { Startable } from '../time.js';
import { ByteBudget } from './byte-budget.js';
import type { AntiEntropyConfig } from './config.js';
import { type ExchangePeer, runExchange } from './exchange.js';
import type { PartitionTrees } from './partition-trees.js';
import type { ExchangeStore } from './responder.js';

/** What this node must receive for the pending change. */
export interface TransferPlan {
  /** Identity of the pending change: progress is kept per change. */
  id: string;
  /** Each partition this node gains, with the nodes that replicate it now. */
  gains: ReadonlyMap<number, readonly string[]>;
}

export interface TransferProgressStore {
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
}

export interface TransferOptions {
  nodeId: string;
  config: AntiEntropyConfig;
  trees: PartitionTrees;
  store: ExchangeStore;
  plan(): TransferPlan | undefined;
  /** A channel to a source; undefined while it cannot be reached (tried again later). */
  peer(id: string): ExchangePeer | undefined;
  /** A source that is dead or gone: skipped (its writes are on the other replicas). */
  isGone(id: string): boolean;
  progress: TransferProgressStore;
  /** Every partition of the plan has been received. */
  onDone(planId: string): void;
  onError?: (err: unknown, partition: number, source: string) => void;
}

/**
 * A source that fails this many exchanges in a row is left alone for a retry
 * period (as long as the pause between passes) before it is asked again: it is
 * usually one the ring change has not reached yet, which refuses every partition,
 * and a pass would otherwise ask it for each of them. A period, not the rest of
 * the pass, because a pass held back by the transfer budget can last minutes.
 */
export const SOURCE_FAILURES_PER_PASS = 3;

export interface TransferStats {
  state: 'idle' | 'receiving' | 'done';
  plan: string;
  partitions: number;
  partitionsDone: number;
  exchanges: number;
  keysReceived: number;
  bytesReceived: number;
  /** Sources skipped because they were dead or gone. */
  sourcesSkipped: number;
  retries: number;
}

export class TransferReceiver implements Startable {
  readonly stats: TransferStats = {
    state: 'idle',
    plan: '',
    partitions: 0,
    partitionsDone: 0,
    exchanges: 0,
    keysReceived: 0,
    bytesReceived: 0,
    sourcesSkipped: 0,
    retries: 0,
  };
  readonly budget: ByteBudget;
  private done = new Set<number>();
  private sourcesDone = new Set<string>();
  private planId = '';
  private loaded = false;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;
  /** The last pass skipped a partition whose tree was still being built. */
  private treesPending = false;

  constructor(private readonly o: TransferOptions) {
    this.budget = new ByteBudget(o.config.transferBytesPerSec);
  }

  async start(): Promise<void> {
    if (this.loop !== undefined) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Re-reads the plan now (the ring changed). */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Whether every partition of plan `id` has been received. */
  isDone(id: string): boolean {
    return this.planId === id && this.stats.state === 'done';
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let progressed = false;
      try {
        progressed = await this.step(signal);
      } catch (err) {
        if (!(err instanceof ClosedError)) this.o.onError?.(err, -1, '');
      }
      if (signal.aborted) break;
      if (progressed) continue;
      // A pass that skipped partitions whose trees were building (a joiner's, just
      // after the change was staged) goes on as soon as they are built.
      const built = this.treesPending && this.o.trees.busy ? this.o.trees.idle() : undefined;
      await this.pause(this.stats.state === 'receiving' ? this.retryMs() : 60_000, built);
    }
  }

  /** The pause between passes that completed nothing, and before a source that kept failing is asked again. */
  private retryMs(): number {
    return Math.max(200, this.o.config.stewardIntervalMs * 2);
  }

  /** Waits for ms, a kick, or `until` (when given). */
  private pause(ms: number, until?: Promise<void>): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      const wake = (): void => {
        this.wake = undefined;
        this.kicked = false;
        done();
      };
      this.wake = wake;
      void until?.then(() => {
        if (this.wake === wake) wake();
      });
    });
  }

  /** One pass over the plan; true when a partition finished (so go on at once). */
  private async step(signal: AbortSignal): Promise<boolean> {
    const plan = this.o.plan();
    if (plan === undefined || plan.gains.size === 0) {
      this.stats.state = 'idle';
      this.stats.partitions = 0;
      this.stats.partitionsDone = 0;
      return false;
    }
    await this.adoptPlan(plan.id);
    this.stats.partitions = plan.gains.size;
    const pending = [...plan.gains.keys()].filter((p) => !this.done.has(p)).sort((a, b) => a - b);
    this.stats.partitionsDone = plan.gains.size - pending.length;
    if (pending.length === 0) {
      if (this.stats.state !== 'done') {
        this.stats.state = 'done';
        this.o.onDone(plan.id);
      }
      return false;
    }
    this.stats.state = 'receiving';
    this.treesPending = false;
    let progressed = false;
    // Per source, this pass: consecutive failures, and until when it is left alone.
    const failures = new Map<string, { count: number; until: number }>();
    for (const p of pending) {
      if (signal.aborted || this.o.plan()?.id !== plan.id) return true;
      const tree = this.o.trees.tree(p);
      if (tree === undefined) {
        this.treesPending = true; // still building
        continue;
      }
      let complete = true;
      for (const src of plan.gains.get(p)!) {
        const mark = `${p}/${src}`;
        if (src === this.o.nodeId || this.sourcesDone.has(mark)) continue;
        if (this.o.isGone(src)) {
          this.stats.sourcesSkipped++;
          this.sourcesDone.add(mark);
          continue;
        }
        const peer = this.o.peer(src);
        if (peer === undefined || (failures.get(src)?.until ?? 0) > Date.now()) {
          complete = false;
          continue;
        }
        try {
          const t = await runExchange({
            partition: p,
            partitions: this.o.trees.partitions,
            segments: this.o.config.segments,
            fanout: this.o.config.fanout,
            mode: 'pull',
            transfer: true,
            tree,
            store: this.o.store,
            peer,
            budget: this.budget,
            maxMessageBytes: this.o.config.maxMessageBytes,
            signal,
          });
          this.stats.exchanges++;
          this.stats.keysReceived += t.pulled;
          this.stats.bytesReceived += t.bytesReceived;
          this.sourcesDone.add(mark);
          failures.delete(src);
        } catch (err) {
          if (err instanceof ClosedError) throw err;
          complete = false;
          const f = failures.get(src) ?? { count: 0, until: 0 };
          f.count++;
          if (f.count >= SOURCE_FAILURES_PER_PASS) f.until = Date.now() + this.retryMs();
          failures.set(src, f);
          this.stats.retries++;
          this.o.onError?.(err, p, src);
        }
      }
      if (complete) {
        this.done.add(p);
        await this.save();
        this.stats.partitionsDone++; // reported once it is on disk
        progressed = true;
      }
    }
    return progressed;
  }

  private async adoptPlan(id: string): Promise<void> {
    if (!this.loaded) {
      this.loaded = true;
      const saved = await this.o.progress.load();
      if (saved !== undefined) {
        try {
          const s = JSON.parse(Buffer.from(saved).toString('utf8')) as { plan?: unknown; done?: unknown };
          if (typeof s.plan === 'string' && Array.isArray(s.done)) {
            this.planId = s.plan;
            this.done = new Set(s.done.filter((x): x is number => Number.isInteger(x)));
          }
        } catch {
          // unreadable progress: start the plan over (exchanges skip what is here)
        }
      }
      this.stats.plan = this.planId;
    }
    if (this.planId === id) return;
    this.planId = id;
    this.stats.plan = id;
    this.done = new Set();
    this.sourcesDone = new Set();
    this.stats.state = 'receiving';
    await this.save();
  }

  private save(): Promise<void> {
    return this.o.progress.save(Buffer.from(JSON.stringify({ plan: this.planId, done: [...this.done] })));
  }
}
