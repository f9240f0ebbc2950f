// Anti-entropy and ownership-transfer parameters and their named profiles.
// docs/operations.md ("Tuning anti-entropy") explains each and its trade-off.

export interface AntiEntropyConfig {
  /** Leaf segments of each partition's Merkle tree (power of two); equal on every node. */
  segments: number;
  /** Children per inner tree node (power of two); equal on every node. */
  fanout: number;
  /**
   * Time between exchange rounds. Each round compares the roots of every partition
   * shared with one replica peer in one message, then repairs up to
   * partitionsPerRound of those that differ. 0 disables scheduled exchanges
   * (ownership transfers still run).
   */
  intervalMs: number;
  /** Partitions repaired per round at most (the "partitions per interval" limit). */
  partitionsPerRound: number;
  /** Bytes per second this node's exchanges may ship, both directions; Infinity = unlimited. */
  bytesPerSec: number;
  /** Bytes per second ownership transfers into this node may ship. */
  transferBytesPerSec: number;
  /** Each tree is rebuilt from disk once per this period (spread over the partitions); 0 = never. */
  rebuildIntervalMs: number;
  /**
   * After a change completes, how long writes are still forwarded to the old
   * replicas (nodes that have not yet learned the new ring may read from them),
   * and how long before partitions this node no longer replicates are dropped and
   * a leaving node departs.
   */
  handoverGraceMs: number;
  /** How often ring intents and transfer progress are re-checked (also on every ring change). */
  stewardIntervalMs: number;
  /** Largest payload of one exchange message (requests and replies). */
  maxMessageBytes: number;
  /** Exchange requests from peers served at once; more are answered OVERLOADED. */
  maxInboundExchanges: number;
  /** Deadline of one exchange request, and of one forwarded write. */
  requestTimeoutMs: number;
}

/** A data centre network: gentle on foreground traffic. */
export const lanAntiEntropy: Readonly<AntiEntropyConfig> = Object.freeze({
  segments: 1024,
  fanout: 16,
  intervalMs: 10_000,
  partitionsPerRound: 4,
  bytesPerSec: 8 * 1024 * 1024,
  transferBytesPerSec: 32 * 1024 * 1024,
  rebuildIntervalMs: 24 * 3600_000,
  handoverGraceMs: 30_000,
  stewardIntervalMs: 1000,
  maxMessageBytes: 1024 * 1024,
  maxInboundExchanges: 8,
  requestTimeoutMs: 10_000,
});

/** Loopback clusters and tests: quick rounds, short grace. */
export const fastAntiEntropy: Readonly<AntiEntropyConfig> = Object.freeze({
  ...lanAntiEntropy,
  intervalMs: 250,
  partitionsPerRound: 8,
  bytesPerSec: 64 * 1024 * 1024,
  transferBytesPerSec: 64 * 1024 * 1024,
  rebuildIntervalMs: 3600_000,
  handoverGraceMs: 2000,
  stewardIntervalMs: 100,
  requestTimeoutMs: 5000,
});

export const antiEntropyProfiles = { lan: lanAntiEntropy, fast: fastAntiEntropy } as const;

/** The profile's values overridden by `over`; RangeError naming a bad value. */
export function resolveAntiEntropy(over: Partial<AntiEntropyConfig> | undefined, profile: 'lan' | 'fast' = 'lan'): AntiEntropyConfig {
  const c: AntiEntropyConfig = { ...antiEntropyProfiles[profile], ...over };
  const pow2 = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
  if (!pow2(c.segments) || c.segments > 1 << 20) throw new RangeError(`segments must be a power of two up to 2^20, got ${c.segments}`);
  if (!pow2(c.fanout) || c.fanout < 2 || c.fanout > 256) throw new RangeError(`fanout must be a power of two from 2 to 256, got ${c.fanout}`);
  for (const k of ['intervalMs', 'rebuildIntervalMs', 'handoverGraceMs'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < 0) throw new RangeError(`${k} must be a non-negative integer, got ${c[k]}`);
  }
  for (const k of ['partitionsPerRound', 'stewardIntervalMs', 'maxInboundExchanges', 'requestTimeoutMs'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < 1) throw new RangeError(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!Number.isSafeInteger(c.maxMessageBytes) || c.maxMessageBytes < 64 * 1024) throw new RangeError('maxMessageBytes must be at least 65536');
  for (const k of ['bytesPerSec', 'transferBytesPerSec'] as const) {
    if (!(c[k] > 0)) throw new RangeError(`${k} must be positive (Infinity for no limit), got ${c[k]}`);
  }
  return c;
}
