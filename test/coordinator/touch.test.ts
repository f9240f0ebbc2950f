// touch: a session's sliding expiry. Real stores on one manual clock; the network
// replaced by direct calls to the other coordinators (a node can be made to fail).
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, type CoordinatorOptions, type ReplicaPeers } from '../../src/coordinator/index.js';
import { BadRequestError, UnavailableError } from '../../src/errors.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { ManualClock } from '../../src/time.js';
import { TestStores, coordinatorOptions } from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4'];
const KEY = Buffer.from('session:9');
const stores = new TestStores('shoal-touch-');

afterEach(async () => {
  await stores.closeAll();
});

async function setUp(o: Partial<CoordinatorOptions> = {}) {
  const clock = new ManualClock();
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, 3);
  const replicas = placement.replicas(placement.partitionOf(KEY));
  const outsider = IDS.find((id) => !replicas.includes(id))!;
  // Sweeps off: expiry is only what reads see, on the manual clock.
  await stores.open(IDS, () => ({ clock }));
  const down = new Set<string>();
  /** Nodes whose replica reads wait until release() (so a read's repair waits too). */
  const slow = new Set<string>();
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const coords = new Map<string, Coordinator>();
  const reach = (to: string) => {
    if (down.has(to)) throw new UnavailableError(`${to} is down`);
  };
  const peers: ReplicaPeers = {
    write: async (to, key, set, hintFor) => {
      reach(to);
      await coords.get(to)!.replicaWrite(key, structuredClone(set), hintFor);
    },
    read: async (to, key, readFor) => {
      reach(to);
      if (slow.has(to)) await released;
      return coords.get(to)!.replicaRead(key, readFor);
    },
    forwardPut: async (to, req) => coords.get(to)!.put(req.key, req.value, { ...req, forwarded: true }),
    forwardDelete: async (to, req) => coords.get(to)!.delete(req.key, { ...req, forwarded: true }),
    forwardTouch: async (to, req) => {
      reach(to);
      return coords.get(to)!.touch(req.key, req.ttlMs, { ...req, forwarded: true });
    },
  };
  for (const id of IDS) {
    coords.set(
      id,
      new Coordinator(
        coordinatorOptions({ nodeId: id, local: stores.get(id)!, peers, clock, cluster: { placement: () => placement, isReachable: (x) => !down.has(x) }, ...o }),
      ),
    );
  }
  const drain = () => Promise.all([...coords.values()].map((c) => c.drain()));
  const own = async (id: string) => (await stores.get(id)!.get(KEY)).values.map(String).sort();
  return { clock, replicas, outsider, down, slow, release, coords, drain, own, first: coords.get(replicas[0]!)! };
}

describe('touch', () => {
  it('gives every replica the new expiry, so the value outlives its first TTL (an untouched one does not)', async () => {
    const h = await setUp();
    await h.first.put(KEY, Buffer.from('s'), { ttlMs: 1000, w: 3 });
    await h.first.put(Buffer.from('untouched'), Buffer.from('u'), { ttlMs: 1000, w: 3 });
    h.clock.advance(500);
    expect(await h.first.touch(KEY, 10_000, { w: 3 })).toMatchObject({ touched: true });
    h.clock.advance(4500);
    expect((await h.first.get(KEY, { r: 3 })).values.map(String)).toEqual(['s']);
    for (const id of h.replicas) expect(await h.own(id)).toEqual(['s']);
    expect((await h.first.get(Buffer.from('untouched'), { r: 3 })).values).toEqual([]);
    h.clock.advance(6000); // past the new expiry
    expect((await h.first.get(KEY, { r: 3 })).values).toEqual([]);
    await h.drain();
  });

  it('keeps siblings as siblings, and 0 means never expire', async () => {
    const h = await setUp();
    await h.first.put(KEY, Buffer.from('a'), { ttlMs: 1000, w: 3 });
    await h.coords.get(h.replicas[1]!)!.put(KEY, Buffer.from('b'), { ttlMs: 1000, w: 3 });
    const out = await h.first.touch(KEY, 0, { w: 3 });
    expect(out.touched).toBe(true);
    h.clock.advance(365 * 24 * 3600_000);
    const got = await h.first.get(KEY, { r: 3 });
    expect(got.values.map(String).sort()).toEqual(['a', 'b']);
    // The touch's context covers both: a write with it replaces them.
    await h.first.put(KEY, Buffer.from('merged'), { context: out.context, w: 3 });
    expect((await h.first.get(KEY, { r: 3 })).values.map(String)).toEqual(['merged']);
    await h.drain();
  });

  it('finds the value by a quorum read when the coordinating replica missed the write', async () => {
    // notFoundOk: its own "not found" counts at once, so the read answers before b does.
    const h = await setUp({ notFoundOk: true });
    const [missed, a, b] = h.replicas as [string, string, string];
    h.down.add(missed);
    await h.coords.get(a)!.put(KEY, Buffer.from('s'), { ttlMs: 1000, w: 2 });
    await h.drain();
    h.down.delete(missed);
    // The hint a fallback holds for `missed` is not delivered in this test, and b's
    // reply is held so the read's repair of `missed` waits: only the read finds it.
    expect(await h.own(missed)).toEqual([]);
    h.slow.add(b);
    expect((await h.coords.get(missed)!.touch(KEY, 10_000, { r: 2, w: 2 })).touched).toBe(true);
    h.release();
    await h.drain();
    h.clock.advance(5000);
    for (const id of [missed, a, b]) expect(await h.own(id)).toEqual(['s']);
  });

  it('answers touched false for an absent, deleted or expired key, and writes nothing', async () => {
    const h = await setUp();
    const absent = await h.first.touch(KEY, 1000);
    expect(absent.touched).toBe(false);
    expect(absent.context).toEqual((await h.first.get(KEY)).context); // the empty context, as a get of an absent key
    for (const id of IDS) expect(await stores.get(id)!.getSet(KEY)).toBeUndefined();
    await h.first.put(KEY, Buffer.from('s'), { ttlMs: 1000, w: 3 });
    h.clock.advance(2000);
    const before = await Promise.all(h.replicas.map((id) => stores.get(id)!.getSet(KEY)));
    expect((await h.first.touch(KEY, 10_000)).touched).toBe(false);
    await h.drain();
    // The expired version was not revived: every replica holds what it held before.
    expect(await Promise.all(h.replicas.map((id) => stores.get(id)!.getSet(KEY)))).toEqual(before);
    const deleted = Buffer.from('deleted');
    const { context } = await h.first.put(deleted, Buffer.from('d'), { w: 3 });
    await h.first.delete(deleted, { context, w: 3 });
    expect((await h.first.touch(deleted, 1000)).touched).toBe(false);
    await h.drain();
  });

  it('is forwarded by a node outside the preference list, either way', async () => {
    const h = await setUp();
    const outside = h.coords.get(h.outsider)!;
    expect((await outside.touch(KEY, 1000)).touched).toBe(false);
    await h.first.put(KEY, Buffer.from('s'), { ttlMs: 1000, w: 3 });
    expect((await outside.touch(KEY, 10_000)).touched).toBe(true);
    expect(outside.stats.forwarded).toBe(2);
    expect(await stores.get(h.outsider)!.getSet(KEY)).toBeUndefined();
    h.clock.advance(5000);
    expect((await h.first.get(KEY, { r: 3 })).values.map(String)).toEqual(['s']);
    await expect(h.first.touch(KEY, -1)).rejects.toThrow(BadRequestError);
    await expect(h.first.touch(KEY, 1.5)).rejects.toThrow(BadRequestError);
    await h.drain();
  });
});
