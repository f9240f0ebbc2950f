// Hinted handoff: versions this node accepted for an unreachable replica go back to
// it once membership sees it again, and are deleted after it acknowledges them.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SiblingSet } from '../codec/index.js';
import type { Clock, Startable } from '../time.js';
import { digest } from '../version/index.js';
import { DeliveryPace, PACE_DEFAULTS, type PaceLimits } from './delivery-pace.js';
import type { ReplicaPeers } from './ports.js';

export interface HintStore {
  /** Owners this node holds hints for. */
  hintOwners(): Promise<string[]>;
  scanHints(owner: string): AsyncIterable<{ key: Buffer; set: SiblingSet; createdAt: number }>;
  /** Deletes the hint if its state still has this digest; false when it changed meanwhile. */
  deleteHint(owner: string, key: Buffer, ifDigest?: bigint): Promise<boolean>;
}

export interface HandoffOptions {
  hints: HintStore;
  peers: ReplicaPeers;
  isReachable: (nodeId: string) => boolean;
  clock: Clock;
  /** How often to look for deliverable hints (also run on kick()). */
  intervalMs: number;
  /** Hints older than this are dropped (counted): anti-entropy repairs what they held. */
  maxAgeMs: number;
  /** Deliveries in flight per owner (single writes; see batch for batches). */
  concurrency: number;
  /**
   * Whether owner takes several hints per request (ReplicaWrites, protocol 3).
   * Absent, or false for an owner: one request per hint. A request per hint keeps
   * only `concurrency` hints in flight, so across a WAN delivery is bounded by the
   * round trip (16 per 40 ms: 400 hints/s); batches are not.
   */
  canBatch?: (owner: string) => boolean;
  /** Hints per batch (256), estimated bytes per batch (1 MiB), batches in flight per owner (4), a batch's timeout (5 × replicaTimeoutMs). */
  batch?: Partial<BatchLimits>;
  /**
   * Batches yield to the owner's live traffic (delivery-pace.ts): up to
   * batch.inFlight in flight while the owner answers them within targetMs
   * (default 20) of its fastest reply, fewer, then gaps of up to maxGapMs (default
   * 1000) between them, while it does not. false: always batch.inFlight.
   */
  pace?: Partial<Omit<PaceLimits, 'maxInFlight'>> | false;
  /** Waits ms; false when `signal` aborted the wait. For tests; default a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<boolean>;
  /**
   * Bandwidth of delivery: each request waits for its (estimated) bytes; false when
   * `signal` aborted the wait (stop()). Absent: no limit.
   */
  budget?: { take(bytes: number, signal?: AbortSignal): Promise<boolean> };
  /** Delay before delivering the hints of a reachable owner that just got one (hinted()); default 250 ms. */
  promptDelayMs?: number;
  /**
   * After a failed delivery to an owner membership still reports reachable (busy
   * catching up, say): the first retry's delay, doubling per further failure up to
   * intervalMs; default 1000 ms.
   */
  retryDelayMs?: number;
  replicaTimeoutMs: number;
  /**
   * For an owner that is no longer in the ring (it left, or was removed), where its
   * hints go instead: a function delivering one hint to the key's current
   * replicas. Undefined while the owner is still a ring member.
   */
  redirect?: (owner: string) => ((key: Buffer, set: SiblingSet) => Promise<void>) | undefined;
}

export interface BatchLimits {
  hints: number;
  bytes: number;
  inFlight: number;
  timeoutMs: number;
}

export interface HandoffStats {
  delivered: number;
  /** Requests that carried several hints (ReplicaWrites). */
  batches: number;
  /** Hints of departed owners delivered to the key's current replicas instead. */
  redirected: number;
  failed: number;
  expired: number;
  runs: number;
  /** Milliseconds delivery waited between batches for owners that answered late (pace). */
  yieldedMs: number;
}

export class HintedHandoff implements Startable {
  readonly stats: HandoffStats = { delivered: 0, batches: 0, redirected: 0, failed: 0, expired: 0, runs: 0, yieldedMs: 0 };
  private readonly limits: BatchLimits;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** Reachable owners with new hints (hinted()), delivered on a short timer. */
  private readonly due = new Set<string>();
  private dueTimer: NodeJS.Timeout | undefined;
  /** Reachable owners whose delivery failed: consecutive failures, and the retry's timer. */
  private readonly retries = new Map<string, { failures: number; timer: NodeJS.Timeout | undefined }>();
  /** start() arms the timer; runOnce() works without it (tools, tests). */
  private active = false;
  private stopped = false;
  /** Aborted by stop(), so that no wait for budget outlives the handoff. */
  private halt = new AbortController();

  constructor(private readonly o: HandoffOptions) {
    this.limits = { hints: 256, bytes: 1024 * 1024, inFlight: 4, timeoutMs: 5 * o.replicaTimeoutMs, ...o.batch };
  }

  async start(): Promise<void> {
    this.active = true;
    this.stopped = false;
    if (this.halt.signal.aborted) this.halt = new AbortController();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
    await this.running;
  }

  /** Runs a delivery pass now (e.g. when a member comes back). */
  kick(): void {
    if (this.stopped || !this.active) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.run(() => this.pass());
  }

  /**
   * A hint was just stored for owner. An owner that membership reports reachable
   * was only slow (a replica write timed out): its hints go back within
   * promptDelayMs rather than at the next pass, so that it does not miss the write
   * for longer than it must. A pass for the due owners alone, not all of them.
   */
  hinted(owner: string): void {
    if (this.stopped || !this.active || !this.o.isReachable(owner)) return;
    this.due.add(owner);
    this.armDue();
  }

  /** A delivery to a reachable owner failed: try its hints again soon, backing off, rather than at the next pass. */
  private retryLater(owner: string): void {
    if (this.stopped || !this.active) return;
    const r = this.retries.get(owner) ?? { failures: 0, timer: undefined };
    this.retries.set(owner, r);
    r.failures++;
    if (r.timer !== undefined) return;
    const delay = Math.min(this.o.intervalMs, (this.o.retryDelayMs ?? 1000) * 2 ** Math.min(r.failures - 1, 20));
    r.timer = setTimeout(() => {
      r.timer = undefined;
      this.hinted(owner);
    }, delay);
    r.timer.unref();
  }

  private armDue(): void {
    if (this.dueTimer !== undefined) return;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      if (this.stopped || !this.active) return;
      if (this.running) return this.armDue(); // after the pass in progress
      const owners = [...this.due];
      this.due.clear();
      this.run(async () => {
        for (const owner of owners) {
          if (this.stopped) return;
          await this.deliver(owner, this.o.isReachable(owner));
        }
      });
    }, this.o.promptDelayMs ?? 250);
    this.dueTimer.unref();
  }

  private run(work: () => Promise<void>): void {
    clearTimeout(this.timer);
    this.running = work().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      } else this.schedule();
    });
  }

  /** One pass over every owner; resolves when it is done. */
  async runOnce(): Promise<void> {
    await this.running;
    await this.pass();
  }

  private schedule(): void {
    if (this.stopped || !this.active) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), this.o.intervalMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    this.stats.runs++;
    for (const owner of await this.o.hints.hintOwners()) {
      if (this.stopped) return;
      await this.deliver(owner, this.o.isReachable(owner));
    }
  }

  private async deliver(owner: string, reachable: boolean): Promise<void> {
    const elsewhere = this.o.redirect?.(owner);
    const send = elsewhere ?? ((key: Buffer, set: SiblingSet) => this.o.peers.write(owner, key, set, '', this.o.replicaTimeoutMs));
    if (elsewhere !== undefined) reachable = true;
    const batched = elsewhere === undefined && this.o.peers.writeMany !== undefined && this.o.canBatch?.(owner) === true;
    const pace = batched && this.o.pace !== false ? new DeliveryPace({ ...PACE_DEFAULTS, ...this.o.pace, maxInFlight: this.limits.inFlight }) : undefined;
    const limit = (): number => (pace !== undefined ? pace.inFlight : batched ? this.limits.inFlight : this.o.concurrency);
    const oldest = this.o.clock.now() - this.o.maxAgeMs;
    const inFlight = new Set<Promise<void>>();
    let broken = false;
    const track = (p: Promise<void>): void => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    const delivered = async (key: Buffer, set: SiblingSet): Promise<void> => {
      await this.o.hints.deleteHint(owner, key, digest(set));
      if (elsewhere !== undefined) this.stats.redirected++;
      else this.stats.delivered++;
    };
    const failed = (n: number): void => {
      this.stats.failed += n;
      broken = true; // the owner stopped answering: retry soon if it is still reachable, else next pass
    };
    let batch: Hint[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      const hs = batch;
      const n = bytes;
      batch = [];
      bytes = 0;
      if (this.o.budget !== undefined && !(await this.o.budget.take(n, this.halt.signal))) return;
      const gap = pace?.gapMs ?? 0;
      if (gap > 0) {
        if (!(await this.pause(gap))) return;
        this.stats.yieldedMs += gap;
      }
      this.stats.batches++;
      const sentAt = this.o.clock.now();
      // A small batch (the last one) takes less time at the owner than a full one: it says nothing of its load.
      const full = hs.length * 2 >= this.limits.hints || n * 2 >= this.limits.bytes;
      track(
        this.o.peers.writeMany!(owner, hs, this.limits.timeoutMs).then(
          async (bad) => {
            if (pace !== undefined && full) pace.answered(sentAt, this.o.clock.now());
            if (bad.length > 0) failed(bad.length);
            const done: Promise<void>[] = [];
            for (let i = 0, j = 0; i < hs.length; i++) {
              if (j < bad.length && bad[j] === i) j++;
              else done.push(delivered(hs[i]!.key, hs[i]!.set));
            }
            await Promise.all(done);
          },
          () => failed(hs.length),
        ),
      );
    };
    for await (const h of this.o.hints.scanHints(owner)) {
      if (this.stopped || broken) break;
      if (h.createdAt < oldest) {
        if (await this.o.hints.deleteHint(owner, h.key, digest(h.set))) this.stats.expired++;
        continue;
      }
      if (!reachable) continue;
      const size = batched || this.o.budget !== undefined ? estimatedBytes(h) : 0;
      if (batched && size <= this.limits.bytes) {
        if (bytes + size > this.limits.bytes) await flush();
        batch.push(h);
        bytes += size;
        if (batch.length >= this.limits.hints) await flush();
      } else {
        // One request per hint, and for a hint too large to share a batch.
        if (this.o.budget !== undefined && !(await this.o.budget.take(size, this.halt.signal))) break;
        track(send(h.key, h.set).then(() => delivered(h.key, h.set), () => failed(1)));
      }
      while (inFlight.size >= limit()) await Promise.race(inFlight);
    }
    if (batch.length > 0 && !this.stopped && !broken) await flush();
    await Promise.allSettled([...inFlight]);
    if (!reachable || elsewhere !== undefined) return;
    if (broken) {
      if (this.o.isReachable(owner)) this.retryLater(owner);
    } else {
      clearTimeout(this.retries.get(owner)?.timer);
      this.retries.delete(owner);
    }
  }

  /** Waits ms, unless stop() comes first (then false). */
  private pause(ms: number): Promise<boolean> {
    if (this.o.sleep !== undefined) return this.o.sleep(ms, this.halt.signal);
    return sleep(ms, true, { signal: this.halt.signal }).catch(() => false);
  }
}

interface Hint {
  key: Buffer;
  set: SiblingSet;
}

/** About what a hint adds to a ReplicaWrites frame. */
function estimatedBytes(h: Hint): number {
  let n = 16 + h.key.length + h.set.clock.length;
  for (const s of h.set.siblings) n += 40 + s.value.length;
  return n;
}
