import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyFilter } from '../../src/storage/key-filter.js';
import { b, tempStores, texts } from './support.js';

/** A data key as the store lays it out: 'd', an 8-byte hash, the user key. */
function dataKeyOf(hash: Buffer): Buffer {
  return Buffer.concat([Buffer.from('d'), hash, Buffer.from('k')]);
}

describe('KeyFilter', () => {
  it('never excludes a key it was given, across its growth, and counts keys once', () => {
    const f = new KeyFilter();
    f.ready = true;
    const keys = Array.from({ length: 200_000 }, () => dataKeyOf(randomBytes(8)));
    for (const k of keys) f.add(k);
    for (const k of keys.slice(0, 1000)) f.add(k);
    expect(keys.some((k) => f.excludes(k))).toBe(false);
    // A key the filter already (falsely) holds is not counted again: ~1% here.
    expect(f.size.keys).toBeGreaterThan(196_000);
    expect(f.size.keys).toBeLessThanOrEqual(200_000);
    expect(f.size.bytes).toBeLessThan(200_000 * 4); // ~1.25 bytes per key, stages doubling
  });

  it('excludes nearly every key it was not given', () => {
    const f = new KeyFilter();
    f.ready = true;
    for (let i = 0; i < 100_000; i++) f.add(dataKeyOf(randomBytes(8)));
    let maybe = 0;
    for (let i = 0; i < 100_000; i++) if (!f.excludes(dataKeyOf(randomBytes(8)))) maybe++;
    expect(maybe / 100_000).toBeLessThan(0.03);
    expect(f.skips).toBe(100_000 - maybe);
  });

  it('excludes nothing until it is ready', () => {
    const f = new KeyFilter();
    expect(f.excludes(dataKeyOf(randomBytes(8)))).toBe(false);
    expect(f.skips).toBe(0);
  });
});

describe('store: key filter', () => {
  const stores = tempStores();

  /** A store holding keys k0..k{count-1} (value v), closed and opened again: its scan has just begun. */
  async function reopened(count: number, v: string) {
    const path = await stores.dir();
    const s = await stores.open({ path });
    await Promise.all(Array.from({ length: count }, (_, i) => s.put(b(`k${i}`), b(v))));
    await s.close();
    return stores.open({ path });
  }

  it('after a restart, the scan covers every stored key: writes see their siblings, new keys read nothing', async () => {
    const s = await reopened(3000, 'old');
    expect(s.stats.keyFilter?.ready).toBe(false);
    await s.keyFilterFilled();
    expect(s.stats.keyFilter).toMatchObject({ ready: true, errors: 0 });
    expect(s.stats.keyFilter!.keys).toBeGreaterThanOrEqual(2990);
    // Every stored key is still read before its write: its value survives as a sibling.
    await Promise.all(Array.from({ length: 3000 }, (_, i) => s.put(b(`k${i}`), b('new'))));
    const got = await Promise.all(Array.from({ length: 3000 }, (_, i) => s.get(b(`k${i}`))));
    expect(got.filter((g) => texts(g.values).sort().join() !== 'new,old')).toEqual([]);
    // New keys: nearly all skip the read.
    const reads = s.stats.readCalls;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => s.put(b(`fresh${i}`), b('v'))));
    expect(s.stats.readCalls - reads).toBeLessThan(50);
    expect(s.stats.keyFilter!.skips).toBeGreaterThan(950);
    expect(texts((await s.get(b('fresh7'))).values)).toEqual(['v']);
  });

  it('keys written while the scan runs are covered too', async () => {
    const s = await reopened(5000, 'v');
    // The scan has not ended when open resolves: these writes race it.
    expect(s.stats.keyFilter?.ready).toBe(false);
    await Promise.all(Array.from({ length: 300 }, (_, i) => s.put(b(`during${i}`), b('one'))));
    await s.keyFilterFilled();
    expect(s.stats.keyFilter?.ready).toBe(true);
    s.dropCache();
    await Promise.all(Array.from({ length: 300 }, (_, i) => s.put(b(`during${i}`), b('two'))));
    const got = await Promise.all(Array.from({ length: 300 }, (_, i) => s.get(b(`during${i}`))));
    expect(got.filter((g) => texts(g.values).sort().join() !== 'one,two')).toEqual([]);
  });

  it("reads of absent keys skip LevelDB, in both read modes; 'batched' writes of new keys too", async () => {
    for (const reads of ['sync', 'batched'] as const) {
      const s = await stores.open({ reads });
      await s.keyFilterFilled();
      await s.put(b('present'), b('v'));
      s.dropCache();
      const before = s.stats.readCalls;
      expect((await s.get(b('absent'))).values).toEqual([]);
      await s.put(b('brand-new'), b('x'));
      expect(s.stats.readCalls).toBe(before);
      expect(texts((await s.get(b('present'))).values)).toEqual(['v']);
      expect(s.stats.readCalls).toBe(before + 1);
      expect(texts((await s.get(b('brand-new'))).values)).toEqual(['x']);
    }
  });

  it('keyFilter: false reads every time and reports no filter', async () => {
    const s = await stores.open({ keyFilter: false });
    const before = s.stats.readCalls;
    expect((await s.get(b('absent'))).values).toEqual([]);
    await s.put(b('brand-new'), b('x'));
    expect(s.stats.readCalls).toBe(before + 2);
    expect(s.stats.keyFilter).toBeUndefined();
  });
});
