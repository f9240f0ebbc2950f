// Membership protocol figures on simulated clusters of 16 to 256 members: the real
// Membership code (sealing, encoding, piggybacking) over an in-memory network on
// virtual time, LAN profile. Reports, per cluster size: periods for one update to
// reach every member, periods from a failure to its first probe and first
// suspicion, load per member per period, and false positives under datagram loss.
// SHOAL_BENCH_SIZES=16,64 narrows the sizes (all five take about two minutes).
import { MemberStatus } from '../src/codec/index.js';
import { PacketCodec, SimulatedCluster } from '../src/membership/index.js';
import type { SimulatedMember } from '../src/membership/index.js';

const SIZES = (process.env.SHOAL_BENCH_SIZES ?? '16,32,64,128,256').split(',').map(Number);
const TRIALS = 10;
const LOAD_PERIODS = 60;
const LOSS_PERIODS = 100;

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const fmt = (x: number, d = 2): string => x.toFixed(d);

async function cluster(n: number, seed: number): Promise<SimulatedCluster> {
  const c = new SimulatedCluster({ profile: 'lan', seed });
  await c.addMany(n);
  const ok = await c.runUntil(() => c.converged(), 300 * c.period);
  if (!ok) throw new Error(`${n} members did not converge`);
  return c;
}

function counters(c: SimulatedCluster): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (const m of c.running()) {
    packets += m.transport.counters.datagramsOut;
    bytes += m.transport.counters.bytesOut;
  }
  return { packets, bytes };
}

/** Periods until every running member sees `who` at `incarnation` or later. */
async function dissemination(c: SimulatedCluster, who: SimulatedMember): Promise<number> {
  const t0 = c.time.now();
  who.membership.update({ capacity: who.membership.self.capacity + 1 });
  const inc = who.membership.self.incarnation;
  const members = c.running();
  let reached = 0;
  const seen = new Set<string>([who.id]);
  const listeners = members.map((m) => {
    const l = (x: { id: string; incarnation: number }): void => {
      if (x.id === who.id && x.incarnation >= inc && !seen.has(m.id)) {
        seen.add(m.id);
        reached = c.time.now();
      }
    };
    m.membership.on('updated', l);
    return () => m.membership.off('updated', l);
  });
  await c.runUntil(() => seen.size === members.length, 100 * c.period);
  for (const off of listeners) off();
  return seen.size === members.length ? (reached - t0) / c.period : NaN;
}

/** A member fails: periods to the first ping it gets, the first suspicion, and dead everywhere. */
async function detection(c: SimulatedCluster, victim: SimulatedMember): Promise<{ probe: number; suspect: number; dead: number }> {
  await c.runFor(c.random() * c.period);
  const t0 = c.time.now();
  let firstPing = NaN;
  let firstSuspect = NaN;
  // The member stops, but its address keeps counting what arrives.
  await victim.membership.stop();
  victim.running = false;
  c.pushPull.unregister('127.0.0.1', victim.port);
  const codec = new PacketCodec(c.keyring, 1400);
  victim.transport.onDatagram((data) => {
    const r = codec.open(data);
    if (Number.isNaN(firstPing) && 'packet' in r && r.packet.body === 'ping') firstPing = c.time.now();
  });
  const others = c.running();
  const offs = others.map((m) => {
    const l = (x: { id: string }): void => {
      if (x.id === victim.id && Number.isNaN(firstSuspect)) firstSuspect = c.time.now();
    };
    m.membership.on('suspect', l);
    return () => m.membership.off('suspect', l);
  });
  await c.runUntil(() => c.allSee(victim.id, MemberStatus.DEAD, others), 200 * c.period);
  const dead = c.time.now();
  for (const off of offs) off();
  victim.transport.onDatagram(undefined);
  await victim.transport.stop();
  // Back to n members and quiet: the victim restarts and everyone settles.
  await c.restart(victim);
  await c.runUntil(() => c.converged() && c.running().every((m) => m.membership.stats().health === 0), 100 * c.period);
  await c.runFor(5 * c.period);
  return { probe: (firstPing - t0) / c.period, suspect: (firstSuspect - t0) / c.period, dead: (dead - t0) / c.period };
}

/** Under random loss on every member: failed probes (false suspicions raised) and false "dead" verdicts. */
async function falsePositives(n: number, loss: number): Promise<{ suspicions: number; deads: number; perProbe: number }> {
  const c = await cluster(n, 1000 + n);
  let deads = 0;
  const before = c.running().map((m) => m.membership.stats());
  for (const m of c.running()) {
    m.membership.on('dead', () => deads++);
    m.filter.setLoss(loss);
  }
  await c.runFor(LOSS_PERIODS * c.period);
  const after = c.running().map((m) => m.membership.stats());
  await c.stop();
  let suspicions = 0;
  let probes = 0;
  after.forEach((a, i) => {
    suspicions += a.suspicionsRaised - before[i]!.suspicionsRaised;
    probes += a.probes - before[i]!.probes;
  });
  return { suspicions, deads, perProbe: suspicions / Math.max(1, probes) };
}

export async function run(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  const loadRows: Record<string, string | number>[] = [];
  for (const n of SIZES) {
    const started = Date.now();
    const c = await cluster(n, n);
    const joinPeriods = (c.time.now() - 1_700_000_000_000) / c.period;

    await c.runFor(LOAD_PERIODS * c.period); // let the join traffic drain
    const before = counters(c);
    const ppBefore = c.pushPull.bytes;
    await c.runFor(LOAD_PERIODS * c.period);
    const after = counters(c);
    const perMemberPeriod = n * LOAD_PERIODS;
    loadRows.push({
      members: n,
      'datagrams / member / period': fmt((after.packets - before.packets) / perMemberPeriod),
      'UDP bytes / member / period': Math.round((after.bytes - before.bytes) / perMemberPeriod),
      'push-pull bytes / member / period': Math.round((c.pushPull.bytes - ppBefore) / perMemberPeriod),
    });

    const spread: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const r = c.running();
      spread.push(await dissemination(c, r[Math.floor(c.random() * r.length)]!));
    }
    const probe: number[] = [];
    const suspect: number[] = [];
    const dead: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const r = c.running();
      const d = await detection(c, r[Math.floor(c.random() * r.length)]!);
      probe.push(d.probe);
      suspect.push(d.suspect);
      dead.push(d.dead);
    }
    await c.stop();
    rows.push({
      members: n,
      'join+converge (periods)': fmt(joinPeriods, 1),
      'update to all: mean / max (periods)': `${fmt(mean(spread))} / ${fmt(Math.max(...spread))}`,
      'log2(n) + 3': fmt(Math.log2(n) + 3, 1),
      'failure → first probe (periods)': fmt(mean(probe)),
      'failure → first suspect': fmt(mean(suspect)),
      'failure → dead everywhere': fmt(mean(dead), 1),
      'wall ms': Date.now() - started,
    });
  }
  console.log(`Simulated LAN profile (period 1 s, probe timeout 500 ms, k = 3), ${TRIALS} trials each; SWIM's expected first-probe time e/(e−1) ≈ 1.58 periods.`);
  console.table(rows);
  console.log(`Load in steady state over ${LOAD_PERIODS} periods (sealed datagrams; push-pull every 30 s, scaled past 32 members):`);
  console.table(loadRows);

  const lossRows: Record<string, string | number>[] = [];
  for (const n of SIZES) {
    for (const loss of [0.05, 0.1]) {
      const r = await falsePositives(n, loss);
      lossRows.push({
        members: n,
        loss: `${loss * 100}%`,
        'false suspicions raised': r.suspicions,
        'per probe': r.perProbe.toExponential(1),
        'false "dead" verdicts': r.deads,
      });
    }
  }
  console.log(`False positives over ${LOSS_PERIODS} periods with random datagram loss on every member:`);
  console.table(lossRows);
}
