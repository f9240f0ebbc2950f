// Group commit: everything that joins the gathering batch in one event-loop turn
// (and while the previous batch is being written) goes to LevelDB as one atomic
// batch. One batch is written at a time, so under load batches grow instead of
// queueing. After a failed write the queue refuses further work: LevelDB itself
// refuses writes after an I/O error, and the in-memory state of the members
// would no longer match the disk.
//
// A turn that gathers many members with no write in flight sends the first part
// out early (see splitAt): otherwise the event loop computes a whole turn's
// writes, then idles while LevelDB writes them all; split, the disk writes one
// part while the loop computes the other, and the parts keep alternating.
import type { ClassicLevel } from 'classic-level';

/** Where a batch's operations go. */
export interface OpSink {
  put(key: Buffer, value: Uint8Array): void;
  del(key: Buffer): void;
}

/** A part of a batch. */
export interface BatchMember {
  /** Adds this member's operations; called once, synchronously, as the batch is written. */
  writeTo(sink: OpSink): void;
  /** The batch committed (err undefined) or failed. */
  settled(batch: Batch, err: Error | undefined): void;
}

export class Batch {
  readonly members: BatchMember[] = [];
  /** Resolves when the batch has committed; rejects if its write failed. */
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;
  raw: RawOps | undefined;

  constructor() {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.done.catch(() => {}); // callers that care chain on it; no unhandled rejection
  }
}

/** Plain puts and deletes of one batch, in the order they were added. */
class RawOps implements BatchMember {
  readonly keys: Buffer[] = [];
  readonly values: (Uint8Array | undefined)[] = [];
  writeTo(sink: OpSink): void {
    for (let i = 0; i < this.keys.length; i++) {
      const v = this.values[i];
      if (v === undefined) sink.del(this.keys[i]!);
      else sink.put(this.keys[i]!, v);
    }
  }
  settled(): void {}
}

type Db = ClassicLevel<Buffer, Buffer>;

/**
 * Members a turn gathers with no write in flight before the batch goes out early.
 * Each batch costs a thread-pool hand-off (tens of µs on this VM), so small
 * batches are never split; half the last batch splits a closed loop's burst into
 * two even parts.
 */
const MIN_SPLIT = 32;

interface Writer extends OpSink {
  readonly length: number;
  write(): Promise<void>;
}

function chainedWriter(db: Db, sync: boolean): Writer {
  const b = db.batch();
  return {
    put: (k, v) => void b.put(k, v as Buffer),
    del: (k) => void b.del(k),
    get length() {
      return b.length;
    },
    write: () => b.write({ sync }),
  };
}

export interface CommitQueueOptions {
  /** fsync each batch before it counts as committed. */
  sync: boolean;
  /** Adds operations that every batch carries (the counter high-water mark). */
  beforeWrite?: (sink: OpSink) => void;
  /** Send a large turn's first part out early (default true; see splitAt). */
  split?: boolean;
}

export class CommitQueue {
  private gathering = new Batch();
  private writing: Batch | undefined;
  private scheduled = false;
  /** Gathered members that send a batch out early (half the last batch, at least MIN_SPLIT). */
  private splitAt = MIN_SPLIT;
  private idleWaiters: (() => void)[] = [];
  /** Set once a write failed; every later join throws it. */
  failure: Error | undefined;
  /** Batches written and operations in them, for stats and tests. */
  batches = 0;
  ops = 0;

  constructor(
    private readonly db: Db,
    private readonly options: CommitQueueOptions,
  ) {}

  /** The batch now gathering members. */
  get current(): Batch {
    return this.gathering;
  }

  /**
   * Adds m to the gathering batch (current). If that sends the batch out early,
   * m.writeTo runs before join returns: join m only once it is ready.
   */
  join(m: BatchMember): void {
    if (this.failure !== undefined) throw this.failure;
    const n = this.gathering.members.push(m);
    if (n >= this.splitAt && this.writing === undefined && this.options.split !== false) this.flush();
    else this.schedule();
  }

  /**
   * Adds a put (value) or delete (undefined) to the gathering batch. Never sends
   * it out early, so a caller's consecutive raw operations share one batch.
   */
  raw(key: Buffer, value: Uint8Array | undefined): Batch {
    if (this.failure !== undefined) throw this.failure;
    const b = this.gathering;
    if (b.raw === undefined) {
      b.raw = new RawOps();
      b.members.push(b.raw);
    }
    b.raw.keys.push(key);
    b.raw.values.push(value);
    this.schedule();
    return b;
  }

  /** Resolves once nothing is gathered or being written. */
  idle(): Promise<void> {
    if (this.writing === undefined && this.gathering.members.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (!this.scheduled && this.writing === undefined) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const b = this.gathering;
    if (this.writing !== undefined) return;
    if (b.members.length === 0) {
      this.wakeIdle();
      return;
    }
    this.gathering = new Batch();
    this.writing = b;
    this.splitAt = Math.max(MIN_SPLIT, b.members.length >> 1);
    let w: Writer;
    try {
      w = chainedWriter(this.db, this.options.sync);
      for (const m of b.members) m.writeTo(w);
      this.options.beforeWrite?.(w);
    } catch (err) {
      this.finish(b, err as Error, 0);
      return;
    }
    const n = w.length;
    w.write().then(
      () => this.finish(b, undefined, n),
      (err: Error) => this.finish(b, err, n),
    );
  };

  private finish(b: Batch, err: Error | undefined, n: number): void {
    this.writing = undefined;
    this.batches++;
    this.ops += n;
    if (err !== undefined) {
      this.failure = err;
      const next = this.gathering;
      this.gathering = new Batch();
      for (const batch of [b, next]) {
        for (const m of batch.members) m.settled(batch, err);
        batch.reject(err);
      }
      this.wakeIdle();
      return;
    }
    for (const m of b.members) m.settled(b, undefined);
    // What gathered during the write goes out now, before b's callers run and
    // gather the next batch: the disk works while they do.
    if (this.gathering.members.length > 0) this.flush();
    else this.wakeIdle();
    b.resolve();
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }
}
