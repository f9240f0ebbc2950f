import { describe, expect, it } from 'vitest';
import { b, tempStores, texts } from './support.js';

describe('store: group commit', () => {
  const stores = tempStores();

  it('writes issued in one turn go to LevelDB as one batch with splitBatches off', async () => {
    const s = await stores.open({ splitBatches: false });
    await s.put(b('warm'), b('up'));
    const before = s.stats.batches;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) writes.push(s.put(b(`k${i}`), b(`v${i}`)));
    writes.push(s.putMeta('node.id', b('n')));
    writes.push(s.putHint('other', b('k0'), (await s.getSet(b('warm')))!));
    await Promise.all(writes);
    // The hint was issued one turn later (after an await), so at most two batches.
    expect(s.stats.batches - before).toBeLessThanOrEqual(2);
    expect(texts((await s.get(b('k499'))).values)).toEqual(['v499']);
  });

  it('a large turn with no write in flight sends its first 32 writes at once and the rest as one batch', async () => {
    const s = await stores.open();
    await s.put(b('warm'), b('up'));
    const before = { batches: s.stats.batches, ops: s.stats.batchOps };
    const writes = Array.from({ length: 500 }, (_, i) => s.put(b(`k${i}`), b(`v${i}`)));
    await Promise.all(writes);
    // Two batches, each with the counter high-water mark besides its records.
    expect(s.stats.batches - before.batches).toBe(2);
    expect(s.stats.batchOps - before.ops).toBe(502);
    const got = await Promise.all(Array.from({ length: 500 }, (_, i) => s.get(b(`k${i}`))));
    expect(got.every((g, i) => texts(g.values).join() === `v${i}`)).toBe(true);
  });

  it('a key updated again after its batch went out early is written again, and survives a restart', async () => {
    const path = await stores.dir();
    let s = await stores.open({ path });
    // One turn: 40 keys (the first 32 leave at once), then every key again.
    const first = Array.from({ length: 40 }, (_, i) => s.put(b(`k${i}`), b('one')));
    const second = Array.from({ length: 40 }, (_, i) => s.put(b(`k${i}`), b('two')));
    await Promise.all([...first, ...second]);
    const expectBoth = async (st: typeof s) => {
      const got = await Promise.all(Array.from({ length: 40 }, (_, i) => st.get(b(`k${i}`))));
      expect(got.map((g) => texts(g.values).sort().join())).toEqual(Array.from({ length: 40 }, () => 'one,two'));
    };
    await expectBoth(s);
    await s.close();
    s = await stores.open({ path });
    await expectBoth(s);
  });

  it('writes spread over many turns take at most one batch per turn', async () => {
    const s = await stores.open();
    const before = s.stats.batches;
    const writes: Promise<unknown>[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 20; i++) writes.push(s.put(b(`k${turn}-${i}`), b('v')));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    const batches = s.stats.batches - before;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(20);
  });

  it('a put resolves only after its batch has committed', async () => {
    const s = await stores.open();
    const before = s.stats.batches;
    await s.put(b('k'), b('v'));
    expect(s.stats.batches).toBe(before + 1);
  });

  it('several writes to one key in one turn are written once', async () => {
    const s = await stores.open();
    const before = s.stats.batchOps;
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.put(b('same'), b(`v${i}`))));
    // One data record plus the counter high-water mark.
    expect(s.stats.batchOps - before).toBe(2);
    expect((await s.get(b('same'))).values).toHaveLength(10);
  });

  it("reads that miss the cache in one turn are coalesced into one getMany (reads: 'batched')", async () => {
    const s = await stores.open({ reads: 'batched' });
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.put(b(`k${i}`), b('v'))));
    s.dropCache();
    const before = s.stats.readCalls;
    const got = await Promise.all(Array.from({ length: 100 }, (_, i) => s.get(b(`k${i}`))));
    expect(got.every((g) => g.values.length === 1)).toBe(true);
    expect(s.stats.readCalls - before).toBe(1);
  });

  for (const reads of ['sync', 'batched'] as const) {
    it(`reads: '${reads}' — first writes of keys not cached read them first, and see what is stored`, async () => {
      const s = await stores.open({ reads });
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(b(`k${i}`), b('v1'))));
      s.dropCache();
      const loads = s.stats.loads;
      // Each key is read once before its first write, then served from its slot.
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(b(`k${i}`), b('v2'))));
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(b(`k${i}`), b('v3'))));
      expect(s.stats.loads - loads).toBe(50);
      const got = await Promise.all(Array.from({ length: 50 }, (_, i) => s.get(b(`k${i}`))));
      expect(got.every((g) => texts(g.values).sort().join() === 'v1,v2,v3')).toBe(true);
      s.dropCache();
      const again = await Promise.all(Array.from({ length: 50 }, (_, i) => s.get(b(`k${i}`))));
      expect(again.every((g) => texts(g.values).sort().join() === 'v1,v2,v3')).toBe(true);
      expect((await s.get(b('absent'))).values).toEqual([]);
    });
  }

  it('sync: true commits durably and still batches', async () => {
    const s = await stores.open({ sync: true });
    const before = s.stats.batches;
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.put(b(`k${i}`), b('v'))));
    // The first 32 go out at once, the other 68 together.
    expect(s.stats.batches - before).toBe(2);
  });

  it('the record cache serves read-modify-writes of recently written keys without a read', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('v1'));
    const loads = s.stats.loads;
    await s.put(b('k'), b('v2'));
    expect(s.stats.loads).toBe(loads);
    expect(s.stats.cacheHits).toBeGreaterThan(0);
    s.dropCache();
    await s.put(b('k'), b('v3'));
    expect(s.stats.loads).toBe(loads + 1);
    expect((await s.get(b('k'))).values).toHaveLength(3);
  });

  it('with the cache off, every read-modify-write reads first and results are the same', async () => {
    const s = await stores.open({ cacheBytes: 0 });
    for (let i = 0; i < 5; i++) await s.put(b('k'), b(`v${i}`));
    expect(s.stats.cacheHits).toBe(0);
    expect((await s.get(b('k'))).values).toHaveLength(5);
  });
});
