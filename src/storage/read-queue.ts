// Point reads of committed records, in one of two modes:
//   'sync'    (default) each read is a synchronous LevelDB get on the calling
//             thread: no thread-pool round trip, which costs far more than a
//             get served from LevelDB's caches (docs/performance.md), but a read
//             that must go to the disk holds up the event loop meanwhile.
//   'batched' every read asked for in one event-loop turn goes to LevelDB as one
//             getMany on the thread pool: the event loop never waits for the
//             disk. For data sets much larger than memory.
import type { ClassicLevel } from 'classic-level';

export type ReadCallback = (err: Error | undefined, value: Buffer | undefined) => void;

export type ReadMode = 'sync' | 'batched';

export class ReadQueue {
  private keys: Buffer[] = [];
  private callbacks: ReadCallback[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** getMany calls (one per synchronous read) and keys read, for stats. */
  calls = 0;
  keysRead = 0;

  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly mode: ReadMode = 'sync',
  ) {}

  /** True when reads complete synchronously (readNow may be used). */
  get isSync(): boolean {
    return this.mode === 'sync';
  }

  /** The committed value of key, read now; throws what LevelDB throws. */
  readNow(key: Buffer): Buffer | undefined {
    this.calls++;
    this.keysRead++;
    return this.db.getSync(key);
  }

  /** Reads the committed value of key; the callback runs in a later turn. */
  read(key: Buffer, cb: ReadCallback): void {
    this.keys.push(key);
    this.callbacks.push(cb);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readAsync(key: Buffer): Promise<Buffer | undefined> {
    if (this.isSync) {
      try {
        return Promise.resolve(this.readNow(key));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return new Promise((resolve, reject) => this.read(key, (err, v) => (err ? reject(err) : resolve(v))));
  }

  /** Resolves when no read is queued or in flight. */
  idle(): Promise<void> {
    if (!this.scheduled && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const keys = this.keys;
    const cbs = this.callbacks;
    this.keys = [];
    this.callbacks = [];
    this.inFlight++;
    this.calls++;
    this.keysRead += keys.length;
    this.db.getMany(keys).then(
      (values) => {
        this.settle();
        for (let i = 0; i < cbs.length; i++) cbs[i]!(undefined, values[i]);
      },
      (err: Error) => {
        this.settle();
        for (const cb of cbs) cb(err, undefined);
      },
    );
  };

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0 && !this.scheduled && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }
}
