// Dynamo's request coordination: a put is coordinated by a replica of the key
// (others forward it), written locally, sent to the other replicas and answered
// after W acks; a get asks the replicas and answers after R with the merged
// siblings, then repairs stale replicas in the background. With read fan-out
// "quorum" a get asks only R replicas, and more when one fails, misses the key or
// is slow (Cassandra's speculative retry).
import type { SiblingSet } from '../codec/index.js';
import { BadRequestError, QuorumUnavailableError, ShoalError, TooLargeError } from '../errors.js';
import type { Clock } from '../time.js';
import { EMPTY_CONTEXT, liveValues, parseContext, sameVersions, sync } from '../version/index.js';
import type { ClusterView, LocalReplica, QuorumScope, ReplicaPeers, WriteOutcome } from './ports.js';
import { LatencyWindow, type SpeculativeRetry } from './latency-window.js';
import { Deadlines } from './deadlines.js';
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
  /**
   * Riak's notfound_ok. False (the default): a replica's "not found" counts towards
   * R only once every asked replica has answered, so a key that some replica holds
   * is found even when the first R replies are from replicas that miss it (after a
   * failure, a sloppy write, a replaced disk). Reads of absent keys then wait for
   * the slowest replica. True: a "not found" counts like any reply.
   */
  notFoundOk?: boolean;
  /**
   * Which replicas a get asks. 'all' (the default; Dynamo, Riak): every one of the
   * N, answering after R. 'quorum' (Cassandra): R of them, this node first when it
   * is one; another only when an asked one fails, answers "not found" (unless
   * notFoundOk) or is slower than `speculativeRetry`. A third less work per get at
   * N=3, R=2; read repair then reaches only the replicas asked.
   */
  readFanout?: 'all' | 'quorum';
  /**
   * With readFanout 'quorum': when to ask one more replica while fewer than R have
   * answered. Default: the 99th percentile of recent replica-read times (none
   * before 64 of them have been seen).
   */
  speculativeRetry?: SpeculativeRetry;
  /** This node's data centre: with replicas per dc, the one a local-scope request waits for. */
  dc?: string;
  /**
   * Which replicas R and W count when a request does not say. 'global' (the
   * default): any of the key's replicas. 'local' (Cassandra's LOCAL_QUORUM): only
   * those in this node's dc; the other dcs get writes behind the reply (hinted when
   * unreachable) and are not read. Takes effect only with replicas per dc.
   */
  scope?: QuorumScope;
}

export interface CoordinatorStats {
  gets: number;
  puts: number;
  deletes: number;
  touches: number;
  forwarded: number;
  fallbackWrites: number;
  /** Hints this coordinator kept for replicas that had no stand-in. */
  coordinatorHints: number;
  /** Writes sent to another dc as one copy, relayed there by one of its replicas (local scope). */
  relayed: number;
  /** Relayed writes whose relay failed: that dc's replicas were then written one by one. */
  relayFallbacks: number;
  /** Writes this node passed on to replicas of its dc for a coordinator in another dc. */
  passedOn: number;
  readRepairs: number;
  /** Reads sent to one more replica because the asked ones were slow (readFanout 'quorum'). */
  speculativeReads: number;
  /** ReplicaReads this node answered for coordinators elsewhere. */
  replicaReads: number;
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
    touches: 0,
    forwarded: 0,
    fallbackWrites: 0,
    relayed: 0,
    relayFallbacks: 0,
    passedOn: 0,
    coordinatorHints: 0,
    readRepairs: 0,
    speculativeReads: 0,
    replicaReads: 0,
    quorumFailures: 0,
    timeouts: 0,
  };
  /** readFanout 'quorum'. */
  private readonly quorumReads: boolean;
  /** The requests' quorums' deadlines (requestTimeoutMs). */
  private readonly deadlines: Deadlines;
  /** Remote replica-read times, when speculation follows their percentile. */
  private readonly readTimes: LatencyWindow | undefined;
  private readonly fixedSpeculation: number | undefined;
  /** Replica writes and read repairs still running past their reply (drain() waits for them). */
  private background = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly untrack = (): void => {
    if (--this.background === 0 && this.drainWaiters.length > 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  };

  /** The replication factor. */
  get n(): number {
    return this.o.n;
  }

  /** The default read quorum. */
  get r(): number {
    return this.o.r;
  }

  /** Which replicas R and W count when a request does not say. */
  get scope(): QuorumScope {
    return this.o.scope ?? 'global';
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
    this.deadlines = new Deadlines(o.requestTimeoutMs);
    this.quorumReads = o.readFanout === 'quorum';
    const spec = o.speculativeRetry ?? { kind: 'percentile', p: 99 };
    if (this.quorumReads && spec.kind === 'percentile') this.readTimes = new LatencyWindow(spec.p);
    else if (this.quorumReads && spec.kind === 'fixed') this.fixedSpeculation = spec.ms;
  }

  // ------------------------------------------------------------------ client API

  async get(key: Buffer, options: { r?: number; scope?: QuorumScope } = {}): Promise<ReadResult> {
    this.checkKey(key);
    const r = this.quorum('r', options.r);
    this.stats.gets++;
    const set = await this.countErrors(this.read(key, r, options.scope));
    const now = this.o.clock.now();
    return { values: liveValues(set, now), context: set ? Buffer.from(set.clock) : EMPTY_CONTEXT };
  }

  /** Keeps `value` (the local replica does not copy it): callers hand over buffers nobody changes afterwards. */
  async put(
    key: Buffer,
    value: Buffer,
    options: { context?: Uint8Array; ttlMs?: number; w?: number; scope?: QuorumScope; forwarded?: boolean } = {},
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
    const scope = options.scope;
    this.stats.puts++;
    return this.countErrors(
      this.write(key, w, scope, options.forwarded === true, {
        local: (staged, ringId) => this.o.local.put(key, value, ttlMs === 0 ? { context, staged, ringId, adopt: true } : { context, ttlMs, staged, ringId, adopt: true }),
        forward: (node) => this.o.peers.forwardPut(node, { key, value, context, ttlMs, w, scope }, this.o.requestTimeoutMs),
      }),
    );
  }

  async delete(key: Buffer, options: { context?: Uint8Array; w?: number; scope?: QuorumScope; forwarded?: boolean } = {}): Promise<void> {
    this.checkKey(key);
    const context = parseContext(options.context);
    const w = this.quorum('w', options.w);
    const scope = options.scope;
    this.stats.deletes++;
    await this.countErrors(
      this.write(key, w, scope, options.forwarded === true, {
        local: (staged, ringId) => this.o.local.delete(key, { context, staged, ringId }),
        forward: async (node) => {
          await this.o.peers.forwardDelete(node, { key, context, w, scope }, this.o.requestTimeoutMs);
          return { context: EMPTY_CONTEXT };
        },
      }),
    );
  }

  /**
   * Gives the key's live versions a new time to live (0: none), as a session store
   * slides a session's expiry. The coordinator (a replica; others forward) reads
   * the key at R, folds what it read into its own copy, writes each live version
   * again under a new dot with the new expiry (Store.touch) and replicates that
   * like a put, answering after W acks. Siblings stay siblings. `touched` is false
   * when nothing was live, and then nothing is written.
   */
  async touch(
    key: Buffer,
    ttlMs: number,
    options: { r?: number; w?: number; scope?: QuorumScope; forwarded?: boolean } = {},
  ): Promise<{ touched: boolean; context: Buffer }> {
    this.checkKey(key);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new BadRequestError('ttlMs must be a non-negative integer');
    const r = this.quorum('r', options.r);
    const w = this.quorum('w', options.w);
    const scope = options.scope;
    this.stats.touches++;
    // Set when the replica this was forwarded to found nothing live (a rejection
    // there would send write() on to the next replica).
    let untouched = false;
    try {
      const out = await this.countErrors(
        this.write(key, w, scope, options.forwarded === true, {
          local: async (_staged, ringId) => {
            const seen = await this.read(key, r, scope);
            if (seen !== undefined) await this.o.local.merge(key, seen, ringId);
            const set = await this.o.local.touch(key, ttlMs, { ringId });
            if (set === undefined) throw NOTHING_LIVE;
            return set;
          },
          forward: async (node) => {
            const out = await this.o.peers.forwardTouch(node, { key, ttlMs, r, w, scope }, this.o.requestTimeoutMs);
            untouched = !out.touched;
            return { context: out.context };
          },
        }),
      );
      return untouched ? { touched: false, context: EMPTY_CONTEXT } : { touched: true, context: out.context };
    } catch (err) {
      if (err === NOTHING_LIVE) return { touched: false, context: EMPTY_CONTEXT };
      throw err;
    }
  }

  // ------------------------------------------------------------------ replica side

  /**
   * A ReplicaWrite from a coordinator (that placed it by the ring `ringId` names):
   * merge, or keep as a hint for its owner. `relayTo`: replicas of this node's dc to
   * pass the write on to (the coordinator, in another dc, sent this dc one copy);
   * resolves once each has it, or a stand-in or this node keeps a hint for it.
   */
  replicaWrite(key: Buffer, set: SiblingSet, hintFor: string, ringId?: Uint8Array, relayTo?: readonly string[]): Promise<unknown> {
    if (relayTo !== undefined && relayTo.length >= this.o.n) {
      return Promise.reject(new BadRequestError(`relay_to names ${relayTo.length} replicas; n is ${this.o.n}`));
    }
    const own = hintFor !== '' && hintFor !== this.o.nodeId ? this.o.local.putHint(hintFor, key, set) : this.o.local.merge(key, set, ringId);
    if (relayTo === undefined || relayTo.length === 0) return own;
    const ts = this.targets(key);
    const passed = relayTo.map((id) => this.passOn(ts, id, key, set, ringId));
    return Promise.all([own, ...passed]);
  }

  /** One relayed write to `id`: like the coordinator's own write behind the reply (stand-in, else a hint here). */
  private passOn(ts: TargetSet, id: string, key: Buffer, set: SiblingSet, ringId: Uint8Array | undefined): Promise<unknown> {
    if (id === this.o.nodeId) return RESOLVED;
    this.stats.passedOn++;
    const t = ts.targets.find((x) => x.node === id && x.standsFor === '') ?? ts.targets.find((x) => x.standsFor === id);
    if (t !== undefined) return this.sendWrite(ts, undefined, t, key, set);
    if (ts.unplaced.includes(id)) return this.hintHere(id, key, set); // down here, and no stand-in left
    // Not a replica of the key on this node's ring (the rings differ for a moment):
    // write it if it answers; otherwise anti-entropy and the ownership change's
    // forwarding bring it the key, rather than a hint for a node this ring does not place.
    return this.o.peers.write(id, key, set, '', this.o.replicaTimeoutMs, ringId).catch(() => undefined);
  }

  /** A ReplicaRead from another node: this node's state of the key, with hints held for `readFor`. */
  replicaRead(key: Buffer, readFor: string): Promise<SiblingSet | undefined> {
    this.stats.replicaReads++;
    return this.readHere(key, readFor);
  }

  private async readHere(key: Buffer, readFor: string): Promise<SiblingSet | undefined> {
    const own = await this.o.local.getSet(key);
    if (readFor === '' || readFor === this.o.nodeId) return own;
    return sync(own, await this.o.local.getHint(readFor, key));
  }

  /** Waits for replica writes and read repairs that outlived their request. */
  async drain(): Promise<void> {
    while (this.background > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Counts p as background work until it settles (its outcome is the caller's business). */
  private track(p: Promise<unknown>): void {
    this.background++;
    p.then(this.untrack, this.untrack);
  }

  // ------------------------------------------------------------------ internals

  private checkKey(key: Buffer): void {
    if (!Buffer.isBuffer(key)) throw new BadRequestError('key must be a Buffer');
    checkKeyLength(key, this.o.maxKeyBytes);
  }

  private quorum(name: 'r' | 'w', v: number | undefined): number {
    if (v === undefined || v === 0) return name === 'r' ? this.o.r : this.o.w;
    if (!Number.isInteger(v) || v < 1 || v > this.o.n) {
      throw new BadRequestError(`${name} must be a whole number from 1 to n (${this.o.n}), got ${v}`);
    }
    return v;
  }

  /** p, counting the failures that stats report. */
  private countErrors<T>(p: Promise<T>): Promise<T> {
    return p.catch(this.countError);
  }

  private readonly countError = (err: unknown): never => {
    if (err instanceof ShoalError) {
      if (err.code === 'SHOAL_QUORUM_UNAVAILABLE') this.stats.quorumFailures++;
      if (err.code === 'SHOAL_TIMEOUT') this.stats.timeouts++;
    }
    throw err;
  };

  private targets(key: Buffer): TargetSet {
    const placement = this.o.cluster.placement();
    return new TargetSet(placement, placement.partitionOf(key), this.reachable);
  }

  /** Whether a node can take a request now (this node always can). */
  private readonly reachable = (id: string): boolean => id === this.o.nodeId || this.o.cluster.isReachable(id);

  /**
   * Which targets count towards R or W: every one, or (local scope with replicas
   * per dc) those whose replica is in this node's dc. undefined: every one.
   */
  private counting(ts: TargetSet, scope: QuorumScope | undefined): ((t: Target) => boolean) | undefined {
    if ((scope ?? this.o.scope) !== 'local' || this.o.cluster.placement().perDc === undefined) return undefined;
    const dc = this.o.dc ?? '';
    return (t) => ts.dcOf(t) === dc;
  }

  private async write(
    key: Buffer,
    w: number,
    scope: QuorumScope | undefined,
    forwarded: boolean,
    op: {
      local: (staged: (set: SiblingSet) => void, ringId: Uint8Array) => Promise<SiblingSet>;
      forward: (node: string) => Promise<{ context: Buffer }>;
    },
  ): Promise<{ context: Buffer }> {
    const self = this.o.nodeId;
    const ts = this.targets(key);
    const counts = this.counting(ts, scope);
    checkRingSize(ts, w, 'w', counts, this.o.dc);
    const isReplica = ts.replicas.includes(self);
    if (!isReplica && !forwarded) {
      // Dynamo: a node outside the preference list hands the write to one inside it,
      // so the key's clock only names its replicas. A local-scope write goes to a
      // replica in this dc first.
      const order = counts === undefined ? ts.targets : [...ts.targets.filter(counts), ...ts.targets.filter((t) => !counts(t))];
      for (const t of order) {
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
    // The other replicas get the new state as soon as it is computed, while the
    // local batch is written (one commit's latency instead of two in a row). The
    // local write still counts for W only once it has committed; if it fails, the
    // request fails, though replicas may keep the version (a failed write is not
    // a rollback, in Dynamo as here).
    const q = new Quorum(w, 'write', this.deadlines);
    let replicated = false;
    const replicate = (staged: SiblingSet): void => {
      if (replicated) return;
      replicated = true;
      // Targets that do not count (other dcs, local scope) are written behind the reply,
      // one copy per dc where a replica there can pass it on to the others.
      const relays = counts === undefined ? undefined : this.relayGroups(ts, counts);
      for (const t of ts.targets) {
        if (t.node === self || relays?.members.has(t) === true) continue;
        this.startWrite(ts, counts === undefined || counts(t) ? q : undefined, t, key, staged);
      }
      if (relays !== undefined) for (const group of relays.groups) this.sendRelay(ts, group, key, staged);
      // A replica with no stand-in left (a small cluster) still gets the write later:
      // the coordinator keeps the hint itself, as Cassandra does. It does not count for W.
      for (const id of ts.unplaced) this.hintHere(id, key, staged);
    };
    // `staged` runs inside the store's update of the key: start sending after it.
    // (A port that throws instead of rejecting fails the request, as it did before.)
    let sendFailure: unknown;
    // A resolved promise's then, not queueMicrotask: that one makes an AsyncResource
    // per call (1.3 against 0.5 µs here); the callback never throws.
    const onStaged = (staged: SiblingSet): void => {
      void RESOLVED.then(() => {
        try {
          replicate(staged);
        } catch (err) {
          sendFailure = err;
        }
      });
    };
    q.begin(); // the local write
    let set: SiblingSet;
    try {
      set = await op.local(onStaged, ts.ringId);
      if (sendFailure !== undefined) throw sendFailure;
      replicate(set); // a local replica that does not stage
    } catch (err) {
      q.abandon();
      throw err;
    }
    q.succeed();
    if (!isReplica) {
      // Coordinating outside the preference list (no replica reachable): this copy
      // is a stand-in for the primary and goes back to it by handoff.
      const mine = ts.targets.find((t) => t.node === self);
      try {
        await this.o.local.putHint(mine?.standsFor || ts.replicas[0]!, key, set);
      } catch (err) {
        q.abandon();
        throw err;
      }
      this.stats.fallbackWrites++;
    }
    q.check();
    await q.done;
    return { context: Buffer.from(set.clock) };
  }

  /**
   * Other dcs' primary replicas of the key that are written behind the reply,
   * grouped by dc where the group has two or more and one of them can relay (it
   * goes first); undefined when there is no such group.
   */
  private relayGroups(ts: TargetSet, counts: (t: Target) => boolean): { groups: Target[][]; members: Set<Target> } | undefined {
    const cluster = this.o.cluster;
    if (cluster.canRelay === undefined) return undefined;
    let byDc: Map<string, Target[]> | undefined;
    for (const t of ts.targets) {
      if (t.standsFor !== '' || t.node === this.o.nodeId || counts(t)) continue;
      byDc ??= new Map();
      const dc = ts.dcOf(t);
      const group = byDc.get(dc);
      if (group === undefined) byDc.set(dc, [t]);
      else group.push(t);
    }
    if (byDc === undefined) return undefined;
    const groups: Target[][] = [];
    const members = new Set<Target>();
    for (const group of byDc.values()) {
      if (group.length < 2) continue;
      const i = group.findIndex((t) => cluster.canRelay!(t.node));
      if (i < 0) continue;
      if (i > 0) [group[0], group[i]] = [group[i]!, group[0]!];
      groups.push(group);
      for (const t of group) members.add(t);
    }
    return groups.length === 0 ? undefined : { groups, members };
  }

  /** One copy of a write behind the reply for a whole dc, passed on there by its first replica; if that fails, each is written here. */
  private sendRelay(ts: TargetSet, group: Target[], key: Buffer, set: SiblingSet): void {
    this.stats.relayed++;
    const relay = group[0]!;
    const others = group.slice(1).map((t) => t.node);
    // The relay answers once it has passed the write on, which can take its own replica
    // timeout, and another for a stand-in.
    const done = this.o.peers.write(relay.node, key, set, '', 3 * this.o.replicaTimeoutMs, ts.ringId, others).then(undefined, () => {
      this.stats.relayFallbacks++;
      return Promise.all(group.map((t) => this.sendWrite(ts, undefined, t, key, set)));
    });
    this.track(done);
  }

  /**
   * sendWrite() for the replicate loop, with no promise per write when the peers
   * port takes an outcome (ReplicaPeers.writeTo). A failure is handled as
   * sendWrite's are, a microtask later.
   */
  private startWrite(ts: TargetSet, q: Quorum | undefined, t: Target, key: Buffer, set: SiblingSet): void {
    const peers = this.o.peers;
    if (t.node === this.o.nodeId || peers.writeTo === undefined) {
      void this.sendWrite(ts, q, t, key, set);
      return;
    }
    q?.begin();
    if (t.standsFor !== '') this.stats.fallbackWrites++;
    this.background++;
    peers.writeTo(t.node, key, set, t.standsFor, this.o.replicaTimeoutMs, ts.ringId, new Coordinator.ReplicaWrite(this, ts, q, t, key, set));
  }

  /** One startWrite(). Declared in the class, as it settles through its private members. */
  private static readonly ReplicaWrite = class implements WriteOutcome {
    constructor(
      private readonly c: Coordinator,
      private readonly ts: TargetSet,
      private readonly q: Quorum | undefined,
      private readonly t: Target,
      private readonly key: Buffer,
      private readonly set: SiblingSet,
    ) {}

    written(): void {
      this.q?.succeed();
      this.c.untrack();
    }

    failed(err: unknown): void {
      void RESOLVED.then(() => {
        // What replaces this write counts as background work of its own.
        void this.c.writeFailed(this.ts, this.q, this.t, this.key, this.set, err);
        this.c.untrack();
      });
    }
  };

  /**
   * One replica write; `q` undefined: it counts for nothing, and a failure is always
   * replaced or hinted. Resolves once it, or what replaced it, has settled.
   */
  private sendWrite(ts: TargetSet, q: Quorum | undefined, t: Target, key: Buffer, set: SiblingSet): Promise<unknown> {
    q?.begin();
    if (t.standsFor !== '') this.stats.fallbackWrites++;
    const self = this.o.nodeId;
    const attempt =
      t.node === self
        ? this.o.local.putHint(t.standsFor, key, set)
        : this.o.peers.write(t.node, key, set, t.standsFor, this.o.replicaTimeoutMs, ts.ringId);
    const done = attempt.then(
      () => q?.succeed(),
      (err: unknown) => this.writeFailed(ts, q, t, key, set, err),
    );
    this.track(done);
    return done;
  }

  /**
   * A replica write to `t` failed: unless its quorum has settled, the next fallback
   * takes it, or else this node keeps a hint; then the quorum hears of the failure
   * (after the replacement has begun). Resolves when the replacement has settled.
   */
  private writeFailed(ts: TargetSet, q: Quorum | undefined, t: Target, key: Buffer, set: SiblingSet, err: unknown): Promise<unknown> | undefined {
    if (q?.isSettled === true) {
      q.fail(describe(t, err));
      return undefined;
    }
    const next = ts.replace(t);
    let then: Promise<unknown> | undefined;
    if (next !== undefined) then = this.sendWrite(ts, q, next, key, set);
    else if (t.node !== this.o.nodeId) then = this.hintHere(t.standsFor === '' ? t.node : t.standsFor, key, set);
    q?.fail(describe(t, err));
    return then;
  }

  /** Keeps a hint for `owner` on this node (handoff delivers it when owner returns); never rejects. */
  private hintHere(owner: string, key: Buffer, set: SiblingSet): Promise<unknown> {
    if (owner === this.o.nodeId) return RESOLVED;
    this.stats.coordinatorHints++;
    const p = this.o.local.putHint(owner, key, set).catch(() => undefined);
    this.track(p);
    return p;
  }

  private async read(key: Buffer, r: number, scope: QuorumScope | undefined): Promise<SiblingSet | undefined> {
    const ts = this.targets(key);
    const counts = this.counting(ts, scope);
    checkRingSize(ts, r, 'r', counts, this.o.dc);
    // Local scope reads this dc's replicas only; the others are left to anti-entropy.
    const targets = counts === undefined ? ts.targets : ts.targets.filter(counts);
    const round = new ReadRound(this.rounds, key, ts, new Quorum(r, 'read', this.deadlines));
    let speculation: NodeJS.Timeout | undefined;
    if (!this.quorumReads) {
      for (const t of targets) round.ask(t);
    } else {
      round.spare = this.readOrder(targets);
      for (let i = 0; i < r && round.askSpare(); i++);
      const delay = this.readTimes?.current ?? this.fixedSpeculation;
      if (delay !== undefined && round.spare.length > 0) {
        speculation = setTimeout(() => {
          if (!round.q.isSettled && round.askSpare()) this.stats.speculativeReads++;
        }, Math.max(1, Math.ceil(delay)));
      }
    }
    round.q.check();
    try {
      await round.q.done;
    } finally {
      clearTimeout(speculation);
    }
    let merged: SiblingSet | undefined;
    for (const set of round.sets) merged = sync(merged, set);
    return merged;
  }

  /** Targets in the order a quorum read asks them: replicas before stand-ins, this node first among each. */
  private readOrder(targets: readonly Target[]): Target[] {
    const self = this.o.nodeId;
    const out: Target[] = [];
    for (let rank = 0; rank < 4; rank++) {
      for (const t of targets) if ((t.standsFor === '' ? 0 : 2) + (t.node === self ? 0 : 1) === rank) out.push(t);
    }
    return out;
  }

  /** What read rounds need of this coordinator (made once, not per read). */
  private readonly rounds: RoundOwner = {
    readFrom: (t, key) => {
      if (t.node === this.o.nodeId) return this.readHere(key, t.standsFor);
      const read = this.o.peers.read(t.node, key, t.standsFor, this.o.replicaTimeoutMs);
      const times = this.readTimes;
      if (times === undefined) return read;
      const start = performance.now();
      return read.then((set) => {
        times.record(performance.now() - start);
        return set;
      });
    },
    repair: (key, targets, sets) => this.repair(key, targets, sets),
    track: (p) => this.track(p),
    notFoundOk: () => this.o.notFoundOk === true,
  };

  /**
   * Read repair, off the request's path: once every asked replica has answered
   * (or failed), replicas whose state differs from the merge of all answers get
   * the merge. Repairs name no ring: they go only to the replicas that answered
   * stale, so during a ring change a replica forwards them as widely as a write
   * placed by an unknown ring.
   */
  private repair(key: Buffer, targets: readonly Target[], sets: ReadonlyArray<SiblingSet | undefined>): void {
    let merged: SiblingSet | undefined;
    for (const set of sets) merged = sync(merged, set);
    if (merged === undefined) return;
    for (let i = 0; i < sets.length; i++) {
      const set = sets[i];
      if (set !== undefined && sameVersions(set, merged)) continue;
      const t = targets[i]!;
      this.stats.readRepairs++;
      const write =
        t.node === this.o.nodeId
          ? this.replicaWrite(key, merged, t.standsFor)
          : this.o.peers.write(t.node, key, merged, t.standsFor, this.o.replicaTimeoutMs);
      this.track(write);
    }
  }
}

interface RoundOwner {
  /** One replica's state: local, or over the network. */
  readFrom(t: Target, key: Buffer): Promise<SiblingSet | undefined>;
  repair(key: Buffer, targets: readonly Target[], sets: ReadonlyArray<SiblingSet | undefined>): void;
  /** Counts background work for drain(). */
  track(p: Promise<unknown>): void;
  /** Whether an absent reply counts towards R at once (CoordinatorOptions.notFoundOk). */
  notFoundOk(): boolean;
}

/**
 * The replies of one read: asks the targets (and replacements for those that
 * fail), counts them towards R, and repairs once every ask has settled.
 */
class ReadRound {
  readonly targets: Target[] = [];
  readonly sets: Array<SiblingSet | undefined> = [];
  /** Targets not asked yet, asked in order when one is needed (read fan-out "quorum"). */
  spare: Target[] = [];
  private outstanding = 0;
  /** Absent replies not counted towards R yet (notFoundOk false). */
  private absent = 0;
  private repairDone: (() => void) | undefined;

  constructor(
    private readonly c: RoundOwner,
    private readonly key: Buffer,
    readonly ts: TargetSet,
    readonly q: Quorum,
  ) {}

  ask(t: Target): void {
    const q = this.q;
    q.begin();
    if (this.outstanding++ === 0) this.c.track(new Promise<void>((resolve) => (this.repairDone = resolve)));
    this.c.readFrom(t, this.key).then(
      (set) => {
        this.targets.push(t);
        this.sets.push(set);
        if (set === undefined && !this.c.notFoundOk()) {
          // Another replica may hold it: ask one not asked yet, if any.
          this.absent++;
          if (!q.isSettled) this.askSpare();
        } else q.succeed();
        this.settled();
      },
      (err: unknown) => {
        if (!q.isSettled && !this.askSpare()) {
          const next = this.ts.replace(t);
          if (next !== undefined) this.ask(next);
        }
        q.fail(describe(t, err));
        this.settled();
      },
    );
  }

  /** Asks the next spare target; false when there is none. */
  askSpare(): boolean {
    const t = this.spare.shift();
    if (t === undefined) return false;
    this.ask(t);
    return true;
  }

  /** After the last ask: repair with whatever came back (even if R was not reached). */
  private settled(): void {
    if (--this.outstanding > 0) return;
    // Every ask has settled: the key is absent wherever it was not found.
    for (; this.absent > 0; this.absent--) this.q.succeed();
    try {
      this.c.repair(this.key, this.targets, this.sets);
    } catch {
      // A reply that does not merge (malformed, from a faulty peer): no repair
      // this time, and nothing thrown where no one would catch it.
    } finally {
      this.repairDone!();
    }
  }
}

const RESOLVED = Promise.resolve();

/** Thrown through write() when a touch finds nothing live: no write happens, and touch() answers touched: false. */
const NOTHING_LIVE = new Error('nothing live to touch');

/**
 * The errors for a key's length, the same for a coordinated request and a replica
 * read or write from the network (which the SDK also sends).
 */
export function checkKeyLength(key: Uint8Array, maxKeyBytes: number): void {
  if (key.length === 0) throw new BadRequestError('key must not be empty');
  if (key.length > maxKeyBytes) throw new TooLargeError(`the key is ${key.length} bytes; the limit is ${maxKeyBytes}`);
}

/** A quorum larger than the key's replicas (in this dc, local scope) can never be met: say so plainly. */
function checkRingSize(ts: TargetSet, need: number, name: 'r' | 'w', counts?: (t: Target) => boolean, dc?: string): void {
  if (counts !== undefined) {
    let have = 0;
    for (const id of ts.replicas) if (counts({ node: id, standsFor: '' })) have++;
    if (have >= need) return;
    throw new QuorumUnavailableError(
      `${name}=${need} in local scope needs ${need} replicas in dc ${dc ?? ''}, but this key has ${have} there: ` +
        `ask for ${name}=${have}, scope global, or add nodes (and replicas) to that dc`,
    );
  }
  const have = ts.replicas.length;
  if (have >= need) return;
  throw new QuorumUnavailableError(
    `${name}=${need} needs ${need} replicas, but the ring gives this key ${have} (it has ${have} node${have === 1 ? '' : 's'} owning partitions): ` +
      `add nodes (or wait for joins to complete), or ask for ${name}=${have}`,
  );
}

function describe(t: Target, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `${t.node}: ${msg}`;
}
