// How fast hint batches go to one owner. Hints are background work: an owner
// catching up after a cut also serves its live traffic, and every batch it applies
// delays those requests. The owner's reply time says how busy it is: a batch
// answered later than the fastest one seen so far waited behind other work there
// (live requests, or our own other batches). So, as LEDBAT does for bulk transfers
// (RFC 6817), delivery keeps that extra delay under a target: it adds a batch in
// flight while replies stay within it, halves the batches in flight when they do
// not, and below one batch in flight leaves a growing gap between batches.

export interface PaceLimits {
  /** Batches in flight at most. */
  maxInFlight: number;
  /** Reply time beyond the fastest seen that counts as the owner being busy (ms). */
  targetMs: number;
  /** Longest gap between batches (ms). */
  maxGapMs: number;
}

/** What hinted handoff uses unless told otherwise (`--hint-target-delay-ms`). */
export const PACE_DEFAULTS: Readonly<Omit<PaceLimits, 'maxInFlight'>> = Object.freeze({ targetMs: 20, maxGapMs: 1000 });

export class DeliveryPace {
  private window = 1;
  private base = Infinity;
  private gap = 0;
  private lastCut = -Infinity;

  constructor(private readonly limits: PaceLimits) {}

  /** Batches to keep in flight now. */
  get inFlight(): number {
    return Math.floor(this.window);
  }

  /** Wait before sending the next batch (ms). */
  get gapMs(): number {
    return this.gap;
  }

  /** A batch sent at `sentAt` was answered at `now` (ms). */
  answered(sentAt: number, now: number): void {
    const rtt = Math.max(0, now - sentAt);
    this.base = Math.min(this.base, rtt);
    if (rtt - this.base > this.limits.targetMs) {
      // Once per round trip: the replies still arriving were sent before the cut.
      if (sentAt < this.lastCut) return;
      this.lastCut = now;
      if (this.window >= 2) this.window = Math.max(1, this.window / 2);
      else this.gap = Math.min(this.limits.maxGapMs, Math.max(2 * this.gap, rtt));
    } else if (this.gap > 0) {
      this.gap = this.gap < 2 ? 0 : this.gap / 2;
    } else {
      this.window = Math.min(this.limits.maxInFlight, this.window + 1 / this.window);
    }
  }
}
