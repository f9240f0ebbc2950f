// Test-only fault injection for datagram transports: random loss, blocked peers and
// added delay. A transport without a filter has none of this on its path, and
// nothing received from the network can change a filter: only the code that made it.

/** Faults applied to one transport's traffic. Everything is off until set. */
export class FaultFilter {
  /** Probability in [0, 1] that an outgoing datagram is dropped. */
  private loss = 0;
  /** Milliseconds added before an outgoing datagram leaves. */
  private delay = 0;
  private readonly blocked = new Set<string>();
  private readonly random: () => number;

  /** `random` returns uniform numbers in [0, 1); seed it for reproducible loss. */
  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  get lossProbability(): number {
    return this.loss;
  }

  get delayMs(): number {
    return this.delay;
  }

  setLoss(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`loss probability must be in [0, 1], got ${p}`);
    this.loss = p;
  }

  setDelay(ms: number): void {
    if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`delay must be a finite number of ms >= 0, got ${ms}`);
    this.delay = ms;
  }

  /** Drops traffic to and from host:port (every port of host when port is omitted). */
  block(host: string, port?: number): void {
    this.blocked.add(port === undefined ? host : `${host}:${port}`);
  }

  unblock(host: string, port?: number): void {
    this.blocked.delete(port === undefined ? host : `${host}:${port}`);
  }

  /** Removes every block, the loss and the delay. */
  clear(): void {
    this.blocked.clear();
    this.loss = 0;
    this.delay = 0;
  }

  /** True when traffic with host:port is blocked (either direction). */
  blocks(host: string, port: number): boolean {
    if (this.blocked.size === 0) return false;
    return this.blocked.has(host) || this.blocked.has(`${host}:${port}`);
  }

  /** Decides the fate of one outgoing datagram: blocked or randomly lost. */
  dropsOutgoing(host: string, port: number): boolean {
    if (this.blocks(host, port)) return true;
    return this.loss > 0 && this.random() < this.loss;
  }
}
