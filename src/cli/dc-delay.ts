// Test-only: SHOAL_TEST_DC_RTT_MS=<ms> makes `shoal start` add that round trip to
// the node's traffic with members of other data centres (half on the way out, half
// on the way back, for gossip and for requests to peers), so that benchmarks and
// tests can run several dcs on one machine, whose kernel has no netem. Clients'
// connections are not delayed: a client sits in its own dc. Never set it in
// production.
import { FaultFilter } from '../transport/index.js';
import type { ShoalNode } from '../node.js';

export const DC_RTT_ENV = 'SHOAL_TEST_DC_RTT_MS';

/** The round trip the environment asks for (0 when unset); throws a message for a bad value. */
export function dcRttFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[DC_RTT_ENV];
  if (raw === undefined || raw === '') return 0;
  const ms = Number(raw);
  if (!(ms >= 0 && ms <= 60_000)) throw new Error(`${DC_RTT_ENV} must be a number of milliseconds from 0 to 60000, got ${raw}`);
  return ms;
}

/**
 * A filter delaying traffic with peers whose member entry names another dc than
 * `node()`'s by rttMs / 2 each way. Peers not yet known (and everything before the
 * node exists) are not delayed.
 */
export function dcDelayFilter(rttMs: number, node: () => ShoalNode | undefined): FaultFilter {
  const filter = new FaultFilter();
  const dcAt = new Map<string, string>();
  filter.setDelayRule((host, port) => {
    const n = node();
    if (n === undefined) return 0;
    const at = `${host}:${port}`;
    let dc = dcAt.get(at);
    if (dc === undefined) {
      for (const m of n.membership.members()) dcAt.set(`${m.host}:${m.port}`, m.dc);
      dc = dcAt.get(at);
    }
    return dc !== undefined && dc !== dcAt.get(n.address) ? rttMs / 2 : 0;
  });
  return filter;
}
