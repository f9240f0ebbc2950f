// How the view changes: every update, from gossip, from a push-pull or from this
// node's own probes, passes through here. Accepted changes are re-gossiped (the
// infection), suspicions get a Lifeguard timer, and anything said about this node
// that it disagrees with is refuted by raising its incarnation.
import { MemberStatus } from '../codec/index.js';
import type { Member, MemberUpdate } from '../codec/index.js';
import { BadRequestError } from '../errors.js';
import type { Awareness } from './awareness.js';
import type { BroadcastQueue } from './broadcast-queue.js';
import { suspicionTimeouts } from './config.js';
import type { MembershipConfig } from './config.js';
import { supersedes } from './precedence.js';
import { SuspicionTimer } from './suspicion.js';
import type { Timers } from './timers.js';
import type { MemberView } from './view.js';

/** What happened to a member: it appeared alive, changed while alive, changed status, or was forgotten. */
export type MemberEventName = 'joined' | 'updated' | 'alive' | 'suspect' | 'dead' | 'left' | 'removed';

export interface StateMachineHooks {
  encodeUpdate(u: MemberUpdate): Uint8Array;
  /** A view change; `member` and `previous` are the view's own objects (copy to keep). */
  emit(name: MemberEventName, member: Member, previous: Member | undefined): void;
  /** This node's incarnation changed (persist it). */
  incarnationChanged(n: number): void;
  /** A member entered the view. */
  added(id: string): void;
  /** An update was queued for gossip. */
  queued(): void;
}

export interface StateCounters {
  refutations: number;
  suspicionsRaised: number;
  confirmations: number;
  declaredDead: number;
}

export function copyMember(m: Member): Member {
  return {
    id: m.id,
    host: m.host,
    port: m.port,
    dc: m.dc,
    rack: m.rack,
    capacity: m.capacity,
    incarnation: m.incarnation,
    status: m.status,
    ringStatus: m.ringStatus,
    httpPort: m.httpPort,
    protocol: m.protocol,
    statusAt: m.statusAt,
  };
}

/** Same entry apart from incarnation, status and statusAt. */
function sameMetadata(a: Member, b: Member): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.dc === b.dc &&
    a.rack === b.rack &&
    a.capacity === b.capacity &&
    a.ringStatus === b.ringStatus &&
    a.httpPort === b.httpPort &&
    a.protocol === b.protocol
  );
}

export class StateMachine {
  readonly counters: StateCounters = { refutations: 0, suspicionsRaised: 0, confirmations: 0, declaredDead: 0 };
  private readonly suspicions = new Map<string, SuspicionTimer>();
  private leaving = false;

  constructor(
    private readonly selfId: string,
    private readonly view: MemberView,
    private readonly queue: BroadcastQueue<MemberUpdate>,
    private readonly config: MembershipConfig,
    private readonly timers: Timers,
    private readonly awareness: Awareness,
    private readonly hooks: StateMachineHooks,
  ) {}

  get self(): Member {
    return this.view.get(this.selfId)!;
  }

  get hasLeft(): boolean {
    return this.leaving;
  }

  /** Puts this node in the view, alive, and announces it. */
  init(self: Member): void {
    this.view.set(self);
    this.broadcast(self.id, { id: self.id, incarnation: self.incarnation, status: MemberStatus.ALIVE, from: self.id, member: copyMember(self) });
  }

  /** Applies one gossiped update; accepted changes are gossiped on. */
  apply(u: MemberUpdate): void {
    switch (u.status) {
      case MemberStatus.ALIVE:
        if (u.member) this.alive(u.member, true);
        break;
      case MemberStatus.SUSPECT:
        this.suspect(u.id, u.incarnation, u.from, undefined, true);
        break;
      case MemberStatus.DEAD:
        this.dead(u.id, u.incarnation, u.from, undefined, true);
        break;
      case MemberStatus.LEFT:
        this.left(u.id, u.incarnation, u.member ?? undefined, true);
        break;
    }
  }

  /**
   * Merges a peer's full state (push-pull). As in memberlist, a member the peer
   * thinks dead is only suspected here: this node may still reach it, and the
   * member gets the chance to refute. Entries new to this node are not re-gossiped
   * (the peer already spread them), except the peer's own entry, members[0].
   */
  merge(members: readonly Member[]): void {
    members.forEach((r, i) => {
      const known = this.view.has(r.id);
      const gossip = known || i === 0;
      switch (r.status) {
        case MemberStatus.ALIVE:
          this.alive(r, gossip);
          break;
        case MemberStatus.SUSPECT:
          this.suspect(r.id, r.incarnation, '', r, gossip);
          break;
        case MemberStatus.DEAD:
          if (known || r.id === this.selfId) this.suspect(r.id, r.incarnation, '', r, gossip);
          else this.dead(r.id, r.incarnation, '', r, false);
          break;
        case MemberStatus.LEFT:
          this.left(r.id, r.incarnation, r, gossip);
          break;
      }
    });
  }

  /** This node's probe of `id` at `incarnation` failed: suspect it. */
  probeFailed(id: string, incarnation: number): void {
    const cur = this.view.get(id);
    if (cur === undefined) return;
    this.counters.suspicionsRaised++;
    this.suspect(id, incarnation, this.selfId, undefined, true);
  }

  /** New metadata for this node: a higher incarnation makes it win everywhere. */
  updateSelf(change: Partial<Pick<Member, 'ringStatus' | 'capacity' | 'httpPort' | 'dc' | 'rack'>>): void {
    if (this.leaving) throw new BadRequestError('this member has left');
    const self = this.self;
    const prev = copyMember(self);
    Object.assign(self, change);
    self.incarnation++;
    this.view.changed(self.id);
    this.announceSelf();
    this.hooks.emit('updated', self, prev);
  }

  /** Marks this node left and returns the update that says so (also queued). */
  leaveSelf(now: number): MemberUpdate {
    const self = this.self;
    const prev = copyMember(self);
    this.leaving = true;
    self.status = MemberStatus.LEFT;
    self.statusAt = now;
    this.view.changed(self.id);
    const u: MemberUpdate = { id: self.id, incarnation: self.incarnation, status: MemberStatus.LEFT, from: self.id, member: copyMember(self) };
    this.broadcast(self.id, u);
    this.hooks.emit('left', self, prev);
    return u;
  }

  /** An operator's removal of a dead member: it becomes left, everywhere. */
  remove(id: string): void {
    const cur = this.view.get(id);
    if (cur === undefined) throw new BadRequestError(`no member ${id}`);
    if (id === this.selfId) throw new BadRequestError('a member cannot remove itself; use leave');
    if (cur.status === MemberStatus.LEFT) return;
    if (cur.status !== MemberStatus.DEAD) throw new BadRequestError(`member ${id} is not dead; only a dead member can be removed`);
    this.left(id, cur.incarnation, { ...copyMember(cur), status: MemberStatus.LEFT, statusAt: Math.floor(this.timers.now()) }, true);
  }

  /** Forgets left members whose retention has passed. */
  collect(now: number): void {
    for (const m of [...this.view.values()]) {
      if (m.status === MemberStatus.LEFT && m.id !== this.selfId && m.statusAt + this.config.leftRetentionMs <= now) {
        this.view.delete(m.id);
        this.queue.delete(m.id);
        this.hooks.emit('removed', m, m);
      }
    }
  }

  /** Cancels every suspicion timer. */
  stop(): void {
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
  }

  // ---------------------------------------------------------------- transitions

  private alive(m: Member, gossip: boolean): void {
    if (m.id === this.selfId) {
      this.aboutSelf(m.incarnation, MemberStatus.ALIVE, m);
      return;
    }
    const cur = this.view.get(m.id);
    if (!supersedes(cur, m.incarnation, MemberStatus.ALIVE)) return;
    this.cancelSuspicion(m.id);
    const prev = cur === undefined ? undefined : copyMember(cur);
    const next = copyMember(m);
    next.status = MemberStatus.ALIVE;
    next.statusAt = cur !== undefined && cur.status === MemberStatus.ALIVE ? cur.statusAt : Math.floor(this.timers.now());
    this.view.set(next);
    if (gossip) this.broadcast(m.id, { id: m.id, incarnation: m.incarnation, status: MemberStatus.ALIVE, from: '', member: copyMember(next) });
    if (prev === undefined) this.hooks.added(m.id);
    this.hooks.emit(prev === undefined ? 'joined' : prev.status === MemberStatus.ALIVE ? 'updated' : 'alive', next, prev);
  }

  private suspect(id: string, incarnation: number, from: string, full: Member | undefined, gossip: boolean): void {
    if (id === this.selfId) {
      this.aboutSelf(incarnation, MemberStatus.SUSPECT, undefined);
      return;
    }
    const cur = this.view.get(id);
    if (cur === undefined) {
      if (full !== undefined) this.add(full, MemberStatus.SUSPECT, from);
      return;
    }
    if (cur.status === MemberStatus.SUSPECT && cur.incarnation === incarnation) {
      // Another member confirms: shorten the timer and pass the confirmation on.
      if (from !== '' && this.suspicions.get(id)?.confirm(from)) {
        this.counters.confirmations++;
        if (gossip) this.broadcast(id, { id, incarnation, status: MemberStatus.SUSPECT, from, member: null });
      }
      return;
    }
    if (!supersedes(cur, incarnation, MemberStatus.SUSPECT)) return;
    const prev = copyMember(cur);
    cur.incarnation = incarnation;
    cur.status = MemberStatus.SUSPECT;
    cur.statusAt = Math.floor(this.timers.now());
    this.view.changed(id);
    this.startSuspicion(id, incarnation, from);
    if (gossip) this.broadcast(id, { id, incarnation, status: MemberStatus.SUSPECT, from, member: null });
    this.hooks.emit('suspect', cur, prev);
  }

  private dead(id: string, incarnation: number, from: string, full: Member | undefined, gossip: boolean): void {
    if (id === this.selfId) {
      this.aboutSelf(incarnation, MemberStatus.DEAD, undefined);
      return;
    }
    const cur = this.view.get(id);
    if (cur === undefined) {
      if (full !== undefined) this.add(full, MemberStatus.DEAD, from);
      return;
    }
    if (!supersedes(cur, incarnation, MemberStatus.DEAD)) return;
    this.cancelSuspicion(id);
    const prev = copyMember(cur);
    cur.incarnation = incarnation;
    cur.status = MemberStatus.DEAD;
    cur.statusAt = Math.floor(this.timers.now());
    this.view.changed(id);
    if (gossip) this.broadcast(id, { id, incarnation, status: MemberStatus.DEAD, from, member: null });
    this.hooks.emit('dead', cur, prev);
  }

  private left(id: string, incarnation: number, full: Member | undefined, gossip: boolean): void {
    if (id === this.selfId) {
      this.aboutSelf(incarnation, MemberStatus.LEFT, undefined);
      return;
    }
    const now = Math.floor(this.timers.now());
    // statusAt of a left entry is when the member left, as its announcer said. An
    // unknown member's entry already past its retention is not taken in: members that
    // forget it at different times would otherwise hand it back and forth for ever.
    // A known one still becomes left (and is forgotten at the next collection).
    const leftAt = full !== undefined && full.statusAt > 0 ? Math.min(full.statusAt, now) : now;
    const cur = this.view.get(id);
    if (cur === undefined && leftAt + this.config.leftRetentionMs <= now) return;
    if (!supersedes(cur, incarnation, MemberStatus.LEFT)) return;
    const base = full ?? cur;
    if (base === undefined) return;
    this.cancelSuspicion(id);
    const prev = cur === undefined ? undefined : copyMember(cur);
    const next = copyMember(base);
    next.incarnation = incarnation;
    next.status = MemberStatus.LEFT;
    next.statusAt = leftAt;
    this.view.set(next);
    if (gossip) this.broadcast(id, { id, incarnation, status: MemberStatus.LEFT, from: '', member: copyMember(next) });
    if (prev === undefined) this.hooks.added(id);
    this.hooks.emit('left', next, prev);
  }

  /** A member first learned from a push-pull in a state other than alive. */
  private add(full: Member, status: MemberStatus, from: string): void {
    const next = copyMember(full);
    next.status = status;
    next.statusAt = Math.floor(this.timers.now());
    this.view.set(next);
    if (status === MemberStatus.SUSPECT) this.startSuspicion(next.id, next.incarnation, from);
    this.hooks.added(next.id);
    this.hooks.emit(status === MemberStatus.SUSPECT ? 'suspect' : 'dead', next, undefined);
  }

  /** Something was said about this node: refute it unless it is stale or true. */
  private aboutSelf(incarnation: number, status: MemberStatus, member: Member | undefined): void {
    if (this.leaving) return;
    const self = this.self;
    if (incarnation < self.incarnation) return;
    if (status === MemberStatus.ALIVE && incarnation === self.incarnation && member !== undefined && sameMetadata(member, self)) return;
    const prev = copyMember(self);
    self.incarnation = Math.max(self.incarnation, incarnation) + 1;
    this.view.changed(self.id);
    this.counters.refutations++;
    // Being suspected hints that this node may be the slow one (Lifeguard).
    if (status === MemberStatus.SUSPECT || status === MemberStatus.DEAD) this.awareness.apply(1);
    this.announceSelf();
    this.hooks.emit('updated', self, prev);
  }

  private announceSelf(): void {
    const self = this.self;
    this.broadcast(self.id, { id: self.id, incarnation: self.incarnation, status: MemberStatus.ALIVE, from: self.id, member: copyMember(self) });
    this.hooks.incarnationChanged(self.incarnation);
  }

  private startSuspicion(id: string, incarnation: number, from: string): void {
    this.cancelSuspicion(id);
    const { minMs, maxMs, confirmations } = suspicionTimeouts(this.config, this.view.activeCount);
    const timer = new SuspicionTimer(this.timers, from, confirmations, minMs, maxMs, () => {
      this.suspicions.delete(id);
      const cur = this.view.get(id);
      if (cur === undefined || cur.status !== MemberStatus.SUSPECT || cur.incarnation !== incarnation) return;
      this.counters.declaredDead++;
      this.dead(id, incarnation, this.selfId, undefined, true);
    });
    this.suspicions.set(id, timer);
  }

  private cancelSuspicion(id: string): void {
    const s = this.suspicions.get(id);
    if (s === undefined) return;
    s.cancel();
    this.suspicions.delete(id);
  }

  private broadcast(id: string, u: MemberUpdate): void {
    this.queue.push(id, u, this.hooks.encodeUpdate(u));
    this.hooks.queued();
  }
}
