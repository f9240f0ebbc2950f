// Local quorums with replicas per data centre: R and W count the coordinator's dc
// only; other dcs get writes behind the reply (hinted when they fail) and are not
// read. Real stores; the network replaced by direct calls a test can fail or hold.
import { afterEach, describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { Coordinator, type CoordinatorOptions, type ReplicaPeers, TargetSet } from '../../src/coordinator/index.js';
import { QuorumUnavailableError, UnavailableError } from '../../src/errors.js';
import { PreferenceLists, type Replication, createRing, joinRing } from '../../src/ring/index.js';
import { TestStores, coordinatorOptions } from './support.js';

const IDS = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
const dcOf = (id: string) => id[0]!;
const KEY = Buffer.from('session:7');
const stores = new TestStores('shoal-local-');

afterEach(async () => {
  await stores.closeAll();
});

type Mode = 'ok' | 'fail' | 'hold';

/**
 * Six nodes in dcs a and b, two replicas of KEY in each (by default), and a
 * coordinator on KEY's first replica in dc a (or on `on`).
 */
async function setUp(o: { replication?: Replication; on?: (h: { a: string[]; b: string[]; spareA: string; spareB: string }) => string } & Partial<CoordinatorOptions> = {}) {
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, o.replication ?? { a: 2, b: 2 }, (id) => ({ dc: dcOf(id), rack: id }));
  const replicas = placement.replicas(placement.partitionOf(KEY));
  const a = replicas.filter((id) => dcOf(id) === 'a');
  const b = replicas.filter((id) => dcOf(id) === 'b');
  const spareA = IDS.find((id) => dcOf(id) === 'a' && !replicas.includes(id))!;
  const spareB = IDS.find((id) => dcOf(id) === 'b' && !replicas.includes(id))!;
  const self = o.on ? o.on({ a, b, spareA, spareB }) : a[0]!;
  await stores.open(IDS);
  const modes = new Map<string, Mode>();
  const unreachable = new Set<string>();
  const reads: string[] = [];
  const writes: string[] = [];
  const forwards: string[] = [];
  const held: Array<(fail: boolean) => void> = [];
  const gate = async (to: string) => {
    const mode = modes.get(to) ?? 'ok';
    if (mode === 'fail') throw new UnavailableError(`${to} does not answer`);
    if (mode === 'hold') {
      await new Promise<void>((resolve, reject) =>
        held.push((fail) => (fail ? reject(new UnavailableError(`${to} timed out`)) : resolve())),
      );
    }
  };
  const peers = {
    read: async (to: string, key: Buffer) => {
      reads.push(to);
      await gate(to);
      return stores.get(to)!.getSet(key);
    },
    write: async (to: string, key: Buffer, set: SiblingSet, hintFor: string) => {
      writes.push(to);
      await gate(to);
      if (hintFor !== '' && hintFor !== to) await stores.get(to)!.putHint(hintFor, key, set);
      else await stores.get(to)!.merge(key, set);
    },
    forwardPut: (to: string) => {
      forwards.push(to);
      return Promise.resolve({ context: Buffer.alloc(0) });
    },
  } as unknown as ReplicaPeers;
  const c = new Coordinator(
    coordinatorOptions({
      nodeId: self,
      local: stores.get(self)!,
      peers,
      cluster: { placement: () => placement, isReachable: (id) => !unreachable.has(id) },
      dc: dcOf(self),
      scope: 'local',
      n: placement.n,
      ...o,
    }),
  );
  /** Lets held requests go on, or fail (as a timeout would). */
  const release = (fail = false) => {
    for (const r of held.splice(0)) r(fail);
  };
  return { c, self, a, b, spareA, spareB, modes, unreachable, reads, writes, forwards, release };
}

const valuesOn = async (id: string) => (await stores.get(id)!.get(KEY)).values.map(String);
const hintOn = async (id: string, owner: string) => (await stores.get(id)!.getHint(owner, KEY)) !== undefined;

describe('local quorums (replicas per data centre)', () => {
  it('a write answers after W acks from its own dc while the other dc has not answered, which then gets it behind', async () => {
    const h = await setUp();
    expect(h.a).toHaveLength(2);
    expect(h.b).toHaveLength(2);
    for (const id of [...h.b, h.spareB]) h.modes.set(id, 'hold');
    await h.c.put(KEY, Buffer.from('v1'));
    expect(await valuesOn(h.a[1]!)).toEqual(['v1']);
    for (const id of h.b) expect(await valuesOn(id)).toEqual([]);
    // A global-scope write cannot finish without dc b: it is still waiting after a local one completes.
    let globalDone = false;
    const global = h.c.put(KEY, Buffer.from('g'), { scope: 'global', w: 3 }).then(() => (globalDone = true));
    await h.c.put(KEY, Buffer.from('t'));
    expect(globalDone).toBe(false);
    h.release();
    await global;
    await h.c.drain();
    for (const id of h.b) expect((await valuesOn(id)).sort()).toEqual(['g', 't', 'v1']);
  });

  it('a dc that fails after the reply gets hints: a stand-in on this side for one replica, the coordinator for the other', async () => {
    const h = await setUp();
    for (const id of h.b) h.modes.set(id, 'hold');
    h.modes.set(h.spareB, 'fail');
    await h.c.put(KEY, Buffer.from('v1'), { w: 2 });
    // Only now do dc b's writes fail (a global quorum, met by then, would leave them to anti-entropy).
    h.release(true);
    await h.c.drain();
    // One b replica's stand-in is taken from dc b (failing too), then from anywhere:
    // dc a's spare; the other has no stand-in left, and the coordinator keeps its hint.
    const [first, second] = (await hintOn(h.spareA, h.b[0]!)) ? [h.b[0]!, h.b[1]!] : [h.b[1]!, h.b[0]!];
    expect(await hintOn(h.spareA, first)).toBe(true);
    expect(await hintOn(h.self, second)).toBe(true);
    for (const id of h.b) expect(await valuesOn(id)).toEqual([]);
  });

  it('a read asks only its own dc and repairs only there', async () => {
    const h = await setUp();
    const set = await stores.get(h.a[0]!)!.put(KEY, Buffer.from('new'));
    await stores.get(h.a[1]!)!.merge(KEY, set);
    await stores.get(h.b[0]!)!.put(KEY, Buffer.from('only-in-b'));
    expect((await h.c.get(KEY)).values.map(String)).toEqual(['new']);
    await h.c.drain();
    expect(h.reads.every((id) => dcOf(id) === 'a')).toBe(true);
    expect(await valuesOn(h.b[1]!)).toEqual([]); // not asked, not repaired
    // Global scope reads every replica and sees (and repairs) both versions.
    expect((await h.c.get(KEY, { scope: 'global', r: 4 })).values.map(String).sort()).toEqual(['new', 'only-in-b']);
    await h.c.drain();
    expect((await valuesOn(h.b[1]!)).sort()).toEqual(['new', 'only-in-b']);
  });

  it('a stand-in for an unreachable replica comes from the same dc and counts towards the local quorum', async () => {
    const h = await setUp();
    h.unreachable.add(h.a[1]!);
    for (const id of h.b) h.modes.set(id, 'hold');
    await h.c.put(KEY, Buffer.from('v1'), { w: 2 });
    expect(h.writes).toContain(h.spareA);
    expect(await hintOn(h.spareA, h.a[1]!)).toBe(true);
    expect(h.writes).not.toContain(h.spareB);
    h.release();
    await h.c.drain();
  });

  it('acks from the other dc do not count towards a local quorum', async () => {
    const h = await setUp();
    // No stand-in anywhere for the second dc-a replica (one from dc b would count
    // for it: it stands for a local replica), while both dc-b replicas answer.
    for (const id of [h.a[1]!, h.spareA, h.spareB]) h.modes.set(id, 'fail');
    await expect(h.c.put(KEY, Buffer.from('x'), { w: 2 })).rejects.toThrow(QuorumUnavailableError);
    await h.c.put(KEY, Buffer.from('y'), { w: 2, scope: 'global' });
    await h.c.drain();
  });

  it('refuses plainly an r or w beyond the replicas in its dc', async () => {
    const h = await setUp();
    await expect(h.c.put(KEY, Buffer.from('x'), { w: 3 })).rejects.toThrow(QuorumUnavailableError);
    await expect(h.c.get(KEY, { r: 3 })).rejects.toThrow(/local scope needs 3 replicas in dc a, but this key has 2/);
    // Global scope may count the other dc.
    await h.c.put(KEY, Buffer.from('x'), { w: 3, scope: 'global' });
    await h.c.drain();
  });

  it('a node outside the preference list forwards a local-scope write to a replica in its own dc', async () => {
    const h = await setUp({ on: ({ spareB }) => spareB });
    await h.c.put(KEY, Buffer.from('x'));
    expect(h.forwards).toHaveLength(1);
    expect(dcOf(h.forwards[0]!)).toBe('b');
  });

  it('without replicas per dc, local scope counts every replica', async () => {
    const h = await setUp({ replication: 3, on: ({ a }) => a[0] ?? 'a1' });
    const replicas = h.a.length + h.b.length;
    expect(replicas).toBe(3);
    for (const id of IDS) if (!h.a.includes(id) && !h.b.includes(id)) h.unreachable.add(id);
    await h.c.put(KEY, Buffer.from('x'), { w: 3 });
    await h.c.drain();
  });
});

describe('stand-ins with replicas per data centre', () => {
  it('come from the unreachable replica own dc while it has a reachable node, then from anywhere', () => {
    let ring = createRing(64, IDS[0]!);
    for (const id of IDS.slice(1)) ring = joinRing(ring, id);
    const placement = new PreferenceLists(ring, { a: 2, b: 2 }, (id) => ({ dc: dcOf(id), rack: id }));
    let crossedWalkOrder = 0;
    for (let p = 0; p < 64; p++) {
      const replicas = placement.replicas(p);
      for (const down of replicas) {
        const ts = new TargetSet(placement, p, (id) => id !== down);
        const t = ts.targets.find((x) => x.standsFor === down)!;
        expect(dcOf(t.node)).toBe(dcOf(down));
        if (dcOf(placement.walk(p)[replicas.length]!) !== dcOf(down)) crossedWalkOrder++;
        // With its dc's spare failing too, the next stand-in is from the other dc.
        const again = ts.replace(t)!;
        expect(dcOf(again.node)).not.toBe(dcOf(down));
        expect(again.standsFor).toBe(down);
      }
    }
    // Plain walk order would have picked the other dc's spare this often: the test says something.
    expect(crossedWalkOrder).toBeGreaterThan(0);
  });
});
