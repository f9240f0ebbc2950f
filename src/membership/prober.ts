// SWIM's failure detector: once per period, ping the next member of the probe
// order; without an ack within the probe timeout, ask k others to ping it for us
// (ping-req); without any ack by the end of the period, suspect it. Intermediaries
// answer a ping-req with the target's ack, or with a nack when the target stays
// silent, so that a prober whose own link is the problem notices (Lifeguard).
import { MemberStatus } from '../codec/index.js';
import type { Ack, Member, Nack, Ping, PingReq } from '../codec/index.js';
import type { Awareness } from './awareness.js';
import type { MembershipConfig } from './config.js';
import { ProbeOrder } from './probe-order.js';
import type { TimerHandle, Timers } from './timers.js';
import type { MemberView } from './view.js';
import { sample } from './sample.js';

export type ProbeBody = { ping: Ping } | { ack: Ack } | { pingReq: PingReq } | { nack: Nack };

export interface ProberHooks {
  /** Sends body with piggybacked updates; `aboutTarget` asks to include what this node holds against the target. */
  send(host: string, port: number, body: ProbeBody, aboutTarget?: Member): void;
  /** The probe of `member` (at the incarnation it had then) failed. */
  failed(id: string, incarnation: number): void;
}

export interface ProbeCounters {
  probes: number;
  probeFailures: number;
  indirectProbes: number;
  pingReqsServed: number;
  nacksSent: number;
  nacksReceived: number;
  misdirected: number;
}

interface Waiter {
  onAck: () => void;
  onNack: () => void;
}

export class Prober {
  readonly counters: ProbeCounters = {
    probes: 0,
    probeFailures: 0,
    indirectProbes: 0,
    pingReqsServed: 0,
    nacksSent: 0,
    nacksReceived: 0,
    misdirected: 0,
  };
  readonly order: ProbeOrder;
  private readonly waiters = new Map<number, Waiter>();
  private readonly timers = new Set<TimerHandle>();
  private tickTimer: TimerHandle | undefined;
  private seq = Math.floor(Math.random() * 0xffffffff);
  private running = false;

  constructor(
    private readonly selfId: string,
    private readonly view: MemberView,
    private readonly config: MembershipConfig,
    private readonly clock: Timers,
    private readonly awareness: Awareness,
    private readonly random: () => number,
    private readonly hooks: ProberHooks,
  ) {
    this.order = new ProbeOrder(selfId, random);
  }

  /** Starts the probe loop; the first probe comes at a random point of the first period. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tickTimer = this.clock.after(Math.floor(this.random() * this.config.probeIntervalMs), () => this.tick());
  }

  /** Stops probing; acks that arrive later are ignored. Incoming pings are still answered until stop(). */
  pause(): void {
    this.running = false;
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
  }

  stop(): void {
    this.pause();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.waiters.clear();
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** Calls onAck if an ack with `seq` arrives (once), until forget(seq). */
  expect(seq: number, onAck: () => void, onNack: () => void = () => {}): void {
    this.waiters.set(seq, { onAck, onNack });
  }

  forget(seq: number): void {
    this.waiters.delete(seq);
  }

  // ---------------------------------------------------------------- incoming

  onPing(ping: Ping, host: string, port: number): void {
    // A ping meant for a member that used to live at this address is not ours to answer.
    if (ping.target !== '' && ping.target !== this.selfId) {
      this.counters.misdirected++;
      return;
    }
    this.hooks.send(host, port, { ack: { seq: ping.seq } });
  }

  onAck(ack: Ack): void {
    const w = this.waiters.get(ack.seq);
    if (w === undefined) return;
    this.waiters.delete(ack.seq);
    w.onAck();
  }

  onNack(nack: Nack): void {
    this.counters.nacksReceived++;
    this.waiters.get(nack.seq)?.onNack();
  }

  /** Pings the target for the requester; relays its ack, or a nack when it stays silent. */
  onPingReq(req: PingReq, host: string, port: number): void {
    this.counters.pingReqsServed++;
    const seq = this.nextSeq();
    const timer = this.after(this.awareness.scale(this.config.probeTimeoutMs), () => {
      this.waiters.delete(seq);
      this.counters.nacksSent++;
      this.hooks.send(host, port, { nack: { seq: req.seq } });
    });
    this.expect(seq, () => {
      this.cancel(timer);
      this.hooks.send(host, port, { ack: { seq: req.seq } });
    });
    this.hooks.send(req.host, req.port, { ping: { seq, target: req.target } });
  }

  // ---------------------------------------------------------------- the loop

  private tick(): void {
    if (!this.running) return;
    const period = this.awareness.scale(this.config.probeIntervalMs);
    this.tickTimer = this.clock.after(period, () => this.tick());
    const target = this.order.next(this.view);
    if (target !== undefined) this.probe(target, period);
  }

  private probe(target: Member, period: number): void {
    this.counters.probes++;
    const seq = this.nextSeq();
    const incarnation = target.incarnation;
    let acked = false;
    let nacks = 0;
    let expectedNacks = 0;
    this.expect(
      seq,
      () => {
        acked = true;
      },
      () => {
        nacks++;
      },
    );
    // Lifeguard's buddy system: a suspect learns of the suspicion from the ping
    // itself, so it can refute in the ack even if the gossip missed it.
    this.hooks.send(target.host, target.port, { ping: { seq, target: target.id } }, target.status === MemberStatus.SUSPECT ? target : undefined);

    const indirect = this.after(this.awareness.scale(this.config.probeTimeoutMs), () => {
      if (acked) return;
      for (const m of this.helpers(target.id)) {
        expectedNacks++;
        this.counters.indirectProbes++;
        this.hooks.send(m.host, m.port, { pingReq: { seq, target: target.id, host: target.host, port: target.port } });
      }
    });
    this.after(period, () => {
      this.cancel(indirect);
      this.waiters.delete(seq);
      if (acked) {
        this.awareness.apply(-1);
        return;
      }
      // Helpers that did not even nack suggest the trouble is here (Lifeguard).
      this.awareness.apply(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
      if (!this.running) return;
      this.counters.probeFailures++;
      this.hooks.failed(target.id, incarnation);
    });
  }

  /** Up to k random alive members other than this node and the target. */
  private helpers(targetId: string): Member[] {
    return sample(this.view.values(), this.config.indirectChecks, (m) => m.id !== this.selfId && m.id !== targetId && m.status === MemberStatus.ALIVE, this.random);
  }

  private after(ms: number, fn: () => void): TimerHandle {
    const h: TimerHandle = this.clock.after(ms, () => {
      this.timers.delete(h);
      fn();
    });
    this.timers.add(h);
    return h;
  }

  private cancel(h: TimerHandle): void {
    h.cancel();
    this.timers.delete(h);
  }
}
