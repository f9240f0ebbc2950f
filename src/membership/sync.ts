// Full-state synchronisation over the push-pull channel: joining through seeds
// (retried with backoff until some member is known), a periodic exchange with one
// random live member so that large divergences heal, and a slower exchange with one
// random dead member so that the two sides of a healed partition find each other.
import { MemberStatus } from '../codec/index.js';
import type { Member, PushPull } from '../codec/index.js';
import { pushPullInterval } from './config.js';
import type { MembershipConfig } from './config.js';
import type { PushPullChannel } from './push-pull.js';
import type { TimerHandle, Timers } from './timers.js';
import type { MemberView } from './view.js';

export interface SyncHooks {
  /** This node's state to send; members[0] is this node. */
  localState(join: boolean): PushPull;
  /** Merges a peer's state (validated there; may throw on a malformed one). */
  merge(remote: PushPull): void;
}

export interface SyncCounters {
  pushPulls: number;
  pushPullFailures: number;
  joinAttempts: number;
  joined: number;
  reconnects: number;
}

export interface Seed {
  host: string;
  port: number;
}

/** Parses "host:port" (IPv6 as "[::1]:port"); throws RangeError otherwise. */
export function parseSeed(text: string): Seed {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port <= 65535)) throw new RangeError(`a seed must be "host:port", got ${JSON.stringify(text)}`);
  return { host: m[1]!, port };
}

export class StateSync {
  readonly counters: SyncCounters = { pushPulls: 0, pushPullFailures: 0, joinAttempts: 0, joined: 0, reconnects: 0 };
  private running = false;
  private readonly handles = new Set<TimerHandle>();
  private joinDelay: number;

  constructor(
    private readonly self: () => Member,
    private readonly view: MemberView,
    private readonly config: MembershipConfig,
    private readonly timers: Timers,
    private readonly random: () => number,
    private readonly channel: PushPullChannel,
    private readonly hooks: SyncHooks,
  ) {
    this.joinDelay = config.joinRetryMinMs;
  }

  /** Starts the periodic exchanges. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedulePushPull();
    this.scheduleReconnect();
  }

  stop(): void {
    this.running = false;
    for (const h of this.handles) h.cancel();
    this.handles.clear();
  }

  /**
   * One join round: a push-pull with every seed (other than this node) at once.
   * Resolves with the number of seeds that answered. When none did and no other
   * member is known, retries later, with exponential backoff, until one answers or
   * another member finds this one.
   */
  async join(seeds: readonly Seed[]): Promise<number> {
    const self = this.self();
    const targets = seeds.filter((s) => !(s.port === self.port && s.host === self.host));
    if (targets.length === 0) return 0;
    this.counters.joinAttempts++;
    const results = await Promise.allSettled(targets.map((s) => this.exchange(s.host, s.port, true)));
    const reached = results.filter((r) => r.status === 'fulfilled' && r.value).length;
    if (reached > 0) {
      this.counters.joined++;
      this.joinDelay = this.config.joinRetryMinMs;
    } else if (this.running && !this.knowsOthers()) {
      const wait = this.joinDelay * (0.75 + 0.5 * this.random());
      this.joinDelay = Math.min(this.config.joinRetryMaxMs, this.joinDelay * 2);
      this.after(wait, () => {
        if (!this.knowsOthers()) void this.join(seeds);
      });
    }
    return reached;
  }

  /** Exchanges state with host:port and merges the reply; false when it failed. */
  async exchange(host: string, port: number, join = false): Promise<boolean> {
    this.counters.pushPulls++;
    try {
      const reply = await this.channel.exchange(host, port, this.hooks.localState(join), this.config.pushPullTimeoutMs);
      if (!this.running) return false;
      this.hooks.merge(reply);
      return true;
    } catch {
      this.counters.pushPullFailures++;
      return false;
    }
  }

  private knowsOthers(): boolean {
    const selfId = this.self().id;
    for (const m of this.view.values()) if (m.id !== selfId && m.status === MemberStatus.ALIVE) return true;
    return false;
  }

  private schedulePushPull(): void {
    const interval = pushPullInterval(this.config, this.view.activeCount);
    this.after(interval * (0.5 + this.random()), () => {
      const peer = this.pick(MemberStatus.ALIVE);
      if (peer !== undefined) void this.exchange(peer.host, peer.port);
      this.schedulePushPull();
    });
  }

  private scheduleReconnect(): void {
    this.after(this.config.reconnectIntervalMs * (0.5 + this.random()), () => {
      const peer = this.pick(MemberStatus.DEAD);
      if (peer !== undefined) {
        this.counters.reconnects++;
        void this.exchange(peer.host, peer.port);
      }
      this.scheduleReconnect();
    });
  }

  /** A random member in `status`, other than this node. */
  private pick(status: MemberStatus): Member | undefined {
    const selfId = this.self().id;
    let chosen: Member | undefined;
    let seen = 0;
    for (const m of this.view.values()) {
      if (m.id === selfId || m.status !== status) continue;
      seen++;
      if (this.random() * seen < 1) chosen = m;
    }
    return chosen;
  }

  private after(ms: number, fn: () => void): void {
    if (!this.running) return;
    const h: TimerHandle = this.timers.after(ms, () => {
      this.handles.delete(h);
      if (this.running) fn();
    });
    this.handles.add(h);
  }
}

