// Two data centres cut apart by a real network partition: four nodes on their own
// network namespaces, two per dc, replication dc1:2,dc2:2 with local quorums.
// During the cut each dc keeps taking writes on its own replicas (the point of
// local scope), while a write that needs the other dc fails. After the heal the
// hints each side kept for the other must carry every acknowledged write across:
// none lost, and the key both sides wrote keeps both values as siblings.
// Needs root (network namespaces); skipped elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Client } from '../../src/client/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { waitFor } from '../support/cluster.js';
import { type Host, netnsAvailable } from '../support/netns.js';
import { NetnsCluster, type NetnsStatus } from '../support/netns-cluster.js';

const PORT = 7600;
const HTTP = 7680;
const PER_SIDE = 50;
const DCS = ['dc1', 'dc1', 'dc2', 'dc2'];

type Status = NetnsStatus & { replication: { n: number; perDc: Record<string, number> | null; quorumScope: string; dc: string; mismatched: Record<string, string> } };

const canRun = netnsAvailable();

describe.skipIf(!canRun)('a network partition between two data centres (local quorums)', () => {
  let cluster: NetnsCluster;
  const clients: Client[] = [];
  const run = randomBytes(4).toString('hex');
  const status = (h: Host) => cluster.status<Status>(h);
  const hostsOf = (dc: string): Host[] => cluster.hosts.filter((_, i) => DCS[i] === dc);
  const idsOf = (dc: string): string[] => DCS.flatMap((d, i) => (d === dc ? [`p${i}`] : []));

  beforeAll(async () => {
    // Started means no ring change pending: until the founder has handed partitions
    // over, a dc2 key has no dc2 replica to count towards a local quorum there.
    // No scheduled anti-entropy: the other dc must get the writes by hinted handoff alone.
    cluster = await NetnsCluster.start({
      hosts: 4,
      port: PORT,
      httpPort: HTTP,
      args: (i) => [
        ...['--profile', 'fast', '--log-level', 'warn', '--partitions', '64', '--ae-interval-ms', '0'],
        ...['--dc', DCS[i]!, '--rack', `r${i}`, '--replication', 'dc1:2,dc2:2', '--r', '2', '--w', '2'],
      ],
    });
    for (const dc of ['dc1', 'dc2']) {
      // The test process reaches both sides through the cut, which no real client
      // in one dc could: a periodic ring refresh might then take its routing from a
      // node of the other dc (which sees this dc as dead) and send this dc's
      // requests across. So the routing is learned once, before the cut. For the
      // same reason its gets are coordinated by a node of its dc: reading replicas
      // itself, the SDK would reach the other dc's and meet a global r=3 that no
      // client inside one dc could.
      const seeds = hostsOf(dc).map((h) => cluster.address(h));
      clients.push(await Client.connect({ seeds, clusterKey: cluster.key, dc, requestTimeoutMs: 8000, ringRefreshMs: 0, readCoordination: 'node' }));
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  it('keeps both dcs writable with local quorums and loses no acknowledged write after the heal', async () => {
    const all = await Promise.all(cluster.hosts.map(status));
    for (const [i, s] of all.entries()) {
      expect(s.replication).toEqual({ n: 4, perDc: { dc1: 2, dc2: 2 }, quorumScope: 'local', dc: DCS[i], mismatched: {} });
    }
    const [c1, c2] = clients as [Client, Client];
    const side = { dc1: c1, dc2: c2 } as const;

    cluster.lab.partition(hostsOf('dc1'), hostsOf('dc2'));
    // Dead, not only suspect: a suspect node still gets requests, and the global
    // write below would then wait out the request timeout instead of failing at once.
    await waitFor(
      'each dc to see the other as dead',
      async () => {
        const views = await Promise.all(cluster.hosts.map(status));
        return views.every((s) => {
          const mine = DCS[Number(s.id.slice(1))]!;
          return s.members.every((m) => (m.dc === mine ? m.status === 'alive' : m.status === 'dead'));
        });
      },
      30_000,
    );

    // Distinct keys from each side, acknowledged by that side's replicas alone.
    const written = new Map<string, string>();
    const acked = new Map<string, string>();
    const failures: string[] = [];
    await Promise.all(
      (['dc1', 'dc2'] as const).flatMap((dc) =>
        Array.from({ length: PER_SIDE }, async (_, i) => {
          const k = `${run}-${dc}-${i}`;
          const v = `${dc}-value-${i}`;
          written.set(k, v);
          try {
            await side[dc].put(k, v, { scope: 'local' });
            acked.set(k, v);
          } catch (err) {
            failures.push(`${k}: ${String(err)}`);
          }
        }),
      ),
    );
    expect(failures, 'local-scope puts refused during the partition').toEqual([]);
    expect(acked.size).toBe(2 * PER_SIDE);

    // Blind writes of one key from both sides at once: no context, so neither
    // supersedes the other.
    const shared = `${run}-shared`;
    const sharedValues = { dc1: 'shared-from-dc1', dc2: 'shared-from-dc2' } as const;
    await Promise.all([c1.put(shared, sharedValues.dc1, { scope: 'local' }), c2.put(shared, sharedValues.dc2, { scope: 'local' })]);

    // A write that needs replicas of both dcs cannot be met: the local ones above
    // succeeded because of local scope, not because the cut let traffic through.
    for (const dc of ['dc1', 'dc2'] as const) {
      const err = await side[dc].put(`${run}-global-${dc}`, 'never acknowledged', { scope: 'global', w: 3 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as { code?: string } | undefined)?.code, `${dc}: global w=3 during the cut: ${String(err)}`).toBe(ErrorCodes.QUORUM_UNAVAILABLE);
      const readErr = await side[dc].get(shared, { scope: 'global', r: 3 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((readErr as { code?: string } | undefined)?.code, `${dc}: global r=3 during the cut: ${String(readErr)}`).toBe(ErrorCodes.QUORUM_UNAVAILABLE);
    }

    // Local reads see this side's writes, and only this side's value of the shared key.
    for (const dc of ['dc1', 'dc2'] as const) {
      for (const [k, v] of acked) {
        if (!k.startsWith(`${run}-${dc}-`)) continue;
        const { values } = await side[dc].get(k, { scope: 'local' });
        expect(values.map(String), `${dc} local read of ${k} during the cut`).toEqual([v]);
      }
      const { values } = await side[dc].get(shared, { scope: 'local' });
      expect(values.map(String), `${dc} local read of the shared key during the cut`).toEqual([sharedValues[dc]]);
    }

    // The other dc's two copies of each write wait as hints on the writing side
    // (stored behind the reply, so waited for).
    const held = async (dc: string): Promise<number> =>
      (await Promise.all(hostsOf(dc).map(status))).reduce((sum, s) => sum + s.hints.pending, 0);
    for (const dc of ['dc1', 'dc2']) {
      const n = await waitFor(`${dc} to hold hints for the other dc`, async () => {
        const h = await held(dc);
        return h >= 2 * PER_SIDE ? h : undefined;
      }, 10_000).catch(() => held(dc));
      expect(n, `hints held in ${dc} during the cut`).toBeGreaterThanOrEqual(2 * PER_SIDE);
    }

    cluster.lab.heal();
    await waitFor(
      'the dcs to see each other again and hand off every hint',
      async () => {
        const views = await Promise.all(cluster.hosts.map(status));
        return views.every((s) => s.members.every((m) => m.status === 'alive') && s.hints.pending === 0);
      },
      60_000,
    );

    const expected = new Map<string, string[]>([...acked].map(([k, v]) => [k, [v]]));
    expected.set(shared, [sharedValues.dc1, sharedValues.dc2].sort());
    const missing = async (c: Client, scope: 'local' | 'global'): Promise<string[]> => {
      const out: string[] = [];
      for (const [k, want] of expected) {
        const { values } = await c.get(k, scope === 'global' ? { scope, r: 4 } : { scope });
        const got = values.map(String).sort();
        if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${k}: ${JSON.stringify(got)}`);
      }
      return out;
    };

    // Local reads first: they ask only the reader's dc, so they show the handoff
    // itself moved the other dc's writes (a global read would repair them).
    for (const [dc, c] of [['dc1', c1], ['dc2', c2]] as const) {
      const last = await waitFor(`every write readable in ${dc} (local scope)`, async () => {
        const m = await missing(c, 'local');
        return m.length === 0 ? m : undefined;
      }, 20_000).catch(() => missing(c, 'local'));
      expect(last, `writes missing from ${dc}'s replicas after the heal (${idsOf(dc).join(',')})`).toEqual([]);
    }
    for (const [dc, c] of [['dc1', c1], ['dc2', c2]] as const) {
      expect(await missing(c, 'global'), `writes missing from a global r=4 read through ${dc}`).toEqual([]);
    }
    console.log(`multi-dc partition test: ${acked.size} distinct writes + 1 shared key acknowledged during the cut, 0 lost`);
  }, 120_000);
});
