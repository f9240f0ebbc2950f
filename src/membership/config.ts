// Membership parameters, their named profiles and the formulas derived from them.
// docs/membership.md explains each one and the trade-off of raising or lowering it.

export interface MembershipConfig {
  /** One protocol period: each member probes one other member per period. */
  probeIntervalMs: number;
  /** How long a direct ping waits for its ack before asking others (ping-req). */
  probeTimeoutMs: number;
  /** k: members asked to ping-req a target that missed its direct ack. */
  indirectChecks: number;
  /** Scales the suspicion timeout: min = suspicionMult · max(1, log10 n) · period. */
  suspicionMult: number;
  /** Upper bound of the suspicion timeout as a multiple of its minimum (Lifeguard: 6). */
  suspicionMaxTimeoutMult: number;
  /** Each update is sent at most retransmitMult · ceil(log10(n + 1)) times. */
  retransmitMult: number;
  /** While updates are queued, every gossipIntervalMs they also go to gossipNodes random members. */
  gossipIntervalMs: number;
  gossipNodes: number;
  /** Full-state exchange with one random member; scaled up past 32 members. */
  pushPullIntervalMs: number;
  /** Deadline of one push-pull exchange (join, periodic or reconnect). */
  pushPullTimeoutMs: number;
  /** How often a member tries a push-pull with one random dead member (heals partitions). */
  reconnectIntervalMs: number;
  /** Local health: timeouts stretch up to this multiple when this node is slow. */
  awarenessMaxMultiplier: number;
  /** Largest sealed datagram sent or accepted; must be equal on every member. */
  maxDatagramBytes: number;
  /** First wait between join attempts when no seed answers; doubles up to the max. */
  joinRetryMinMs: number;
  joinRetryMaxMs: number;
  /** How long a left (or removed) member stays in the view, guarding against resurrection. */
  leftRetentionMs: number;
  /** leave() waits at most this long for its announcement to go out. */
  leaveTimeoutMs: number;
}

/** Like memberlist's LAN profile: a data centre network. */
export const lanProfile: Readonly<MembershipConfig> = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  pushPullIntervalMs: 30_000,
  pushPullTimeoutMs: 10_000,
  reconnectIntervalMs: 30_000,
  awarenessMaxMultiplier: 8,
  maxDatagramBytes: 1400,
  joinRetryMinMs: 1000,
  joinRetryMaxMs: 30_000,
  leftRetentionMs: 24 * 3600_000,
  leaveTimeoutMs: 5000,
});

/** Loopback clusters and tests: five times faster than LAN, same shape. */
export const fastProfile: Readonly<MembershipConfig> = Object.freeze({
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 40,
  gossipNodes: 3,
  pushPullIntervalMs: 5000,
  pushPullTimeoutMs: 2000,
  reconnectIntervalMs: 1000,
  awarenessMaxMultiplier: 8,
  maxDatagramBytes: 1400,
  joinRetryMinMs: 100,
  joinRetryMaxMs: 2000,
  leftRetentionMs: 10 * 60_000,
  leaveTimeoutMs: 1000,
});

export const profiles = { lan: lanProfile, fast: fastProfile } as const;
export type ProfileName = keyof typeof profiles;

/**
 * A complete config: the named profile (default lan) with `overrides` applied.
 * Throws RangeError naming the first bad field.
 */
export function resolveConfig(overrides: Partial<MembershipConfig> = {}, profile: ProfileName = 'lan'): MembershipConfig {
  const base = profiles[profile];
  if (base === undefined) throw new RangeError(`unknown membership profile ${String(profile)}`);
  const c: MembershipConfig = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in base)) throw new RangeError(`unknown membership setting ${k}`);
    (c as unknown as Record<string, unknown>)[k] = v;
  }
  const positive = (k: keyof MembershipConfig, min = 1): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`${k} must be a number >= ${min}, got ${String(v)}`);
  };
  for (const k of Object.keys(base) as (keyof MembershipConfig)[]) positive(k, k === 'indirectChecks' || k === 'gossipNodes' ? 0 : 1);
  if (c.probeTimeoutMs >= c.probeIntervalMs) throw new RangeError('probeTimeoutMs must be below probeIntervalMs');
  if (c.joinRetryMaxMs < c.joinRetryMinMs) throw new RangeError('joinRetryMaxMs must be >= joinRetryMinMs');
  if (!Number.isInteger(c.maxDatagramBytes) || c.maxDatagramBytes < 512 || c.maxDatagramBytes > 65507) {
    throw new RangeError('maxDatagramBytes must be an integer in 512..65507');
  }
  if (!Number.isInteger(c.indirectChecks) || !Number.isInteger(c.gossipNodes) || !Number.isInteger(c.awarenessMaxMultiplier)) {
    throw new RangeError('indirectChecks, gossipNodes and awarenessMaxMultiplier must be integers');
  }
  return c;
}

/** Times an update is piggybacked before it is dropped: retransmitMult · ceil(log10(n + 1)). */
export function retransmitLimit(c: MembershipConfig, n: number): number {
  return c.retransmitMult * Math.max(1, Math.ceil(Math.log10(n + 1)));
}

/** Lifeguard's suspicion bounds for a view of n members, in ms. */
export function suspicionTimeouts(c: MembershipConfig, n: number): { minMs: number; maxMs: number; confirmations: number } {
  const minMs = c.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * c.probeIntervalMs;
  const maxMs = c.suspicionMaxTimeoutMult * minMs;
  // Independent confirmations expected before the timeout reaches its minimum;
  // none when there are too few other members to confirm.
  let confirmations = c.suspicionMult - 2;
  if (n - 2 < confirmations) confirmations = 0;
  return { minMs, maxMs, confirmations: Math.max(0, confirmations) };
}

/** memberlist's scaling: past 32 members, the interval grows with log2(n / 32). */
export function pushPullInterval(c: MembershipConfig, n: number): number {
  if (n <= 32) return c.pushPullIntervalMs;
  return c.pushPullIntervalMs * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
}

/**
 * An upper bound, from the protocol alone, on the time until every live member
 * has marked a silently failed member dead, in a view of n members on a network
 * without loss. Each member probes the failed one itself within two passes of its
 * shuffled round-robin (2(n − 1) periods, each stretched at most by local health),
 * and then waits at most the longest suspicion timeout. Gossip only makes it faster.
 */
export function deadDetectionBoundMs(c: MembershipConfig, n: number): number {
  const periodMax = c.probeIntervalMs * c.awarenessMaxMultiplier;
  return (2 * Math.max(1, n - 1) + 1) * periodMax + suspicionTimeouts(c, n).maxMs;
}
