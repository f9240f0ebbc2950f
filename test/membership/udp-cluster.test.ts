// Clusters in one process on real sockets: UDP gossip and push-pull over the TCP RPC
// transport on 127.0.0.1, fast profile. Bounds come from the protocol's formulas.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemberStatus } from '../../src/codec/index.js';
import { FileIncarnationStore, deadDetectionBoundMs, fastProfile } from '../../src/membership/index.js';
import { Keyring } from '../../src/transport/index.js';
import { converged, killNode, leaveNode, startCluster, startNode, waitFor } from './support/real-node.js';
import type { RealNode } from './support/real-node.js';

const period = fastProfile.probeIntervalMs;
let nodes: RealNode[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(nodes.map(killNode));
  nodes = [];
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const sees = (viewers: readonly RealNode[], id: string, status: MemberStatus): boolean =>
  viewers.every((v) => v.id === id || v.membership.member(id)?.status === status);

/** Every live node sees every live node alive, at the incarnation that node holds for itself. */
function aliveWithOwnIncarnations(all: readonly RealNode[]): boolean {
  const live = all.filter((n) => n.running);
  return live.every((v) =>
    live.every((m) => {
      const e = v.membership.member(m.id);
      return e?.status === MemberStatus.ALIVE && e.incarnation === m.membership.self.incarnation;
    }),
  );
}

describe('membership over real UDP and TCP (one process)', () => {
  for (const n of [3, 10, 32]) {
    it(`${n} members converge to identical views`, async () => {
      nodes = await startCluster(n, Keyring.random());
      await waitFor(() => converged(nodes, n), 200 * period, `${n} identical views`);
      for (const x of nodes) {
        expect(x.membership.members().every((m) => m.status === MemberStatus.ALIVE)).toBe(true);
        expect(x.membership.stats().droppedUnauthenticated).toBe(0);
        expect(x.membership.stats().droppedMalformed).toBe(0);
      }
      // The checksums the members carry in their datagrams agree too (each hears from a few peers every period).
      const sum = nodes[0]!.membership.checksum();
      const heard = (x: RealNode): number => nodes.filter((y) => y !== x && x.membership.checksumOf(y.id) === sum).length;
      await waitFor(() => nodes.every((x) => heard(x) >= Math.min(3, n - 1)), 100 * period, 'carried checksums');
    });
  }

  it('a member whose sockets close is suspected, then declared dead, by every other member within the protocol bound', async () => {
    nodes = await startCluster(10, Keyring.random());
    await waitFor(() => converged(nodes, 10), 200 * period, 'convergence');
    const victim = nodes[3]!;
    const others = nodes.filter((x) => x !== victim);
    const history = new Map(others.map((x) => [x.id, [] as MemberStatus[]]));
    for (const x of others) {
      for (const ev of ['suspect', 'dead', 'alive'] as const) x.membership.on(ev, (m) => void (m.id === victim.id && history.get(x.id)!.push(m.status)));
    }
    await killNode(victim);
    await waitFor(() => sees(others, victim.id, MemberStatus.DEAD), deadDetectionBoundMs(fastProfile, 10), 'dead everywhere within the bound');
    for (const x of others) {
      const h = history.get(x.id)!;
      expect(h[h.length - 1]).toBe(MemberStatus.DEAD);
      // Suspicion always comes first where it was seen; dead never reverts while the member stays down.
      if (h.length > 1) expect(h).toEqual([MemberStatus.SUSPECT, MemberStatus.DEAD]);
    }
    expect(others.filter((x) => history.get(x.id)![0] === MemberStatus.SUSPECT).length).toBeGreaterThanOrEqual(others.length / 2);
  });

  it('a slow but alive member refutes its suspicion and is never declared dead', async () => {
    nodes = await startCluster(6, Keyring.random());
    await waitFor(() => converged(nodes, 6), 200 * period, 'convergence');
    const slow = nodes[2]!;
    const inc0 = slow.membership.self.incarnation;
    let dead = 0;
    let suspected = 0;
    for (const x of nodes) {
      x.membership.on('dead', (m) => void (m.id === slow.id && dead++));
      x.membership.on('suspect', (m) => void (m.id === slow.id && suspected++));
    }
    // Stalls: its datagrams leave more than a period late, then it recovers.
    for (let i = 0; i < 3; i++) {
      slow.filter.setDelay(period * 1.3);
      await waitFor(() => suspected > 0 && slow.membership.self.incarnation > inc0 + i, 40 * period, 'a suspicion and its refutation');
      slow.filter.setDelay(0);
      await new Promise((r) => setTimeout(r, 5 * period));
    }
    await waitFor(() => converged(nodes) && aliveWithOwnIncarnations(nodes), 100 * period, 'all alive again');
    expect(slow.membership.stats().refutations).toBeGreaterThanOrEqual(3);
    expect(dead).toBe(0);
  });

  it('with 10% datagram loss on every member of a 10-member cluster, nobody is declared dead over 50 periods', async () => {
    nodes = await startCluster(10, Keyring.random());
    await waitFor(() => converged(nodes, 10), 200 * period, 'convergence');
    let dead = 0;
    const probes0 = nodes.reduce((s, x) => s + x.membership.stats().probes, 0);
    for (const x of nodes) {
      x.membership.on('dead', () => dead++);
      x.filter.setLoss(0.1);
    }
    await waitFor(() => nodes.reduce((s, x) => s + x.membership.stats().probes, 0) - probes0 >= 10 * 50, 200 * period, '50 periods of probes');
    expect(dead).toBe(0);
    expect(nodes.reduce((s, x) => s + x.udp.counters.filtered, 0)).toBeGreaterThan(0);
  });

  it('two partitioned groups declare each other dead; healed, all are alive with the right incarnations', async () => {
    nodes = await startCluster(6, Keyring.random());
    await waitFor(() => converged(nodes, 6), 200 * period, 'convergence');
    const a = nodes.slice(0, 3);
    const b = nodes.slice(3);
    const inc0 = new Map(nodes.map((x) => [x.id, x.membership.self.incarnation]));
    for (const x of a) for (const y of b) {
      x.filter.block('127.0.0.1', y.port);
      y.filter.block('127.0.0.1', x.port);
    }
    const bound = deadDetectionBoundMs(fastProfile, 6);
    await waitFor(() => b.every((y) => sees(a, y.id, MemberStatus.DEAD)) && a.every((x) => sees(b, x.id, MemberStatus.DEAD)), bound, 'each side sees the other dead');
    expect(a.every((x) => sees(a, x.id, MemberStatus.ALIVE))).toBe(true);
    for (const x of nodes) x.filter.clear();
    await waitFor(() => converged(nodes, 6) && aliveWithOwnIncarnations(nodes), 300 * period, 'healed');
    for (const x of nodes) expect(x.membership.self.incarnation).toBeGreaterThan(inc0.get(x.id)!);
  });

  it('a leave reaches every member, one partitioned during it included, and is never undone', async () => {
    nodes = await startCluster(5, Keyring.random());
    await waitFor(() => converged(nodes, 5), 200 * period, 'convergence');
    const leaver = nodes[1]!;
    const cut = nodes[4]!;
    for (const x of nodes) if (x !== cut) {
      x.filter.block('127.0.0.1', cut.port);
      cut.filter.block('127.0.0.1', x.port);
    }
    await leaveNode(leaver);
    const connected = nodes.filter((x) => x !== cut && x.running);
    await waitFor(() => sees(connected, leaver.id, MemberStatus.LEFT), 40 * period, 'left among the connected');
    expect(cut.membership.member(leaver.id)?.status).not.toBe(MemberStatus.LEFT);
    let revived = 0;
    for (const x of nodes) {
      x.membership.on('alive', (m) => void (m.id === leaver.id && revived++));
      x.membership.on('joined', (m) => void (m.id === leaver.id && revived++));
    }
    for (const x of nodes) x.filter.clear();
    await waitFor(() => sees(nodes.filter((x) => x.running), leaver.id, MemberStatus.LEFT) && converged(nodes, 5), 300 * period, 'left everywhere');
    await new Promise((r) => setTimeout(r, 10 * period));
    expect(revived).toBe(0);
    expect(sees(nodes.filter((x) => x.running), leaver.id, MemberStatus.LEFT)).toBe(true);
  });

  it('a member restarted with the same id comes back alive with a higher incarnation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-membership-'));
    dirs.push(dir);
    const keyring = Keyring.random();
    nodes = await startCluster(4, keyring);
    const store = new FileIncarnationStore(join(dir, 'n04.incarnation'));
    const member = await startNode({ id: 'n04', keyring, seeds: [`127.0.0.1:${nodes[0]!.port}`], incarnations: store });
    nodes.push(member);
    await waitFor(() => converged(nodes, 5), 200 * period, 'convergence');
    const before = member.membership.self.incarnation;
    await killNode(member);
    const others = nodes.filter((x) => x.running);
    await waitFor(() => sees(others, member.id, MemberStatus.DEAD), deadDetectionBoundMs(fastProfile, 5), 'dead');
    const again = await startNode({ id: 'n04', keyring, seeds: [`127.0.0.1:${nodes[0]!.port}`], incarnations: new FileIncarnationStore(join(dir, 'n04.incarnation')), port: member.port });
    nodes.push(again);
    await waitFor(() => converged(nodes, 5) && aliveWithOwnIncarnations(nodes), 200 * period, 'alive again');
    expect(again.membership.self.incarnation).toBeGreaterThan(before);
    expect(await new FileIncarnationStore(join(dir, 'n04.incarnation')).load()).toBe(again.membership.self.incarnation);
  });

  it('a member with the wrong cluster key cannot join, and what it sends is dropped and counted', async () => {
    nodes = await startCluster(3, Keyring.random());
    await waitFor(() => converged(nodes, 3), 200 * period, 'convergence');
    const seed = nodes[0]!;
    const wrong = Keyring.random();
    const intruder = await startNode({ id: 'intruder', keyring: wrong, seeds: [`127.0.0.1:${seed.port}`] });
    nodes.push(intruder);
    await waitFor(() => seed.rpc.stats().errors.unauthorized > 0 && intruder.membership.stats().pushPullFailures > 0, 50 * period, 'refused push-pull');
    expect(intruder.membership.members()).toHaveLength(1);
    const before = seed.membership.stats().droppedUnauthenticated;
    for (let i = 0; i < 5; i++) intruder.udp.send('127.0.0.1', seed.port, wrong.seal(Buffer.from('hello'), Buffer.from('shoal/gossip/1')));
    await waitFor(() => seed.membership.stats().droppedUnauthenticated === before + 5, 50 * period, 'counted drops');
    await new Promise((r) => setTimeout(r, 5 * period));
    for (const x of nodes.slice(0, 3)) expect(x.membership.member('intruder')).toBeUndefined();
    expect(converged(nodes.slice(0, 3), 3)).toBe(true);
  });

  it('random garbage datagrams are dropped and counted, and the cluster carries on', async () => {
    nodes = await startCluster(3, Keyring.random());
    await waitFor(() => converged(nodes, 3), 200 * period, 'convergence');
    const target = nodes[1]!;
    const raw = createSocket('udp4');
    try {
      await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
      for (let i = 0; i < 300; i++) raw.send(randomBytes(i % 1400), target.port, '127.0.0.1');
      // Bytes that look like a sealed datagram (version 1, a key id) but are not.
      const fake = Buffer.concat([Buffer.from([1]), target.keyring.primaryKeyId, randomBytes(60)]);
      raw.send(fake, target.port, '127.0.0.1');
      await waitFor(() => target.membership.stats().droppedUnauthenticated === 301, 50 * period, 'all 301 counted');
    } finally {
      raw.close();
    }
    const probes = target.membership.stats().probes;
    await waitFor(() => target.membership.stats().probes > probes + 5, 50 * period, 'probing goes on');
    expect(converged(nodes, 3)).toBe(true);
    expect(nodes.every((x) => x.membership.members().every((m) => m.status === MemberStatus.ALIVE))).toBe(true);
  });
});
