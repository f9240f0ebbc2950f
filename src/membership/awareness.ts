// Lifeguard's local health awareness: a score that rises when this node shows
// signs of being the slow one (missed nacks, having to refute a suspicion) and
// falls with each successful probe. Timeouts and the probe interval are stretched
// by (score + 1), so an overloaded node accuses others less readily.

export class Awareness {
  private value = 0;
  /** Scores run from 0 (healthy) to max − 1. */
  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`awareness max must be an integer >= 1, got ${max}`);
  }

  get score(): number {
    return this.value;
  }

  /** Adds delta, clamped to [0, max − 1]. */
  apply(delta: number): void {
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
  }

  /** ms stretched by the current health: ms · (score + 1). */
  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
