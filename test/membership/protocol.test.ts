// The protocol on virtual time: whole clusters of real Membership objects over the
// in-memory network (sealed datagrams, push-pull), deterministic and fast.
import { afterEach, describe, expect, it } from 'vitest';
import { MemberStatus, RingStatus } from '../../src/codec/index.js';
import { ShoalError } from '../../src/errors.js';
import { SimulatedCluster, deadDetectionBoundMs, suspicionTimeouts } from '../../src/membership/index.js';
import type { SimulatedMember } from '../../src/membership/index.js';
import { Keyring } from '../../src/transport/index.js';

// SHOAL_TEST_SEED shifts every cluster's random seed, to run the same scenarios on other schedules.
const SEED = Number(process.env.SHOAL_TEST_SEED ?? 0);
let cluster: SimulatedCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function make(n: number, seed = 1, config = {}): Promise<SimulatedCluster> {
  cluster = new SimulatedCluster({ seed: seed + SEED, config });
  await cluster.addMany(n);
  expect(await cluster.runUntil(() => cluster!.converged(), 200 * cluster.period)).toBe(true);
  return cluster;
}

/** Every running member's view of every member matches that member's own incarnation and is alive. */
function allAliveWithOwnIncarnations(c: SimulatedCluster): boolean {
  const live = c.running();
  return live.every((viewer) =>
    live.every((m) => {
      const e = viewer.membership.member(m.id);
      return e !== undefined && e.status === MemberStatus.ALIVE && e.incarnation === m.membership.self.incarnation;
    }),
  );
}

describe('membership protocol (simulated network, virtual time)', () => {
  it('10 members joining through one seed converge to identical views, all alive', async () => {
    const c = await make(10);
    for (const m of c.running()) {
      const view = m.membership.members();
      expect(view).toHaveLength(10);
      expect(view.every((x) => x.status === MemberStatus.ALIVE)).toBe(true);
    }
    expect(new Set(c.running().map((m) => m.membership.checksum())).size).toBe(1);
    expect(c.running().every((m) => m.membership.stats().droppedUnauthenticated === 0)).toBe(true);
  });

  it('32 members joining at once converge within a few periods (introductions and checksum repair fill the gaps)', async () => {
    cluster = new SimulatedCluster({ seed: 14 + SEED });
    const c = cluster;
    const first = await c.add();
    await Promise.all(Array.from({ length: 31 }, () => c.add({ seeds: [`127.0.0.1:${first.port}`] })));
    expect(await c.runUntil(() => c.converged() && c.members.every((m) => m.membership.members().length === 32), 10 * c.period)).toBe(true);
  });

  it('a member that reaches no seed runs alone, keeps trying with backoff, and joins once the seed is up', async () => {
    cluster = new SimulatedCluster({ seed: 2 + SEED });
    const c = cluster;
    const lonely = await c.add({ seeds: ['127.0.0.1:30000'] });
    await c.runFor(10 * c.period);
    expect(lonely.membership.members()).toHaveLength(1);
    const attempts = lonely.membership.stats().joinAttempts;
    expect(attempts).toBeGreaterThan(2);
    expect(attempts).toBeLessThan(10); // backoff: not one attempt per period
    const seed = await c.add({ port: 30000, seeds: [] });
    expect(await c.runUntil(() => c.converged() && seed.membership.members().length === 2, 50 * c.period)).toBe(true);
  });

  it('a silently failed member is suspected, then declared dead, by every other member within the protocol bound', async () => {
    const c = await make(10, 3);
    const victim = c.members[4]!;
    const others = c.running().filter((m) => m !== victim);
    const history = new Map<string, MemberStatus[]>();
    for (const m of others) {
      history.set(m.id, []);
      for (const ev of ['suspect', 'dead', 'alive'] as const) {
        m.membership.on(ev, (x) => {
          if (x.id === victim.id) history.get(m.id)!.push(x.status);
        });
      }
    }
    const bound = deadDetectionBoundMs(victim.membership.config, 10);
    await c.kill(victim);
    const t0 = c.time.now();
    expect(await c.runUntil(() => c.allSee(victim.id, MemberStatus.DEAD, others), bound)).toBe(true);
    expect(c.time.now() - t0).toBeLessThanOrEqual(bound);
    for (const m of others) expect(history.get(m.id)).toEqual([MemberStatus.SUSPECT, MemberStatus.DEAD]);
    // Failure is not departure: the dead member stays in every view.
    await c.runFor(50 * c.period);
    for (const m of others) expect(m.membership.member(victim.id)?.status).toBe(MemberStatus.DEAD);
  });

  it('a slow but alive member is suspected, refutes with a higher incarnation, and is never declared dead', async () => {
    const c = await make(10, 4);
    const slow = c.members[6]!;
    const inc0 = slow.membership.self.incarnation;
    let suspected = 0;
    let dead = 0;
    for (const m of c.running()) {
      m.membership.on('suspect', (x) => void (x.id === slow.id && suspected++));
      m.membership.on('dead', (x) => void (x.id === slow.id && dead++));
    }
    // Pauses like long GC stalls: for two periods at a time its datagrams leave
    // later than a whole period, so direct and indirect probes of it fail.
    for (let i = 0; i < 6; i++) {
      slow.filter.setDelay(c.period * 1.3);
      await c.runFor(2 * c.period);
      slow.filter.setDelay(0);
      await c.runFor(8 * c.period);
    }
    expect(suspected).toBeGreaterThan(0);
    expect(slow.membership.stats().refutations).toBeGreaterThan(0);
    expect(slow.membership.self.incarnation).toBeGreaterThan(inc0);
    expect(dead).toBe(0);
    slow.filter.setDelay(0);
    expect(await c.runUntil(() => c.converged() && allAliveWithOwnIncarnations(c), 100 * c.period)).toBe(true);
  });

  it('with 10% datagram loss on every member, no member is declared dead over 150 periods', async () => {
    const c = await make(10, 5);
    let dead = 0;
    for (const m of c.running()) {
      m.membership.on('dead', () => dead++);
      m.filter.setLoss(0.1);
    }
    await c.runFor(150 * c.period);
    expect(dead).toBe(0);
    const probes = c.running().reduce((n, m) => n + m.membership.stats().probes, 0);
    // It really ran: about one probe per member per period (local health may stretch some periods).
    expect(probes).toBeGreaterThan(10 * 100);
  });

  it('a partition makes each side declare the other dead; after healing all are alive with the right incarnations', async () => {
    const c = await make(8, 6);
    const a = c.members.slice(0, 5);
    const b = c.members.slice(5);
    const before = new Map(c.members.map((m) => [m.id, m.membership.self.incarnation]));
    c.partition(a, b);
    const seesDead = (viewers: SimulatedMember[], targets: SimulatedMember[]): boolean =>
      viewers.every((v) => targets.every((t) => v.membership.member(t.id)?.status === MemberStatus.DEAD));
    expect(await c.runUntil(() => seesDead(a, b) && seesDead(b, a), deadDetectionBoundMs(c.members[0]!.membership.config, 8))).toBe(true);
    // Each side still sees its own members alive.
    expect(a.every((v) => a.every((t) => v.membership.member(t.id)?.status === MemberStatus.ALIVE))).toBe(true);
    c.heal();
    expect(await c.runUntil(() => c.converged() && allAliveWithOwnIncarnations(c), 200 * c.period)).toBe(true);
    // Every member declared dead had to refute: its incarnation went up.
    for (const m of c.members) expect(m.membership.self.incarnation).toBeGreaterThan(before.get(m.id)!);
  });

  it('a leave reaches everyone, including a member partitioned during it, and the left member is not resurrected', async () => {
    const c = await make(6, 7);
    const leaver = c.members[2]!;
    const cut = c.members[5]!;
    c.partition([cut], c.members.filter((m) => m !== cut));
    await c.runFor(2 * c.period);
    const leaving = leaver.membership.leave();
    await c.runUntil(() => false, 2 * c.period);
    await leaving;
    leaver.running = false;
    await leaver.transport.stop();
    c.pushPull.unregister('127.0.0.1', leaver.port);
    const connected = c.running().filter((m) => m !== cut);
    expect(await c.runUntil(() => c.allSee(leaver.id, MemberStatus.LEFT, connected), 20 * c.period)).toBe(true);
    // The cut member still thinks the leaver is alive or dead, never left.
    expect(cut.membership.member(leaver.id)?.status).not.toBe(MemberStatus.LEFT);
    let resurrected = 0;
    for (const m of c.running()) m.membership.on('alive', (x) => void (x.id === leaver.id && resurrected++));
    for (const m of c.running()) m.membership.on('joined', (x) => void (x.id === leaver.id && resurrected++));
    await c.runFor(20 * c.period);
    c.heal();
    expect(await c.runUntil(() => c.allSee(leaver.id, MemberStatus.LEFT) && c.converged(), 200 * c.period)).toBe(true);
    await c.runFor(50 * c.period);
    expect(resurrected).toBe(0);
    expect(c.allSee(leaver.id, MemberStatus.LEFT)).toBe(true);
  });

  it('left entries are forgotten after the retention period and not taken back from peers', async () => {
    const c = await make(5, 8, { leftRetentionMs: 20_000 });
    const leaver = c.members[3]!;
    await Promise.all([leaver.membership.leave(), c.runFor(5 * c.period)]);
    leaver.running = false;
    c.pushPull.unregister('127.0.0.1', leaver.port);
    await leaver.transport.stop();
    expect(await c.runUntil(() => c.allSee(leaver.id, MemberStatus.LEFT), 20 * c.period)).toBe(true);
    const gone = (): boolean => c.running().every((m) => m.membership.member(leaver.id) === undefined);
    expect(await c.runUntil(gone, 40_000)).toBe(true);
    // Push-pulls keep running; the entry must not bounce back between members.
    await c.runFor(60_000);
    expect(gone()).toBe(true);
    expect(c.converged()).toBe(true);
  });

  it('a member restarted with the same id rejoins alive with a higher incarnation (persisted, or raised by refutation)', async () => {
    const c = await make(6, 9);
    for (const persisted of [true, false]) {
      const m = c.members[persisted ? 1 : 2]!;
      const inc = m.membership.self.incarnation;
      await c.kill(m);
      expect(await c.runUntil(() => c.allSee(m.id, MemberStatus.DEAD), deadDetectionBoundMs(m.membership.config, 6))).toBe(true);
      const deadInc = c.members[0]!.membership.member(m.id)!.incarnation;
      if (!persisted) m.incarnations.value = undefined; // its data was wiped
      await c.restart(m);
      expect(await c.runUntil(() => c.allSee(m.id, MemberStatus.ALIVE) && c.converged(), 100 * c.period)).toBe(true);
      const now = c.members[0]!.membership.member(m.id)!.incarnation;
      expect(now).toBeGreaterThan(deadInc);
      expect(now).toBeGreaterThan(persisted ? inc : -1);
      expect(m.membership.self.incarnation).toBe(now);
    }
  });

  it('a member with the wrong cluster key cannot join, and its datagrams are dropped and counted', async () => {
    const c = await make(4, 10);
    const wrongKey = Keyring.random();
    const target = c.members[1]!;
    const intruder = await c.add({ keyring: wrongKey, seeds: [`127.0.0.1:${target.port}`] });
    await c.runFor(20 * c.period);
    expect(intruder.membership.members()).toHaveLength(1);
    expect(intruder.membership.stats().pushPullFailures).toBeGreaterThan(1);
    for (const m of c.running()) if (m !== intruder) expect(m.membership.member(intruder.id)).toBeUndefined();
    // What it seals never opens at a member: dropped and counted.
    const before = target.membership.stats().droppedUnauthenticated;
    for (let i = 0; i < 3; i++) intruder.transport.send('127.0.0.1', target.port, wrongKey.seal(Buffer.from('ping'), Buffer.from('shoal/gossip/1')));
    await c.runFor(c.period);
    expect(target.membership.stats().droppedUnauthenticated).toBe(before + 3);
    expect(target.membership.members()).toHaveLength(4);
  });

  it('metadata changes (ring status) spread with a higher incarnation and an "updated" event', async () => {
    const c = await make(6, 11);
    const m = c.members[3]!;
    const seen = new Set<string>();
    for (const o of c.running()) o.membership.on('updated', (x, prev) => {
      if (o !== m && x.id === m.id && x.ringStatus === RingStatus.ACTIVE && prev?.ringStatus === RingStatus.JOINING) seen.add(o.id);
    });
    const inc = m.membership.self.incarnation;
    m.membership.update({ ringStatus: RingStatus.ACTIVE });
    expect(m.membership.self.incarnation).toBe(inc + 1);
    expect(await c.runUntil(() => seen.size === 5, 20 * c.period)).toBe(true);
    expect(c.running().every((o) => o.membership.member(m.id)?.ringStatus === RingStatus.ACTIVE)).toBe(true);
  });

  it('an operator can remove a dead member (it becomes left everywhere), but not a live one', async () => {
    const c = await make(5, 12);
    const victim = c.members[2]!;
    expect(() => c.members[0]!.membership.remove(victim.id)).toThrow(ShoalError);
    await c.kill(victim);
    expect(await c.runUntil(() => c.allSee(victim.id, MemberStatus.DEAD), deadDetectionBoundMs(victim.membership.config, 5))).toBe(true);
    c.members[0]!.membership.remove(victim.id);
    expect(await c.runUntil(() => c.allSee(victim.id, MemberStatus.LEFT), 20 * c.period)).toBe(true);
  });

  it('suspicion timeouts follow Lifeguard: confirmations from several members shorten them', async () => {
    const c = await make(12, 13);
    const victim = c.members[7]!;
    const { minMs, maxMs } = suspicionTimeouts(victim.membership.config, 12);
    let firstSuspect = 0;
    let firstDead = 0;
    for (const m of c.running()) {
      m.membership.on('suspect', (x) => void (x.id === victim.id && !firstSuspect && (firstSuspect = c.time.now())));
      m.membership.on('dead', (x) => void (x.id === victim.id && !firstDead && (firstDead = c.time.now())));
    }
    await c.kill(victim);
    expect(await c.runUntil(() => firstDead > 0, 2 * maxMs)).toBe(true);
    const took = firstDead - firstSuspect;
    expect(took).toBeGreaterThanOrEqual(Math.floor(minMs));
    // Without confirmations it would take maxMs = 6 · minMs.
    expect(took).toBeLessThan(maxMs / 2);
    const confirmations = c.running().reduce((n, m) => n + m.membership.stats().confirmations, 0);
    expect(confirmations).toBeGreaterThan(0);
  });
});
