// A small counter of outcomes that settles a promise once `need` successes arrive,
// or as soon as they can no longer arrive, or at a deadline.
import { QuorumUnavailableError, TimeoutError } from '../errors.js';
import type { Deadlines, Expiring } from './deadlines.js';

const ignore = (): undefined => undefined;

export class Quorum implements Expiring {
  private ok = 0;
  private pending = 0;
  private settled = false;
  private readonly ticket: number;
  private resolveFn!: () => void;
  private rejectFn!: (e: Error) => void;
  readonly done: Promise<void>;
  /** Every failure seen, for the error message. */
  readonly failures: string[] = [];

  constructor(
    private readonly need: number,
    private readonly what: string,
    private readonly deadlines: Deadlines,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // It may fail before the caller awaits it (replicas answer while the local
    // write commits): that is not an unhandled rejection.
    this.done.catch(ignore);
    this.ticket = deadlines.add(this);
  }

  /** The deadline passed. */
  expire(): void {
    this.finish(new TimeoutError(`${this.what}: ${this.ok} of ${this.need} replicas answered within ${this.deadlines.timeoutMs} ms`));
  }

  get successes(): number {
    return this.ok;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** One more attempt is under way. */
  begin(): void {
    this.pending++;
  }

  succeed(): void {
    this.pending--;
    this.ok++;
    if (this.ok >= this.need) this.finish();
  }

  /** An attempt failed and no replacement was started for it. */
  fail(reason: string): void {
    this.pending--;
    this.failures.push(reason);
    this.check();
  }

  /** Gives up: the request failed for another reason; the timer stops and `done` is left pending. */
  abandon(): void {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.cancel(this.ticket, this);
  }

  /** Checks whether the quorum can still be met (call after starting replacements). */
  check(): void {
    if (!this.settled && this.ok + this.pending < this.need) {
      this.finish(
        new QuorumUnavailableError(
          `${this.what}: ${this.ok} of ${this.need} required replicas answered` +
            (this.failures.length > 0 ? ` (${this.failures.slice(0, 5).join('; ')})` : ''),
        ),
      );
    }
  }

  private finish(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.cancel(this.ticket, this);
    if (err) this.rejectFn(err);
    else this.resolveFn();
  }
}
