// Per-partition trees kept current by the store's change observer must equal a
// fresh bulk build from disk, including when writes land during a build.
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import { FANOUT, type Replica, SEGMENTS, replicas } from './support.js';

const cluster = replicas();
const Q = 8;

async function freshRoots(r: Replica): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let p = 0; p < Q; p++) out.push((await native.merkleBuild(await r.store.partitionDigests(p, Q), SEGMENTS, FANOUT)).root());
  return out;
}

const liveRoots = (r: Replica) => Array.from({ length: Q }, (_, p) => r.trees.tree(p)!.root());

describe('partition trees', () => {
  it('follow writes, deletes, merges and sweeps incrementally, matching a build from disk', async () => {
    const r = await cluster.open('a', { q: Q });
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2000; i++) writes.push(r.store.put(Buffer.from(`key-${i}`), Buffer.from(`v${i}`), i % 10 === 0 ? { ttlMs: 1 } : {}));
    await Promise.all(writes);
    for (let i = 0; i < 100; i++) {
      const k = Buffer.from(`key-${i}`);
      await r.store.delete(k, { context: (await r.store.get(k)).context });
    }
    // A merge from "another replica" that wrote the key concurrently adds a sibling.
    const elsewhere = await cluster.open('b', { q: Q });
    const foreign = await elsewhere.store.put(Buffer.from('key-501'), Buffer.from('from b'));
    await r.store.merge(Buffer.from('key-501'), foreign);
    expect((await r.store.get(Buffer.from('key-501'))).values).toHaveLength(2);
    // The sweep reclaims expired values (after the grace and skew have passed).
    await r.store.sweep(Date.now() + 10 * 3600_000);
    expect(liveRoots(r)).toEqual(await freshRoots(r));
    const total = Array.from({ length: Q }, (_, p) => r.trees.keyCount(p)).reduce((a, b) => a + b, 0);
    let onDisk = 0;
    for (let p = 0; p < Q; p++) onDisk += (await r.store.partitionDigests(p, Q)).length / 2;
    expect(total).toBe(onDisk);
  });

  it('a rebuild while writes keep landing ends equal to a build from disk', async () => {
    const r = await cluster.open('a', { q: Q });
    const first: Array<Promise<unknown>> = [];
    for (let i = 0; i < 5000; i++) first.push(r.store.put(Buffer.from(`key-${i}`), Buffer.from('x')));
    await Promise.all(first);
    for (let p = 0; p < Q; p++) r.trees.rebuild(p);
    // Writes and deletes race the rebuilds.
    const racing: Array<Promise<unknown>> = [];
    for (let i = 0; i < 3000; i++) {
      const k = Buffer.from(`key-${i * 3}`);
      racing.push(i % 2 === 0 ? r.store.put(k, Buffer.from('y')) : r.store.put(Buffer.from(`new-${i}`), Buffer.from('z')));
      if (i % 100 === 0) await new Promise((res) => setImmediate(res));
    }
    await Promise.all(racing);
    await r.trees.idle();
    expect(r.trees.stats.builds).toBeGreaterThanOrEqual(2 * Q);
    expect(liveRoots(r)).toEqual(await freshRoots(r));
  });

  it('holds only the partitions asked for, and forgets the rest', async () => {
    const r = await cluster.open('a', { q: Q });
    r.trees.hold([1, 3], Q);
    expect(r.trees.held()).toEqual([1, 3]);
    expect(r.trees.tree(0)).toBeUndefined();
    expect(r.trees.tree(1)).toBeDefined();
    r.trees.hold([0, 1, 3], Q);
    await r.trees.idle();
    expect(r.trees.tree(0)).toBeDefined();
  });

  it('counts as ready only the held partitions whose tree is built', async () => {
    const r = await cluster.open('a', { q: Q });
    r.trees.hold([0, 1, 2, 3], Q);
    await r.trees.idle();
    expect(r.trees.stats).toMatchObject({ held: 4, ready: 4 });
    r.trees.hold([1, 2], Q);
    expect(r.trees.stats).toMatchObject({ held: 2, ready: 2 });
    r.trees.hold([1, 2, 5], Q);
    await r.trees.idle();
    expect(r.trees.stats).toMatchObject({ held: 3, ready: 3 });
    // Another partition count starts over.
    r.trees.hold([0, 1], 2 * Q);
    expect(r.trees.stats).toMatchObject({ held: 2, ready: 0 });
    await r.trees.idle();
    expect(r.trees.stats).toMatchObject({ held: 2, ready: 2 });
  });
});
