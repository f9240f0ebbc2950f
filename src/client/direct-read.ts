// A get coordinated by the SDK itself (the Dynamo paper's client-driven reads):
// ask R of the key's replicas straight, merge their sibling sets, answer. It
// saves the coordinator's hop, which is most of a get's cost. Anything it cannot
// settle on its own rejects, and the client falls back to a coordinating node.
import type { Member, QuorumScopeCode, SiblingSet } from '../codec/index.js';
import type { LatencyWindow } from '../coordinator/index.js';
import { ShoalError, UnavailableError } from '../errors.js';
import type { Body, ReplyHandler } from '../transport/index.js';
import { liveValues, sameVersions, sync } from '../version/index.js';

export interface GetResult {
  values: Buffer[];
  context: Buffer;
}

/** What a direct read needs of the client (one object, not one per read). */
export interface DirectReadOwner {
  /** One request to a node, with the client's deadline; the outcome goes to `handler`. */
  send(m: Member, body: Body, handler: ReplyHandler): void;
  /** Recent direct-read times (ms, until R answers), for when to ask one more replica. */
  readonly times: LatencyWindow;
  /** Called when the asked replicas disagreed: a node should read (and repair) these many, in this scope. */
  repair(key: Buffer, replicas: number, scope: QuorumScopeCode): void;
  /** Called when a replica answered that the client's ring is not its own. */
  staleRing(): void;
  /** Counted when a slow read made the client ask one more replica. */
  speculated(): void;
}

/**
 * One get: asks `r` replicas, then a spare for each one that is absent, fails or
 * is slow (the read takes longer than the window's percentile of recent reads,
 * Cassandra's speculative_retry = '99p'); resolves once r replicas hold the key,
 * or once every asked one has answered and at least r did (absent counts then, as
 * Riak's notfound_ok = false). When all asked replicas have answered, those that
 * differ from the merge get a read repair through the owner.
 */
export class DirectRead implements ReplyHandler {
  readonly done: Promise<GetResult>;
  private resolve!: (v: GetResult) => void;
  private reject!: (e: Error) => void;
  private merged: SiblingSet | undefined;
  private readonly answers: Array<SiblingSet | undefined> = [];
  private asked = 0;
  private outstanding = 0;
  private found = 0;
  private absent = 0;
  private settled = false;
  private lastError: unknown;
  private timer: NodeJS.Timeout | undefined;
  private readonly started: number;

  constructor(
    private readonly owner: DirectReadOwner,
    private readonly key: Buffer,
    private readonly r: number,
    private readonly replicas: readonly Member[],
    private readonly ringId: Uint8Array,
    private readonly scope: QuorumScopeCode,
  ) {
    this.done = new Promise<GetResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.started = performance.now();
    for (let i = 0; i < r; i++) this.ask();
    const delay = owner.times.current;
    if (delay !== undefined && this.asked < replicas.length && !this.settled) {
      this.timer = setTimeout(onSlow, Math.max(1, Math.ceil(delay)), this);
    }
  }

  /** A replica's answer (ReplyHandler). */
  reply(body: Body): void {
    this.answered(body);
  }

  /** A replica's failure (ReplyHandler). */
  fail(err: Error): void {
    this.failed(err);
  }

  /** @internal the slow-read timer's second step (onSlow). */
  speculate(): void {
    if (!this.settled && this.ask()) this.owner.speculated();
  }

  /** @internal */
  get isSettled(): boolean {
    return this.settled;
  }

  /** Asks the next replica; false when every one has been asked. */
  private ask(): boolean {
    const m = this.replicas[this.asked++];
    if (m === undefined) return false;
    this.outstanding++;
    this.owner.send(m, { kind: 'replicaRead', value: { key: this.key, readFor: '', ringId: this.ringId } }, this);
    return true;
  }

  private answered(reply: Body): void {
    this.outstanding--;
    if (reply.kind !== 'replicaReadReply') return this.failed(new UnavailableError(`replica read answered with ${reply.kind}`), false);
    const set = reply.value.found && reply.value.set ? reply.value.set : undefined;
    this.answers.push(set);
    if (set !== undefined) {
      try {
        this.merged = sync(this.merged, set);
      } catch (err) {
        // A set that does not merge (a faulty replica): treat it as a failed read.
        this.answers.pop();
        return this.failed(err, false);
      }
      this.found++;
    } else {
      this.absent++;
      if (!this.settled) this.ask();
    }
    this.check();
  }

  private failed(err: unknown, counted = true): void {
    if (counted) this.outstanding--;
    this.lastError = err;
    if (err instanceof ShoalError && err.code === 'SHOAL_STALE_RING') this.owner.staleRing();
    if (isRequestError(err) && !this.settled) {
      // Every replica would refuse the same request (a key over the limit): no spare, no fallback.
      this.settle();
      this.reject(err);
    }
    if (!this.settled) this.ask();
    this.check();
  }

  private check(): void {
    if (!this.settled) {
      if (this.found >= this.r) this.finish();
      else if (this.outstanding === 0) {
        // Every replica asked has answered and there is no one left to ask.
        if (this.found + this.absent >= this.r) this.finish();
        else {
          this.settle();
          this.reject(this.lastError instanceof Error ? this.lastError : new UnavailableError('too few replicas answered'));
        }
      }
    }
    if (this.outstanding === 0 && this.merged !== undefined) this.repairIfDiffering();
  }

  private finish(): void {
    this.settle();
    this.owner.times.record(performance.now() - this.started);
    const m = this.merged;
    this.resolve({ values: liveValues(m, Date.now()), context: m ? Buffer.from(m.clock) : EMPTY });
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }

  /** Once, after the last answer: a replica that was absent or behind gets the merge. */
  private repairIfDiffering(): void {
    const m = this.merged!;
    this.merged = undefined;
    for (const set of this.answers) {
      if (set === undefined || !sameVersions(set, m)) {
        this.owner.repair(this.key, this.replicas.length, this.scope);
        return;
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);

// Timers run before the loop reads sockets: after a stall (a GC pause, a busy turn)
// a reply may be waiting unread. Look again after the next poll for I/O. (Plain
// functions with the read as argument: no closures per read.)
function onSlow(read: DirectRead): void {
  if (!read.isSettled) setImmediate(speculateNow, read);
}

function speculateNow(read: DirectRead): void {
  read.speculate();
}

/** An error in the request itself, which every node would answer alike. */
export function isRequestError(err: unknown): err is ShoalError {
  return err instanceof ShoalError && (err.code === 'SHOAL_BAD_REQUEST' || err.code === 'SHOAL_TOO_LARGE');
}
