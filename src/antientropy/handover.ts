// Drives this node's part in ring changes (docs/operations.md): stages the joins,
// leaves and removals it was asked for (and keeps re-staging them until the ring
// holds them, since a concurrent change may win over one), tells the transfer
// receiver what to fetch, marks this node ready once it has, completes the change
// when every gaining node is ready, forwards writes across the change, and after
// the grace period drops partitions this node no longer replicates, or departs.
// It also answers, for the rest of the node, which partitions it holds and with
// whom it shares them.
import { BadRequestError } from '../errors.js';
import type { Logger } from '../log.js';
import { native } from '../native.js';
import {
  type CapacityOf,
  type PlacementOf,
  PreferenceLists,
  type Replication,
  type Ring,
  type RingKeeper,
  type RingRole,
  changeIsReady,
  currentOf,
  gainedReplicas,
  markReady,
  ringId,
  roleIn,
  stageLeave,
  completeChange,
  targetOf,
} from '../ring/index.js';
import type { Startable } from '../time.js';
import { sameBytes } from '../version/index.js';
import { sleep } from './byte-budget.js';
import type { AntiEntropyConfig } from './config.js';
import type { PartitionDrop } from './partition-drop.js';
import type { PartitionTrees } from './partition-trees.js';
import type { TransferPlan, TransferReceiver } from './transfer.js';

/** What this node wants of the ring for itself. */
export type SelfIntent = 'member' | 'leave' | 'none';

export interface Intents {
  self: SelfIntent;
  /** Other nodes this node was asked to take out: leave (alive) or remove (dead). */
  departures: Record<string, 'leave' | 'remove'>;
}

export interface IntentStore {
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** What the handover needs of membership. */
export interface HandoverMembers {
  state(id: string): MemberState | undefined;
  /** Publishes this node's ring status in its member entry. */
  setRole(role: RingRole): void;
  /** Marks a dead member removed for good. */
  remove(id: string): void;
  /** Departs the cluster (announce, stop gossip). */
  leave(): Promise<void>;
}

export interface HandoverOptions {
  nodeId: string;
  config: AntiEntropyConfig;
  /** Replicas: N in all, or per data centre. */
  n: Replication;
  keeper: RingKeeper;
  placementOf: PlacementOf;
  capacityOf: CapacityOf;
  members: HandoverMembers;
  intents: IntentStore;
  trees: PartitionTrees;
  transfer: TransferReceiver;
  drop: PartitionDrop;
  log: Logger;
  /** The node has left the cluster (its leave completed). */
  onLeft(): void;
  now?: () => number;
}

export interface HandoverStatus {
  role: RingRole | 'left';
  intent: SelfIntent;
  departures: Record<string, 'leave' | 'remove'>;
  pending: null | {
    joining: readonly string[];
    leaving: readonly string[];
    ready: readonly string[];
    /** Nodes that gain replicas and are not ready yet. */
    waitingFor: string[];
    /** (partition, node) replica moves in the change. */
    replicaMoves: number;
  };
  /** Milliseconds of post-change forwarding left (0: none). */
  graceLeftMs: number;
  dropped: { partitions: number; keys: number; handedOver: number };
}

/** Identity of a pending change (ready marks do not change it). */
export function changeId(ring: Ring): string {
  if (ring.next === undefined) return '';
  const text = JSON.stringify([ring.owners, ring.next.owners, ring.next.joining, ring.next.leaving]);
  return native.hash64(Buffer.from(text)).toString(16).padStart(16, '0');
}

const NOBODY: readonly string[] = Object.freeze([]);

export class Handover implements Startable {
  private intents: Intents = { self: 'member', departures: {} };
  private current: PreferenceLists | undefined;
  private target: PreferenceLists | undefined;
  private previous: PreferenceLists | undefined;
  private graceUntil = 0;
  private gained = new Map<string, number[]>();
  private plan: TransferPlan | undefined;
  private forwardMap: Array<readonly string[]> | undefined;
  /** Per partition, forwardMap's targets that are not current replicas. */
  private beyondMap: Array<readonly string[]> | undefined;
  /** The checksum of the ring forwardMap and beyondMap were computed for. */
  private ringId: Uint8Array | undefined;
  private sharedMap = new Map<string, number[]>();
  private heldSet = new Set<number>();
  private q = 0;
  private role: RingRole | undefined;
  private left = false;
  /** This process has seen this node in the ring (so a later absence is a departure to carry out). */
  private wasMember = false;
  private droppedFor = '';
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private readonly now: () => number;

  constructor(private readonly o: HandoverOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Loads the persisted intents; `join` is the default for a node that has none (false: --no-join). */
  async open(join: boolean): Promise<void> {
    const saved = await this.o.intents.load();
    if (saved !== undefined) {
      try {
        const s = JSON.parse(Buffer.from(saved).toString('utf8')) as Partial<Intents>;
        if (s.self === 'member' || s.self === 'leave' || s.self === 'none') this.intents.self = s.self;
        if (typeof s.departures === 'object' && s.departures !== null) this.intents.departures = { ...s.departures };
        return;
      } catch {
        // fall through to the default
      }
    }
    this.intents.self = join ? 'member' : 'none';
  }

  get intent(): SelfIntent {
    return this.intents.self;
  }

  async start(): Promise<void> {
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.refresh();
    this.loop = (async () => {
      while (!signal.aborted) {
        await this.tick().catch((err: unknown) => this.o.log.warn('handover step failed', { err }));
        await sleep(this.o.config.stewardIntervalMs, signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.ticking;
  }

  // ---------------------------------------------------------------- admin

  /** This node should join (after `shoal admin join`). */
  async requestJoin(): Promise<void> {
    this.intents.self = 'member';
    await this.saveIntents();
    await this.o.keeper.join();
    this.kick();
  }

  /** `nodeId` (this node by default) should leave gracefully: its partitions move first. */
  async requestLeave(nodeId = this.o.nodeId): Promise<void> {
    const ring = this.requireRing();
    if (!ring.nodes.includes(nodeId)) throw new BadRequestError(`node ${nodeId} is not in the ring`);
    this.checkCanGo(ring, nodeId);
    if (nodeId === this.o.nodeId) this.intents.self = 'leave';
    else this.intents.departures[nodeId] = 'leave';
    await this.saveIntents();
    this.kick();
  }

  /** A dead node that will never return: its partitions are rebuilt from the other replicas. */
  async requestRemove(nodeId: string): Promise<void> {
    if (nodeId === this.o.nodeId) throw new BadRequestError('a node cannot remove itself: use leave');
    const ring = this.requireRing();
    if (!ring.nodes.includes(nodeId)) throw new BadRequestError(`node ${nodeId} is not in the ring`);
    const state = this.o.members.state(nodeId);
    if (state === 'alive' || state === 'suspect') {
      throw new BadRequestError(`node ${nodeId} is ${state}: remove is for dead nodes (stop it first, or use leave)`);
    }
    this.checkCanGo(ring, nodeId);
    this.intents.departures[nodeId] = 'remove';
    await this.saveIntents();
    this.kick();
  }

  private requireRing(): Ring {
    const ring = this.o.keeper.ring;
    if (ring === undefined) throw new BadRequestError('this node knows no ring yet');
    return ring;
  }

  private checkCanGo(ring: Ring, nodeId: string): void {
    try {
      stageLeave(ring, nodeId, this.o.capacityOf);
    } catch (err) {
      throw new BadRequestError(`node ${nodeId} cannot go: ${(err as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- queries for the node

  /**
   * The nodes a committed version of a key in `partition` must also reach now:
   * the replicas of the other ring (the target of a pending change, or the ring
   * before a completed one, during its grace) that are not replicas of the
   * current one, and the other way round. A coordinator that placed the write by
   * the current ring (`ringId`, its checksum) has sent it to the current replicas (or to
   * stand-ins holding hints for them) itself: then only the other ring's are left.
   */
  forwardTargets(partition: number, ringId?: Uint8Array): readonly string[] {
    const map = ringId !== undefined && this.ringId !== undefined && sameBytes(ringId, this.ringId) ? this.beyondMap : this.forwardMap;
    return map?.[partition] ?? NOBODY;
  }

  /** Whether any partition is changing hands (writes may need forwarding). */
  get forwarding(): boolean {
    return this.forwardMap !== undefined;
  }

  /** Whether `peer` gains `partition` in the pending change and this node forwards its writes there. */
  mayTransfer(peer: string, partition: number): boolean {
    if (this.target === undefined || this.current === undefined) return false;
    return this.target.replicas(partition).includes(peer) && !this.current.replicas(partition).includes(peer) && this.forwardTargets(partition).includes(peer);
  }

  /** The plan of what this node receives in the pending change. */
  transferPlan(): TransferPlan | undefined {
    return this.plan;
  }

  /** Replica peers under the current ring and the partitions shared with each. */
  shared(): ReadonlyMap<string, readonly number[]> {
    return this.sharedMap;
  }

  /** The current replicas of a partition. */
  replicasOf(partition: number): readonly string[] {
    return this.current?.replicas(partition) ?? NOBODY;
  }

  held(): ReadonlySet<number> {
    return this.heldSet;
  }

  status(): HandoverStatus {
    const ring = this.o.keeper.ring;
    const next = ring?.next;
    let moves = 0;
    for (const ps of this.gained.values()) moves += ps.length;
    return {
      role: this.left ? 'left' : roleIn(ring, this.o.nodeId),
      intent: this.intents.self,
      departures: { ...this.intents.departures },
      pending: next
        ? {
            joining: next.joining,
            leaving: next.leaving,
            ready: next.ready,
            waitingFor: [...this.gained.keys()].filter((id) => !next.ready.includes(id)).sort(),
            replicaMoves: moves,
          }
        : null,
      graceLeftMs: Math.max(0, this.graceUntil - this.now()),
      dropped: { partitions: this.o.drop.stats.partitions, keys: this.o.drop.stats.keys, handedOver: this.o.drop.stats.handedOver },
    };
  }

  // ---------------------------------------------------------------- reacting

  /** The ring changed: recompute placement, and note a completed change for its grace period. */
  ringChanged(ring: Ring, previous: Ring | undefined): void {
    if (previous?.next !== undefined && changeId(previous) !== changeId(ring)) {
      if (ring.next === undefined || sameOwners(ring.owners, previous.next.owners)) {
        // The change completed (or was superseded): the old replicas keep getting writes for a while.
        this.previous = new PreferenceLists(currentOf(previous), this.o.n, this.o.placementOf);
        this.graceUntil = this.now() + this.o.config.handoverGraceMs;
      }
    }
    this.refresh();
    this.kick();
  }

  /** Recomputes everything derived from the ring and placement (also after membership changes). */
  refresh(): void {
    const ring = this.o.keeper.ring;
    if (ring === undefined) return;
    const self = this.o.nodeId;
    const n = this.o.n;
    if (this.previous !== undefined && this.now() >= this.graceUntil) this.previous = undefined;
    this.q = ring.partitions;
    this.current = new PreferenceLists(currentOf(ring), n, this.o.placementOf);
    this.ringId = ringId(ring);
    this.target = ring.next ? new PreferenceLists(targetOf(ring), n, this.o.placementOf) : undefined;
    this.gained = gainedReplicas(ring, n, this.o.placementOf);

    const mine = this.gained.get(self);
    this.plan =
      mine === undefined || ring.next === undefined
        ? undefined
        : { id: changeId(ring), gains: new Map(mine.map((p) => [p, this.current!.replicas(p).filter((id) => id !== self)])) };

    const others = [this.target, this.previous].filter((x): x is PreferenceLists => x !== undefined);
    const held = new Set<number>();
    const shared = new Map<string, number[]>();
    let forward: Array<readonly string[]> | undefined = others.length > 0 ? [] : undefined;
    let beyond: Array<readonly string[]> | undefined = others.length > 0 ? [] : undefined;
    for (let p = 0; p < ring.partitions; p++) {
      const a = this.current.replicas(p);
      const inA = a.includes(self);
      if (inA) {
        held.add(p);
        for (const id of a) {
          if (id === self) continue;
          let l = shared.get(id);
          if (l === undefined) shared.set(id, (l = []));
          l.push(p);
        }
      }
      if (forward === undefined) continue;
      let targets: string[] | undefined;
      for (const other of others) {
        const b = other.replicas(p);
        const inB = b.includes(self);
        if (inB) held.add(p);
        if (!inA && !inB) continue;
        for (const id of [...a, ...b]) {
          if (id === self || (a.includes(id) && b.includes(id))) continue;
          targets ??= [];
          if (!targets.includes(id)) targets.push(id);
        }
      }
      forward[p] = targets ?? NOBODY;
      const outside = targets?.filter((id) => !a.includes(id));
      beyond![p] = outside !== undefined && outside.length > 0 ? outside : NOBODY;
    }
    if (forward !== undefined && forward.every((t) => t.length === 0)) forward = undefined;
    if (beyond !== undefined && beyond.every((t) => t.length === 0)) beyond = undefined;
    this.forwardMap = forward;
    this.beyondMap = beyond;
    this.sharedMap = shared;
    this.heldSet = held;
    this.o.trees.hold(held, ring.partitions);
    const role = roleIn(ring, self);
    if (role !== 'none') this.wasMember = true;
    if (role !== this.role) {
      this.role = role;
      try {
        this.o.members.setRole(role);
      } catch {
        // membership not running (starting or stopped): set again on the next change
        this.role = undefined;
      }
    }
    this.o.transfer.kick();
  }

  /** Runs a step soon. */
  kick(): void {
    if (this.ticking !== undefined) {
      this.again = true;
      return;
    }
    void this.tick().catch((err: unknown) => this.o.log.warn('handover step failed', { err }));
  }

  /** One step of the state machine; never runs twice at once. */
  tick(): Promise<void> {
    if (this.ticking !== undefined) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          if (this.abort.signal.aborted) return;
          await this.step();
        } while (this.again);
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private async step(): Promise<void> {
    const keeper = this.o.keeper;
    let ring = keeper.ring;
    if (ring === undefined) return;
    const self = this.o.nodeId;
    const cap = this.o.capacityOf;
    if (this.previous !== undefined && this.now() >= this.graceUntil) this.refresh();

    // This node's own intent.
    const role = roleIn(ring, self);
    if (this.intents.self === 'member') {
      if (role === 'leaving') {
        this.intents.self = 'leave'; // another node asked this one to leave
        await this.saveIntents();
      } else if (role === 'none' && !this.left) {
        await keeper.join();
      }
    }
    if (this.intents.self === 'leave' && (role === 'active' || role === 'joining')) {
      await keeper.change((r) => stageLeave(r, self, cap)).catch((err: unknown) => this.o.log.warn('cannot leave', { err }));
    }

    // Nodes this node was asked to take out.
    ring = keeper.ring!;
    for (const [id, kind] of Object.entries(this.intents.departures)) {
      if (!ring.nodes.includes(id)) {
        if (kind === 'remove') {
          try {
            this.o.members.remove(id);
          } catch {
            // not dead in this node's view (yet), or already gone: nothing to do
          }
        }
        delete this.intents.departures[id];
        await this.saveIntents();
        continue;
      }
      if (!ring.next?.leaving.includes(id)) {
        await keeper.change((r) => stageLeave(r, id, cap)).catch((err: unknown) => this.o.log.warn('cannot take a node out', { node: id, err }));
      }
    }

    // The pending change: mark this node ready, complete when everyone is.
    ring = keeper.ring!;
    if (ring.next !== undefined) {
      const id = changeId(ring);
      const plan = this.plan;
      if (plan !== undefined && plan.id === id && this.o.transfer.isDone(id) && !ring.next.ready.includes(self)) {
        await keeper.change((r) => (changeId(r) === id ? markReady(r, self) : r));
        ring = keeper.ring!;
      }
      if (ring.next !== undefined && this.placementKnown(ring) && changeIsReady(ring, this.gained)) {
        const done = await keeper.change((r) => (r.next !== undefined && changeIsReady(r, gainedReplicas(r, this.o.n, this.o.placementOf)) ? completeChange(r) : r));
        if (done !== undefined && done.next === undefined) this.o.log.info('ring change completed', { version: done.version });
      }
      return;
    }

    // Stable ring, grace over: drop what this node no longer replicates, or depart.
    if (this.previous !== undefined) return;
    if (role === 'none') {
      if (this.intents.self === 'leave' && this.wasMember && !this.left) {
        this.left = true;
        this.o.log.info('left the ring; departing');
        await this.o.members.leave();
        this.o.onLeft();
      }
      return;
    }
    const version = `${ring.version}`;
    if (this.droppedFor === version || !this.placementKnown(ring)) return;
    const unheld: number[] = [];
    for (let p = 0; p < ring.partitions; p++) if (!this.heldSet.has(p)) unheld.push(p);
    const left = await this.o.drop.run(unheld, ring.partitions, this.abort.signal);
    if (left.length === 0) this.droppedFor = version;
  }

  /** Placement must be known for every ring node, or preference lists could differ between nodes. */
  private placementKnown(ring: Ring): boolean {
    return ring.nodes.every((id) => this.o.placementOf(id) !== undefined);
  }

  private saveIntents(): Promise<void> {
    return this.o.intents.save(Buffer.from(JSON.stringify(this.intents)));
  }
}

function sameOwners(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
