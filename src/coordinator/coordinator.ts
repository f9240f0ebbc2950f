// Dynamo's request coordination: a put is coordinated by a replica of the key
// (others forward it), written locally, sent to the other replicas and answered
// after W acks; a get asks the replicas and answers after R with the merged
// siblings, then repairs stale replicas in the background.
import type { SiblingSet } from '../codec/index.js';
import { BadRequestError, ShoalError, TooLargeError } from '../errors.js';
import type { Clock } from '../time.js';
import { EMPTY_CONTEXT, digest, liveValues, parseContext, sync } from '../version/index.js';
import type { ClusterView, LocalReplica, ReplicaPeers } from './ports.js';
import { Quorum } from './quorum.js';
import { type Target, TargetSet } from './targets.js';

export interface CoordinatorOptions {
  nodeId: string;
  /** Replication factor and default quorums (Dynamo's N, R, W). */
  n: number;
  r: number;
  w: number;
  /** Whole-request deadline. */
  requestTimeoutMs: number;
  /** Deadline of one replica's answer before a fallback is tried. */
  replicaTimeoutMs: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  local: LocalReplica;
  peers: ReplicaPeers;
  cluster: ClusterView;
  clock: Clock;
}

export interface CoordinatorStats {
  gets: number;
  puts: number;
  deletes: number;
  forwarded: number;
  fallbackWrites: number;
  /** Hints this coordinator kept for replicas that had no stand-in. */
  coordinatorHints: number;
  readRepairs: number;
  quorumFailures: number;
  timeouts: number;
}

export interface ReadResult {
  values: Buffer[];
  context: Buffer;
}

export class Coordinator {
  readonly stats: CoordinatorStats = {
    gets: 0,
    puts: 0,
    deletes: 0,
    forwarded: 0,
    fallbackWrites: 0,
    coordinatorHints: 0,
    readRepairs: 0,
    quorumFailures: 0,
    timeouts: 0,
  };
  /** Replica writes and read repairs still running past their reply (drain() waits for them). */
  private readonly background = new Set<Promise<unknown>>();

  /** The replication factor. */
  get n(): number {
    return this.o.n;
  }

  constructor(private readonly o: CoordinatorOptions) {
    for (const [name, v] of [
      ['n', o.n],
      ['r', o.r],
      ['w', o.w],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    if (o.r > o.n || o.w > o.n) throw new RangeError('r and w must not exceed n');
  }

  // ------------------------------------------------------------------ client API

  async get(key: Buffer, options: { r?: number } = {}): Promise<ReadResult> {
    this.checkKey(key);
    const r = this.quorum('r', options.r);
    this.stats.gets++;
    const set = await this.countErrors(this.read(key, r));
    const now = this.o.clock.now();
    return { values: liveValues(set, now), context: set ? Buffer.from(set.clock) : EMPTY_CONTEXT };
  }

  async put(
    key: Buffer,
    value: Buffer,
    options: { context?: Uint8Array; ttlMs?: number; w?: number; forwarded?: boolean } = {},
  ): Promise<{ context: Buffer }> {
    this.checkKey(key);
    if (!Buffer.isBuffer(value)) throw new BadRequestError('value must be a Buffer');
    if (value.length > this.o.maxValueBytes) {
      throw new TooLargeError(`the value is ${value.length} bytes; the limit is ${this.o.maxValueBytes}`);
    }
    const context = parseContext(options.context);
    const ttlMs = options.ttlMs ?? 0;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new BadRequestError('ttlMs must be a non-negative integer');
    const w = this.quorum('w', options.w);
    this.stats.puts++;
    return this.countErrors(
      this.write(key, w, options.forwarded === true, {
        local: () => this.o.local.put(key, value, { context, ttlMs: ttlMs === 0 ? undefined : ttlMs }),
        forward: (node) => this.o.peers.forwardPut(node, { key, value, context, ttlMs, w }, this.o.requestTimeoutMs),
      }),
    );
  }

  async delete(key: Buffer, options: { context?: Uint8Array; w?: number; forwarded?: boolean } = {}): Promise<void> {
    this.checkKey(key);
    const context = parseContext(options.context);
    const w = this.quorum('w', options.w);
    this.stats.deletes++;
    await this.countErrors(
      this.write(key, w, options.forwarded === true, {
        local: () => this.o.local.delete(key, { context }),
        forward: async (node) => {
          await this.o.peers.forwardDelete(node, { key, context, w }, this.o.requestTimeoutMs);
          return { context: EMPTY_CONTEXT };
        },
      }),
    );
  }

  // ------------------------------------------------------------------ replica side

  /** A ReplicaWrite from a coordinator: merge, or keep as a hint for its owner. */
  async replicaWrite(key: Buffer, set: SiblingSet, hintFor: string): Promise<void> {
    if (hintFor !== '' && hintFor !== this.o.nodeId) await this.o.local.putHint(hintFor, key, set);
    else await this.o.local.merge(key, set);
  }

  /** A ReplicaRead: this node's state of the key, with hints held for `readFor`. */
  async replicaRead(key: Buffer, readFor: string): Promise<SiblingSet | undefined> {
    const own = await this.o.local.getSet(key);
    if (readFor === '' || readFor === this.o.nodeId) return own;
    return sync(own, await this.o.local.getHint(readFor, key));
  }

  /** Waits for replica writes and read repairs that outlived their request. */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p)).catch(() => undefined);
  }

  // ------------------------------------------------------------------ internals

  private checkKey(key: Buffer): void {
    if (!Buffer.isBuffer(key)) throw new BadRequestError('key must be a Buffer');
    if (key.length === 0) throw new BadRequestError('key must not be empty');
    if (key.length > this.o.maxKeyBytes) {
      throw new TooLargeError(`the key is ${key.length} bytes; the limit is ${this.o.maxKeyBytes}`);
    }
  }

  private quorum(name: 'r' | 'w', v: number | undefined): number {
    if (v === undefined || v === 0) return name === 'r' ? this.o.r : this.o.w;
    if (!Number.isInteger(v) || v < 1 || v > this.o.n) {
      throw new BadRequestError(`${name} must be a whole number from 1 to n (${this.o.n}), got ${v}`);
    }
    return v;
  }

  private async countErrors<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof ShoalError) {
        if (err.code === 'SHOAL_QUORUM_UNAVAILABLE') this.stats.quorumFailures++;
        if (err.code === 'SHOAL_TIMEOUT') this.stats.timeouts++;
      }
      throw err;
    }
  }

  private targets(key: Buffer): TargetSet {
    const placement = this.o.cluster.placement();
    const self = this.o.nodeId;
    return new TargetSet(placement, placement.partitionOf(key), this.o.n, (id) => id === self || this.o.cluster.isReachable(id));
  }

  private async write(
    key: Buffer,
    w: number,
    forwarded: boolean,
    op: { local: () => Promise<SiblingSet>; forward: (node: string) => Promise<{ context: Buffer }> },
  ): Promise<{ context: Buffer }> {
    const self = this.o.nodeId;
    const ts = this.targets(key);
    const isReplica = ts.replicas.includes(self);
    if (!isReplica && !forwarded) {
      // Dynamo: a node outside the preference list hands the write to one inside it,
      // so the key's clock only names its replicas.
      for (const t of ts.targets) {
        if (t.standsFor !== '' || t.node === self) continue;
        try {
          const out = await op.forward(t.node);
          this.stats.forwarded++;
          return out;
        } catch (err) {
          if (err instanceof ShoalError && (err.code === 'SHOAL_BAD_CONTEXT' || err.code === 'SHOAL_TOO_LARGE' || err.code === 'SHOAL_BAD_REQUEST')) {
            throw err;
          }
          // unreachable or failing: try the next replica, then coordinate here
        }
      }
    }
    const set = await op.local();
    const q = new Quorum(w, 'write', this.o.requestTimeoutMs);
    q.begin();
    q.succeed(); // the local write
    if (!isReplica) {
      // Coordinating outside the preference list (no replica reachable): this copy
      // is a stand-in for the primary and goes back to it by handoff.
      const mine = ts.targets.find((t) => t.node === self);
      await this.o.local.putHint(mine?.standsFor || ts.replicas[0]!, key, set);
      this.stats.fallbackWrites++;
    }
    for (const t of ts.targets) if (t.node !== self) this.sendWrite(ts, q, t, key, set);
    // A replica with no stand-in left (a small cluster) still gets the write later:
    // the coordinator keeps the hint itself, as Cassandra does. It does not count for W.
    for (const id of ts.unplaced) this.hintHere(id, key, set);
    q.check();
    await q.done;
    return { context: Buffer.from(set.clock) };
  }

  private sendWrite(ts: TargetSet, q: Quorum, t: Target, key: Buffer, set: SiblingSet): void {
    q.begin();
    if (t.standsFor !== '') this.stats.fallbackWrites++;
    const self = this.o.nodeId;
    const attempt =
      t.node === self
        ? this.o.local.putHint(t.standsFor, key, set)
        : this.o.peers.write(t.node, key, set, t.standsFor, this.o.replicaTimeoutMs);
    const done = attempt.then(
      () => q.succeed(),
      (err: unknown) => {
        if (q.isSettled) return q.fail(describe(t, err));
        const next = ts.replace(t);
        if (next !== undefined) this.sendWrite(ts, q, next, key, set);
        else if (t.node !== self) this.hintHere(t.standsFor === '' ? t.node : t.standsFor, key, set);
        q.fail(describe(t, err));
      },
    );
    this.track(done);
  }

  /** Keeps a hint for `owner` on this node (handoff delivers it when owner returns). */
  private hintHere(owner: string, key: Buffer, set: SiblingSet): void {
    if (owner === this.o.nodeId) return;
    this.stats.coordinatorHints++;
    this.track(this.o.local.putHint(owner, key, set).catch(() => undefined));
  }

  private async read(key: Buffer, r: number): Promise<SiblingSet | undefined> {
    const ts = this.targets(key);
    const q = new Quorum(r, 'read', this.o.requestTimeoutMs);
    const replies: Array<{ target: Target; set: SiblingSet | undefined }> = [];
    const inFlight: Array<Promise<void>> = [];
    const ask = (t: Target): void => {
      q.begin();
      const p = (
        t.node === this.o.nodeId
          ? this.replicaRead(key, t.standsFor)
          : this.o.peers.read(t.node, key, t.standsFor, this.o.replicaTimeoutMs)
      ).then(
        (set) => {
          replies.push({ target: t, set });
          q.succeed();
        },
        (err: unknown) => {
          const next = q.isSettled ? undefined : ts.replace(t);
          if (next !== undefined) ask(next);
          q.fail(describe(t, err));
        },
      );
      inFlight.push(p);
    };
    for (const t of ts.targets) ask(t);
    q.check();
    await q.done;
    let merged: SiblingSet | undefined;
    for (const rep of replies) merged = sync(merged, rep.set);
    this.repairLater(key, replies, inFlight);
    return merged;
  }

  /**
   * Read repair, off the request's path: once every asked replica has answered (or
   * failed), replicas whose state differs from the merge of all answers get the merge.
   */
  private repairLater(key: Buffer, replies: Array<{ target: Target; set: SiblingSet | undefined }>, inFlight: Array<Promise<void>>): void {
    const job = (async () => {
      // Replacements may be appended while we wait; settle until none are left.
      for (let seen = 0; seen < inFlight.length; ) {
        const batch = inFlight.slice(seen);
        seen = inFlight.length;
        await Promise.allSettled(batch);
      }
      let merged: SiblingSet | undefined;
      for (const rep of replies) merged = sync(merged, rep.set);
      if (merged === undefined) return;
      const want = digest(merged);
      await Promise.allSettled(
        replies
          .filter((rep) => rep.set === undefined || digest(rep.set) !== want)
          .map((rep) => {
            this.stats.readRepairs++;
            return rep.target.node === this.o.nodeId
              ? this.replicaWrite(key, merged, rep.target.standsFor)
              : this.o.peers.write(rep.target.node, key, merged, rep.target.standsFor, this.o.replicaTimeoutMs);
          }),
      );
    })();
    this.track(job);
  }
}

function describe(t: Target, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `${t.node}: ${msg}`;
}
