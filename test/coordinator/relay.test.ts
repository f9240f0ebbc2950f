// Relayed writes to another dc (local scope, replicas per dc): the coordinator
// sends a dc one copy, to one of its replicas, which passes it on to the others and
// answers once each has it or a hint for it is kept. A coordinator per node over
// real stores; the network replaced by direct calls between them that a test can fail.
import { afterEach, describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { Coordinator, type ReplicaPeers } from '../../src/coordinator/index.js';
import { BadRequestError, UnavailableError } from '../../src/errors.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { TestStores, coordinatorOptions } from './support.js';

const IDS = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
const dcOf = (id: string) => id[0]!;
const KEY = Buffer.from('session:7');
const stores = new TestStores('shoal-relay-');

afterEach(async () => {
  await stores.closeAll();
});

/**
 * Six nodes, dc a holding two replicas of KEY and dc b three (all of its nodes),
 * a coordinator on every node. `canRelay` says which nodes pass relayed writes on.
 */
async function setUp(o: { canRelay?: (id: string) => boolean } = {}) {
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, { a: 2, b: 3 }, (id) => ({ dc: dcOf(id), rack: id }));
  const replicas = placement.replicas(placement.partitionOf(KEY));
  const a = replicas.filter((id) => dcOf(id) === 'a');
  const b = replicas.filter((id) => dcOf(id) === 'b');
  await stores.open(IDS);
  /** Nodes whose requests fail (as a crashed node's would before membership notices). */
  const failing = new Set<string>();
  /** Nodes membership reports unreachable (their requests fail too). */
  const down = new Set<string>();
  /** Nodes only one node's membership reports unreachable: seen by -> unreachable. */
  const downAt = new Map<string, Set<string>>();
  /** Every replica write as from>to, with the relay list when there is one. */
  const writes: string[] = [];
  const nodes = new Map<string, Coordinator>();
  const peersOf = (from: string): ReplicaPeers =>
    ({
      write: async (to: string, key: Buffer, set: SiblingSet, hintFor: string, _t: number, ringId?: Uint8Array, relayTo?: readonly string[]) => {
        writes.push(`${from}>${to}${relayTo ? `[${relayTo.join(',')}]` : ''}`);
        if (failing.has(to) || down.has(to)) throw new UnavailableError(`${to} does not answer`);
        await nodes.get(to)!.replicaWrite(key, set, hintFor, ringId, relayTo);
      },
    }) as unknown as ReplicaPeers;
  for (const id of IDS) {
    nodes.set(
      id,
      new Coordinator(
        coordinatorOptions({
          nodeId: id,
          local: stores.get(id)!,
          peers: peersOf(id),
          cluster: { placement: () => placement, isReachable: (x) => !down.has(x) && downAt.get(id)?.has(x) !== true, canRelay: o.canRelay ?? (() => true) },
          dc: dcOf(id),
          scope: 'local',
          n: placement.n,
        }),
      ),
    );
  }
  const drain = () => Promise.all([...nodes.values()].map((c) => c.drain()));
  return { nodes, a, b, failing, down, downAt, writes, drain, coordinator: nodes.get(a[0]!)! };
}

const valuesOn = async (id: string) => (await stores.get(id)!.get(KEY)).values.map(String);
const hintHolders = async (owner: string) => {
  const holders: string[] = [];
  for (const id of IDS) if ((await stores.get(id)!.getHint(owner, KEY)) !== undefined) holders.push(id);
  return holders;
};

describe('relayed writes to another dc', () => {
  it('sends the other dc one copy, which its first replica passes on to the others', async () => {
    const h = await setUp();
    expect([h.a.length, h.b.length]).toEqual([2, 3]);
    const [b0, b1, b2] = h.b as [string, string, string];
    await h.coordinator.put(KEY, Buffer.from('v1'));
    await h.drain();
    const from = h.a[0]!;
    expect(h.writes.filter((w) => w.startsWith(`${from}>`)).sort()).toEqual([`${from}>${h.a[1]}`, `${from}>${b0}[${b1},${b2}]`].sort());
    expect(h.writes.filter((w) => w.startsWith(`${b0}>`)).sort()).toEqual([`${b0}>${b1}`, `${b0}>${b2}`]);
    for (const id of [...h.a, ...h.b]) expect(await valuesOn(id)).toEqual(['v1']);
    expect(h.coordinator.stats.relayed).toBe(1);
    expect(h.coordinator.stats.relayFallbacks).toBe(0);
    expect(h.nodes.get(b0)!.stats.passedOn).toBe(2);
  });

  it('a replica the relay cannot reach gets a stand-in or a hint, and the relay still answers', async () => {
    const h = await setUp();
    const [b0, b1, b2] = h.b as [string, string, string];
    h.failing.add(b2);
    await h.coordinator.put(KEY, Buffer.from('v1'));
    await h.drain();
    expect(h.coordinator.stats.relayFallbacks).toBe(0);
    expect(await valuesOn(b1)).toEqual(['v1']);
    expect(await valuesOn(b2)).toEqual([]);
    // b2's copy waits as a hint on the stand-in the relay wrote instead: dc b has no
    // node left, so dc a's spare.
    const spareA = IDS.find((id) => dcOf(id) === 'a' && !h.a.includes(id))!;
    expect(await hintHolders(b2)).toEqual([spareA]);
    expect(h.writes).toContain(`${b0}>${spareA}`);
  });

  it('a replica known to be down is not chosen as the relay: the next one is, and the stand-in is written directly', async () => {
    const h = await setUp();
    const [b0, b1, b2] = h.b as [string, string, string];
    h.down.add(b0);
    await h.coordinator.put(KEY, Buffer.from('v1'));
    await h.drain();
    const from = h.a[0]!;
    expect(h.writes).toContain(`${from}>${b1}[${b2}]`);
    expect(h.writes.filter((w) => w.startsWith(`${from}>`) && !w.includes('[')).length).toBe(2); // a's other replica, b0's stand-in
    expect(await valuesOn(b2)).toEqual(['v1']);
    expect(await hintHolders(b0)).toHaveLength(1);
  });

  it('the relay keeps the hint itself for a replica it sees down when no node is left to stand in', async () => {
    const h = await setUp();
    const [b0, b1, b2] = h.b as [string, string, string];
    const spareA = IDS.find((id) => dcOf(id) === 'a' && !h.a.includes(id))!;
    h.downAt.set(b0, new Set([b2, spareA]));
    h.failing.add(b2);
    await h.coordinator.put(KEY, Buffer.from('v1'));
    await h.drain();
    expect(h.writes).toContain(`${h.a[0]}>${b0}[${b1},${b2}]`);
    expect(h.writes.filter((w) => w.startsWith(`${b0}>`))).toEqual([`${b0}>${b1}`]);
    expect(await hintHolders(b2)).toEqual([b0]);
    expect(h.coordinator.stats.relayFallbacks).toBe(0);
  });

  it('when the relay fails, the coordinator writes the dc\'s replicas itself', async () => {
    const h = await setUp();
    const [b0, b1, b2] = h.b as [string, string, string];
    h.failing.add(b0);
    await h.coordinator.put(KEY, Buffer.from('v1'));
    await h.drain();
    expect(h.coordinator.stats.relayFallbacks).toBe(1);
    const from = h.a[0]!;
    expect(h.writes).toEqual(expect.arrayContaining([`${from}>${b1}`, `${from}>${b2}`]));
    expect(await valuesOn(b1)).toEqual(['v1']);
    expect(await valuesOn(b2)).toEqual(['v1']);
    expect(await hintHolders(b0)).toHaveLength(1);
  });

  it('writes each replica of a dc whose nodes cannot relay (an older protocol) itself', async () => {
    const h = await setUp({ canRelay: (id) => dcOf(id) === 'a' });
    await h.coordinator.put(KEY, Buffer.from('v1'));
    await h.drain();
    const from = h.a[0]!;
    expect(h.writes.filter((w) => w.startsWith(`${from}>`)).sort()).toEqual([h.a[1]!, ...h.b].map((id) => `${from}>${id}`).sort());
    expect(h.writes.some((w) => w.includes('['))).toBe(false);
    expect(h.coordinator.stats.relayed).toBe(0);
    for (const id of h.b) expect(await valuesOn(id)).toEqual(['v1']);
  });

  it('a global-scope write counts every replica, so it is not relayed', async () => {
    const h = await setUp();
    await h.coordinator.put(KEY, Buffer.from('v1'), { scope: 'global', w: 5 });
    expect(h.writes.some((w) => w.includes('['))).toBe(false);
    expect(h.coordinator.stats.relayed).toBe(0);
  });

  it('refuses a relay list as long as n, before writing anything', async () => {
    const h = await setUp();
    const set = await stores.get('a1')!.put(KEY, Buffer.from('v1'));
    await expect(h.nodes.get('b1')!.replicaWrite(KEY, set, '', undefined, IDS.slice(0, 5))).rejects.toBeInstanceOf(BadRequestError);
    expect(await valuesOn('b1')).toEqual([]);
    expect(h.writes).toEqual([]);
  });
});
