// Time is injected so protocol tests can run on fake time where that is more honest
// than waiting. Everything that reads the wall clock takes a Clock.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for unit tests of a single module. */
export class ManualClock implements Clock {
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/**
 * Anything long-lived in a node (membership, transport, handoff, anti-entropy).
 * src/node.ts starts parts bottom-up and stops them top-down; stop() is idempotent
 * and ends every timer, socket and loop the part started.
 */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}
