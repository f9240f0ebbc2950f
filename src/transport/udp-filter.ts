// Test-only fault injection for datagram and RPC transports: random loss, blocked
// peers and added delay (the same for every peer, or per peer through a rule, to
// stand for the distance between data centres). A transport without a filter has none of this on its path, and
// nothing received from the network can change a filter: only the code that made it.

/** Faults applied to one transport's traffic. Everything is off until set. */
export class FaultFilter {
  /** Probability in [0, 1] that an outgoing datagram is dropped. */
  private loss = 0;
  /** Milliseconds added before an outgoing datagram leaves. */
  private delay = 0;
  /** Per-peer delay; replaces `delay` while set. */
  private delayRule: ((host: string, port: number) => number) | undefined;
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

  /**
   * Delays traffic with each peer by what `rule(host, port)` returns (ms, one way),
   * instead of the one delay of setDelay; undefined removes the rule.
   */
  setDelayRule(rule: ((host: string, port: number) => number) | undefined): void {
    this.delayRule = rule;
  }

  /** Milliseconds added, one way, to traffic with host:port. */
  delayFor(host: string, port: number): number {
    const rule = this.delayRule;
    if (rule === undefined) return this.delay;
    const ms = rule(host, port);
    return ms > 0 && Number.isFinite(ms) ? ms : 0;
  }

  /** Drops traffic to and from host:port (every port of host when port is omitted). */
  block(host: string, port?: number): void {
    this.blocked.add(port === undefined ? host : `${host}:${port}`);
  }

  unblock(host: string, port?: number): void {
    this.blocked.delete(port === undefined ? host : `${host}:${port}`);
  }

  /** Removes every block, the loss, the delay and the delay rule. */
  clear(): void {
    this.blocked.clear();
    this.loss = 0;
    this.delay = 0;
    this.delayRule = undefined;
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
