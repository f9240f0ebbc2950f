// A member of the cluster: SWIM with Lifeguard over sealed UDP datagrams, plus
// push-pull state sync. This module wires the parts (view, state machine, prober,
// broadcast queue, sync) to a datagram transport and a push-pull channel, and is
// the API the ring, the coordinator and src/node.ts use.
import { EventEmitter } from 'node:events';
import { MemberStatus, RingStatus } from '../codec/index.js';
import type { GossipPacket, Member, MemberUpdate, PushPull } from '../codec/index.js';
import { BadRequestError, ClosedError, UnavailableError } from '../errors.js';
import type { Startable } from '../time.js';
import type { DatagramTransport, Keyring } from '../transport/index.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { resolveConfig, retransmitLimit } from './config.js';
import type { MembershipConfig, ProfileName } from './config.js';
import { MemoryIncarnationStore } from './incarnation-store.js';
import type { IncarnationStore } from './incarnation-store.js';
import { PacketCodec } from './packet.js';
import { isProbeable } from './probe-order.js';
import { Prober } from './prober.js';
import type { ProbeBody, ProbeCounters } from './prober.js';
import type { PushPullChannel, PushPullResponder } from './push-pull.js';
import { StateMachine, copyMember } from './state-machine.js';
import type { MemberEventName, StateCounters } from './state-machine.js';
import { StateSync, parseSeed } from './sync.js';
import type { Seed, SyncCounters } from './sync.js';
import { systemTimers } from './timers.js';
import type { TimerHandle, Timers } from './timers.js';
import { checkPushPull, isValidMember } from './validate.js';
import { MemberView } from './view.js';
import { sample } from './sample.js';

/**
 * The protocol version this build speaks (Member.protocol). 2: passes on relayed
 * replica writes (ReplicaWrite.relay_to); 3: takes ReplicaWrites (several writes in
 * one request). Nodes use each only with members at that version or later, so a
 * cluster can be upgraded one node at a time.
 */
export const MEMBERSHIP_PROTOCOL = 3;

export interface MembershipOptions {
  /** This node's id: unique in the cluster and stable across restarts. */
  id: string;
  /** Advertised address; default: the transport's. TCP and UDP share the port. */
  host?: string;
  port?: number;
  dc?: string;
  rack?: string;
  /** Relative weight for virtual nodes (0 means 1). */
  capacity?: number;
  ringStatus?: RingStatus;
  httpPort?: number;
  keyring: Keyring;
  /** Started by the caller before start(), stopped after stop(). */
  transport: DatagramTransport;
  pushPull: PushPullChannel;
  /** "host:port" of members to join through; may include this node's own address. */
  seeds?: readonly string[];
  profile?: ProfileName;
  config?: Partial<MembershipConfig>;
  /** Default: in memory (the incarnation restarts at 0 and is raised by refutation). */
  incarnations?: IncarnationStore;
  timers?: Timers;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
}

export type MemberListener = (member: Member, previous: Member | undefined) => void;
type EventMap = Record<MemberEventName, [Member, Member | undefined]>;

export interface MembershipStats extends ProbeCounters, StateCounters, SyncCounters {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Datagrams that no key of the keyring opens (wrong key, garbage). */
  droppedUnauthenticated: number;
  /** Datagrams that open but do not decode or validate. */
  droppedMalformed: number;
  /** Exceptions from event listeners (caught). */
  listenerErrors: number;
  /** Failed saves of the incarnation (retried on the next change). */
  persistErrors: number;
  /** Push-pulls started because a peer's checksum kept differing. */
  repairs: number;
  /** Updates waiting in the broadcast queue. */
  queued: number;
  /** Local health score (0 = healthy). */
  health: number;
}

export class Membership implements Startable, PushPullResponder {
  readonly config: MembershipConfig;
  readonly id: string;
  private readonly options: MembershipOptions;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly transport: DatagramTransport;
  private readonly codec: PacketCodec;
  private readonly view = new MemberView();
  private readonly queue = new BroadcastQueue<MemberUpdate>();
  private readonly awareness: Awareness;
  private readonly machine: StateMachine;
  private readonly prober: Prober;
  private readonly sync: StateSync;
  private readonly events = new EventEmitter<EventMap>();
  private readonly incarnations: IncarnationStore;
  private readonly seeds: Seed[];
  /** Per peer: the checksum it last carried, and since when it has differed from ours (0: equal). */
  private readonly peerSums = new Map<string, { sum: Buffer; since: number }>();
  private lastRepair = 0;
  /** Unknown senders being synced with (see receive). */
  private readonly introductions = new Set<string>();
  private readonly counts = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    droppedUnauthenticated: 0,
    droppedMalformed: 0,
    listenerErrors: 0,
    persistErrors: 0,
    repairs: 0,
  };
  private state: 'new' | 'running' | 'stopped' = 'new';
  private gcTimer: TimerHandle | undefined;
  private gossipTimer: TimerHandle | undefined;
  private saving: Promise<void> = Promise.resolve();
  private savePending = false;
  private saved = -1;
  /** Reused for every outgoing packet: encoding is synchronous. */
  private readonly scratch: GossipPacket = { from: '', updates: [], viewChecksum: Buffer.alloc(0) };

  constructor(options: MembershipOptions) {
    if (typeof options.id !== 'string' || options.id === '' || Buffer.byteLength(options.id) > 255) {
      throw new BadRequestError('membership: id must be a non-empty string of at most 255 bytes');
    }
    this.options = options;
    this.id = options.id;
    this.config = resolveConfig(options.config, options.profile ?? 'lan');
    if (options.transport.maxDatagramBytes < this.config.maxDatagramBytes) {
      throw new RangeError(`the transport carries ${options.transport.maxDatagramBytes} bytes, below maxDatagramBytes ${this.config.maxDatagramBytes}`);
    }
    this.seeds = (options.seeds ?? []).map(parseSeed);
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.transport = options.transport;
    this.incarnations = options.incarnations ?? new MemoryIncarnationStore();
    this.codec = new PacketCodec(options.keyring, this.config.maxDatagramBytes);
    this.awareness = new Awareness(this.config.awarenessMaxMultiplier);
    this.machine = new StateMachine(this.id, this.view, this.queue, this.config, this.timers, this.awareness, {
      encodeUpdate: (u) => this.codec.encodeUpdate(u),
      emit: (name, m, prev) => this.emit(name, m, prev),
      incarnationChanged: (n) => this.persist(n),
      added: (id) => this.prober.order.add(id),
      queued: () => this.scheduleGossip(),
    });
    this.prober = new Prober(this.id, this.view, this.config, this.timers, this.awareness, this.random, {
      send: (host, port, body, aboutTarget) => this.send(host, port, body, aboutTarget === undefined ? undefined : this.suspicionOf(aboutTarget)),
      failed: (id, inc) => this.probeFailed(id, inc),
    });
    this.sync = new StateSync(() => this.machine.self, this.view, this.config, this.timers, this.random, options.pushPull, {
      localState: (join) => this.localState(join),
      merge: (remote) => this.merge(remote),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Loads and raises the incarnation, starts probing and syncing, and makes one
   * join round through the seeds. Resolves after that round whether or not a seed
   * answered: a node that reached none runs alone and keeps trying.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ClosedError('membership: start() can be called once');
    this.state = 'running';
    const last = await this.incarnations.load();
    const o = this.options;
    const self: Member = {
      id: this.id,
      host: o.host ?? this.transport.host,
      port: o.port ?? this.transport.port,
      dc: o.dc ?? '',
      rack: o.rack ?? '',
      capacity: o.capacity ?? 1,
      incarnation: last === undefined ? 0 : last + 1,
      status: MemberStatus.ALIVE,
      ringStatus: o.ringStatus ?? RingStatus.JOINING,
      httpPort: o.httpPort ?? 0,
      protocol: MEMBERSHIP_PROTOCOL,
      statusAt: Math.floor(this.timers.now()),
    };
    if (!isValidMember(self)) throw new BadRequestError(`membership: this member's entry is malformed: ${JSON.stringify(self)}`);
    await this.incarnations.save(self.incarnation);
    this.saved = self.incarnation;
    this.machine.init(self);
    this.transport.onDatagram((data, host, port) => this.receive(data, host, port));
    this.prober.start();
    this.sync.start();
    this.scheduleGc();
    if (this.seeds.length > 0) await this.sync.join(this.seeds);
  }

  /**
   * Stops every timer and stops listening, without telling anyone: to the others
   * this looks like a failure. Use leave() to depart. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (!wasRunning) return;
    this.transport.onDatagram(undefined);
    this.prober.stop();
    this.sync.stop();
    this.machine.stop();
    this.gcTimer?.cancel();
    this.gossipTimer?.cancel();
    this.gossipTimer = undefined;
    await this.saving;
  }

  /**
   * Departs gracefully: marks this node left, announces it to several members
   * directly, waits until one of them acknowledges (or leaveTimeoutMs passes), and
   * stops. The others mark it left, not dead, and its entry cannot be revived by
   * stale state; a later restart with the same id rejoins with a higher incarnation.
   */
  async leave(): Promise<void> {
    if (this.state !== 'running') return;
    this.prober.pause();
    const update = this.machine.leaveSelf(Math.floor(this.timers.now()));
    const bytes = this.codec.encodeUpdate(update);
    const n = this.view.activeCount;
    const fanout = Math.max(this.config.indirectChecks, retransmitLimit(this.config, n));
    await new Promise<void>((resolve) => {
      let done = false;
      const seqs: number[] = [];
      const finish = (): void => {
        if (done) return;
        done = true;
        for (const s of seqs) this.prober.forget(s);
        deadline.cancel();
        round?.cancel();
        resolve();
      };
      const deadline = this.timers.after(this.config.leaveTimeoutMs, finish);
      let round: TimerHandle | undefined;
      const announce = (): void => {
        const peers = this.sample(fanout, (m) => m.id !== this.id && m.status === MemberStatus.ALIVE);
        if (peers.length === 0) return finish();
        for (const p of peers) {
          const seq = this.prober.nextSeq();
          seqs.push(seq);
          this.prober.expect(seq, finish);
          this.send(p.host, p.port, { ping: { seq, target: p.id } }, undefined, [{ bytes }]);
        }
        round = this.timers.after(this.config.probeTimeoutMs, announce);
      };
      announce();
    });
    await this.stop();
  }

  // ---------------------------------------------------------------- queries

  /** Every member in the view (this node included), as copies. */
  members(): Member[] {
    return [...this.view.values()].map(copyMember);
  }

  member(id: string): Member | undefined {
    const m = this.view.get(id);
    return m === undefined ? undefined : copyMember(m);
  }

  /** This node's own entry. */
  get self(): Member {
    return copyMember(this.machine.self);
  }

  /** Hex XXH64 of the sorted view; equal on members with identical views. */
  checksum(): string {
    return this.view.checksum().toString('hex');
  }

  /** The checksum member `id` carried in its last datagram to this node. */
  checksumOf(id: string): string | undefined {
    return this.peerSums.get(id)?.sum.toString('hex');
  }

  stats(): MembershipStats {
    return {
      ...this.counts,
      ...this.prober.counters,
      ...this.machine.counters,
      ...this.sync.counters,
      queued: this.queue.size,
      health: this.awareness.score,
    };
  }

  on(event: MemberEventName, listener: MemberListener): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: MemberEventName, listener: MemberListener): this {
    this.events.off(event, listener);
    return this;
  }

  // ---------------------------------------------------------------- changes

  /** Changes this node's metadata (e.g. ring status) and spreads it with a higher incarnation. */
  update(change: Partial<Pick<Member, 'ringStatus' | 'capacity' | 'httpPort' | 'dc' | 'rack'>>): void {
    if (this.state !== 'running') throw new ClosedError('membership is not running');
    const next = { ...this.machine.self, ...change };
    if (!isValidMember(next)) throw new BadRequestError('membership: malformed metadata');
    this.machine.updateSelf(change);
  }

  /** Removes a dead member for good (an operator's decision): it becomes left everywhere. */
  remove(id: string): void {
    if (this.state !== 'running') throw new ClosedError('membership is not running');
    this.machine.remove(id);
  }

  /** Runs one join round through these seeds now (in addition to the configured ones). */
  async join(seeds: readonly string[]): Promise<number> {
    if (this.state !== 'running') throw new ClosedError('membership is not running');
    return this.sync.join(seeds.map(parseSeed));
  }

  /** Answers a peer's push-pull: merges its state, then returns this node's. Throws on a malformed state. */
  handlePushPull(remote: PushPull): PushPull {
    if (this.state !== 'running') throw new UnavailableError('membership is not running');
    this.merge(remote);
    return this.localState(false);
  }

  // ---------------------------------------------------------------- internals

  private merge(remote: PushPull): void {
    checkPushPull(remote);
    if (this.state !== 'running') return;
    this.machine.merge(remote.members);
  }

  private localState(join: boolean): PushPull {
    const self = this.machine.self;
    const members = [copyMember(self)];
    for (const m of this.view.values()) if (m !== self) members.push(copyMember(m));
    return { members, join };
  }

  private receive(data: Buffer, host: string, port: number): void {
    if (this.state !== 'running') return;
    const r = this.codec.open(data);
    if ('error' in r) {
      if (r.error === 'auth') this.counts.droppedUnauthenticated++;
      else this.counts.droppedMalformed++;
      return;
    }
    const p = r.packet;
    this.counts.packetsIn++;
    this.counts.bytesIn += data.length;
    if (!this.view.has(p.from)) this.introduce(p.from, host, port);
    // Updates first: if one says this node is suspect, the ack below carries the refutation.
    for (const u of p.updates) this.machine.apply(u);
    // After the updates: a checksum that still differs is real divergence.
    if (p.viewChecksum.length === 8) this.notePeerChecksum(p.from, p.viewChecksum, host, port);
    switch (p.body) {
      case 'ping':
        this.prober.onPing(p.ping!, host, port);
        break;
      case 'ack':
        this.prober.onAck(p.ack!);
        break;
      case 'pingReq':
        this.prober.onPingReq(p.pingReq!, host, port);
        break;
      case 'nack':
        this.prober.onNack(p.nack!);
        break;
    }
  }

  /**
   * Suspects a member whose probe failed, and tells it at once (one datagram with
   * just the suspicion): if it is alive but was slow, it refutes without waiting
   * for the gossip to reach it.
   */
  private probeFailed(id: string, incarnation: number): void {
    this.machine.probeFailed(id, incarnation);
    const m = this.view.get(id);
    if (m !== undefined && m.status === MemberStatus.SUSPECT && m.incarnation === incarnation) {
      this.send(m.host, m.port, undefined, undefined, [this.suspicionOf(m)]);
    }
  }

  /**
   * An authenticated datagram from a member this node does not know (its alive
   * gossip ran out before reaching here, as happens when many join at once): a
   * push-pull with the sender brings both views up to date at once.
   */
  private introduce(id: string, host: string, port: number): void {
    if (this.introductions.has(id) || this.introductions.size >= 4 || this.machine.hasLeft) return;
    this.introductions.add(id);
    void this.sync.exchange(host, port).finally(() => this.introductions.delete(id));
  }

  /**
   * Notes the checksum a peer carried. When its view has differed from this one
   * for two periods while packets keep flowing, gossip is not fixing it: a
   * push-pull with that peer does (at most one such repair per period).
   */
  private notePeerChecksum(from: string, sum: Uint8Array, host: string, port: number): void {
    let e = this.peerSums.get(from);
    if (e === undefined) {
      // Bounded: only authenticated senders get here; forget entries the view forgot.
      if (this.peerSums.size > 2 * this.view.size + 16) {
        for (const id of this.peerSums.keys()) if (!this.view.has(id)) this.peerSums.delete(id);
      }
      e = { sum: Buffer.alloc(8), since: 0 };
      this.peerSums.set(from, e);
    }
    e.sum.set(sum);
    if (e.sum.equals(this.view.checksum())) {
      e.since = 0;
      return;
    }
    const now = this.timers.now();
    if (e.since === 0) {
      e.since = now;
      return;
    }
    const period = this.config.probeIntervalMs;
    if (now - e.since < 2 * period || now - this.lastRepair < period || this.machine.hasLeft) return;
    this.lastRepair = now;
    e.since = now;
    this.counts.repairs++;
    void this.sync.exchange(host, port);
  }

  /** The encoded suspect update for a suspected member (buddy system). */
  private suspicionOf(m: Member): { bytes: Uint8Array } {
    return { bytes: this.codec.encodeUpdate({ id: m.id, incarnation: m.incarnation, status: MemberStatus.SUSPECT, from: this.id, member: null }) };
  }

  /**
   * Sends one datagram: the body (none: updates only), this node's checksum, then
   * `first` (if any) and queued updates that fit; with `only`, exactly those updates.
   */
  private send(
    host: string,
    port: number,
    body: ProbeBody | undefined,
    first: { bytes: Uint8Array } | undefined,
    only?: readonly { bytes: Uint8Array }[],
  ): void {
    if (this.state !== 'running') return;
    const base = this.scratch;
    base.from = this.id;
    base.viewChecksum = this.view.checksum();
    base.ping = body !== undefined && 'ping' in body ? body.ping : undefined;
    base.ack = body !== undefined && 'ack' in body ? body.ack : undefined;
    base.pingReq = body !== undefined && 'pingReq' in body ? body.pingReq : undefined;
    base.nack = body !== undefined && 'nack' in body ? body.nack : undefined;
    const head = this.codec.encodeHead(base);
    let updates: readonly { bytes: Uint8Array }[];
    if (only !== undefined) updates = only;
    else {
      const budget = this.codec.budget(head.length) - (first?.bytes.length ?? 0);
      const queued = this.queue.take(budget, retransmitLimit(this.config, this.view.activeCount));
      updates = first === undefined ? queued : [first, ...queued];
    }
    const datagram = this.codec.seal(this.codec.join(head, updates));
    this.counts.packetsOut++;
    this.counts.bytesOut += datagram.length;
    this.transport.send(host, port, datagram);
  }

  private sample(k: number, accept: (m: Member) => boolean): Member[] {
    return sample(this.view.values(), k, accept, this.random);
  }

  private emit(name: MemberEventName, member: Member, previous: Member | undefined): void {
    if (this.events.listenerCount(name) === 0) return;
    const m = copyMember(member);
    const p = previous === undefined ? undefined : copyMember(previous);
    for (const l of this.events.listeners(name) as MemberListener[]) {
      try {
        l(m, p);
      } catch {
        this.counts.listenerErrors++;
      }
    }
  }

  /** Saves the latest incarnation; saves never overlap and coalesce while one is running. */
  private persist(n: number): void {
    if (n <= this.saved) return;
    if (this.savePending) return;
    this.savePending = true;
    this.saving = this.saving.then(async () => {
      this.savePending = false;
      const latest = this.machine.self.incarnation;
      if (latest <= this.saved) return;
      try {
        await this.incarnations.save(latest);
        this.saved = latest;
      } catch {
        this.counts.persistErrors++;
      }
    });
  }

  /**
   * While updates are queued, sends them to gossipNodes random live members every
   * gossipIntervalMs, besides piggybacking them on probes (memberlist's gossip):
   * news, refutations above all, outruns the suspicion timers.
   */
  private scheduleGossip(): void {
    if (this.gossipTimer !== undefined || this.state !== 'running' || this.config.gossipNodes === 0) return;
    this.gossipTimer = this.timers.after(this.config.gossipIntervalMs, () => {
      this.gossipTimer = undefined;
      if (this.state !== 'running' || this.machine.hasLeft || this.queue.size === 0) return;
      for (const m of this.sample(this.config.gossipNodes, (x) => x.id !== this.id && isProbeable(x))) {
        if (this.queue.size === 0) break;
        this.send(m.host, m.port, undefined, undefined);
      }
      if (this.queue.size > 0) this.scheduleGossip();
    });
  }

  private scheduleGc(): void {
    const every = Math.max(this.config.probeIntervalMs, Math.min(60_000, this.config.leftRetentionMs / 10));
    this.gcTimer = this.timers.after(every, () => {
      if (this.state !== 'running') return;
      this.machine.collect(this.timers.now());
      this.scheduleGc();
    });
  }
}
