import { randomBytes } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { FILTER_FILE, saveFilter, takeFilter } from '../../src/storage/filter-snapshot.js';
import { KeyFilter } from '../../src/storage/key-filter.js';
import { Store } from '../../src/storage/index.js';
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

describe('filter snapshot', () => {
  const stores = tempStores();

  it('restores a grown filter that answers exactly as the saved one', async () => {
    const dir = await stores.dir();
    const f = new KeyFilter();
    f.ready = true;
    const keys = Array.from({ length: 150_000 }, () => dataKeyOf(randomBytes(8)));
    for (const k of keys) f.add(k);
    expect(await saveFilter(dir, f)).toBe(true);
    const g = (await takeFilter(dir))!;
    expect(g.ready).toBe(true);
    expect(g.size).toEqual(f.size);
    expect(keys.some((k) => g.excludes(k))).toBe(false);
    const probes = Array.from({ length: 20_000 }, () => dataKeyOf(randomBytes(8)));
    expect(probes.map((k) => g.excludes(k))).toEqual(probes.map((k) => f.excludes(k)));
    expect(await takeFilter(dir)).toBeUndefined(); // taken once
  });

  it('a filter not ready is not saved; a file cut anywhere is refused without an error', async () => {
    const dir = await stores.dir();
    const f = new KeyFilter();
    for (let i = 0; i < 100; i++) f.add(dataKeyOf(randomBytes(8)));
    expect(await saveFilter(dir, f)).toBe(false);
    f.ready = true;
    expect(await saveFilter(dir, f)).toBe(true);
    const whole = await readFile(join(dir, FILTER_FILE));
    for (const cut of [0, 1, 8, 39, 40, 44, 56, 100, whole.length - 33, whole.length - 1]) {
      await writeFile(join(dir, FILTER_FILE), whole.subarray(0, cut));
      expect(await takeFilter(dir)).toBeUndefined();
    }
    await writeFile(join(dir, FILTER_FILE), whole);
    expect((await takeFilter(dir))?.ready).toBe(true);
  });
});

describe('store: key filter', () => {
  const stores = tempStores();

  /**
   * A store holding keys k0..k{count-1} (value v), closed and opened again with no
   * saved filter (as after a crash): its scan has just begun.
   */
  async function reopened(count: number, v: string) {
    const path = await stores.dir();
    const s = await stores.open({ path });
    await Promise.all(Array.from({ length: count }, (_, i) => s.put(b(`k${i}`), b(v))));
    await s.close();
    await rm(join(path, FILTER_FILE));
    return stores.open({ path });
  }

  /** A closed store holding k0..k{count-1} = v; its saved filter is in the folder. */
  async function closedWith(count: number, v: string): Promise<string> {
    const path = await stores.dir();
    const s = await Store.open({ path, sweepIntervalMs: 0 });
    await Promise.all(Array.from({ length: count }, (_, i) => s.put(b(`k${i}`), b(v))));
    await s.keyFilterFilled();
    await s.close();
    await stat(join(path, FILTER_FILE)); // throws if it was not saved
    return path;
  }

  /** Every key k0..k{count-1} written again: each old value must survive as a sibling. */
  async function expectSiblingsKept(s: Store, count: number, old: string): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => s.put(b(`k${i}`), b('new'))));
    const got = await Promise.all(Array.from({ length: count }, (_, i) => s.get(b(`k${i}`))));
    expect(got.filter((g) => texts(g.values).sort().join() !== `new,${old}`)).toEqual([]);
  }

  it('a clean close saves the filter; the next open takes it back instead of scanning, and it misses no key', async () => {
    const path = await closedWith(3000, 'old');
    const s = await stores.open({ path });
    expect(s.stats.keyFilter).toMatchObject({ ready: true, restored: true, errors: 0 });
    expect(s.stats.keyFilter!.keys).toBeGreaterThanOrEqual(2990);
    // Taken: while the store is open there is no saved filter to reuse after a crash.
    await expect(stat(join(path, FILTER_FILE))).rejects.toThrow(/ENOENT/);
    await expectSiblingsKept(s, 3000, 'old');
    const reads = s.stats.readCalls;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => s.put(b(`fresh${i}`), b('v'))));
    expect(s.stats.readCalls - reads).toBeLessThan(50);
  });

  it('a filter saved before someone else wrote to the database is not used (as after a downgrade and upgrade)', async () => {
    const path = await closedWith(1000, 'old');
    // "An older Shoal" writes a key the saved filter never saw: the record is
    // made by a store elsewhere and copied in with plain LevelDB.
    const otherPath = await stores.dir();
    const other = await stores.open({ path: otherPath });
    await other.put(b('written-elsewhere'), b('old'));
    await other.close();
    const src = new ClassicLevel<Buffer, Buffer>(otherPath, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const records = await src.iterator({ gte: b('d'), lt: b('e') }).all();
    await src.close();
    expect(records).toHaveLength(1);
    const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.put(records[0]![0], records[0]![1]);
    await db.close();
    const s = await stores.open({ path });
    expect(s.stats.keyFilter).toMatchObject({ restored: false });
    await s.keyFilterFilled();
    await s.put(b('written-elsewhere'), b('new'));
    expect(texts((await s.get(b('written-elsewhere'))).values).sort()).toEqual(['new', 'old']);
    await expectSiblingsKept(s, 1000, 'old');
  });

  it('an opened-and-closed database, a damaged file or a foreign file: not used, scanned instead, nothing lost', async () => {
    const damage: Array<(path: string) => Promise<void>> = [
      async (path) => {
        const db = new ClassicLevel(path);
        await db.open();
        await db.close();
      },
      async (path) => {
        const f = await readFile(join(path, FILTER_FILE));
        const mid = f.length >> 1;
        f[mid] = f[mid]! ^ 0x40;
        await writeFile(join(path, FILTER_FILE), f);
      },
      async (path) => {
        const f = await readFile(join(path, FILTER_FILE));
        await writeFile(join(path, FILTER_FILE), f.subarray(0, f.length - 5));
      },
      (path) => writeFile(join(path, FILTER_FILE), 'not a filter'),
    ];
    for (const hurt of damage) {
      const path = await closedWith(500, 'old');
      await hurt(path);
      const s = await stores.open({ path });
      expect(s.stats.keyFilter).toMatchObject({ restored: false });
      await s.keyFilterFilled();
      expect(s.stats.keyFilter).toMatchObject({ ready: true, errors: 0 });
      await expectSiblingsKept(s, 500, 'old');
      await expect(stat(join(path, FILTER_FILE))).rejects.toThrow(/ENOENT/);
    }
  });

  it('writes still in flight when close() is called are in the saved filter', async () => {
    const path = await stores.dir();
    const s = await Store.open({ path, sweepIntervalMs: 0 });
    await s.keyFilterFilled();
    const puts = Array.from({ length: 2000 }, (_, i) => s.put(b(`late${i}`), b('old')).then(() => i, () => -1));
    await s.close();
    const acked = (await Promise.all(puts)).filter((i) => i >= 0);
    expect(acked.length).toBeGreaterThan(0);
    const again = await stores.open({ path });
    expect(again.stats.keyFilter).toMatchObject({ restored: true });
    await Promise.all(acked.map((i) => again.put(b(`late${i}`), b('new'))));
    const got = await Promise.all(acked.map((i) => again.get(b(`late${i}`))));
    expect(got.filter((g) => texts(g.values).sort().join() !== 'new,old')).toEqual([]);
  });

  it('a store closed before its scan ended saves nothing', async () => {
    const path = await closedWith(20_000, 'v');
    await rm(join(path, FILTER_FILE));
    const s = await stores.open({ path });
    // close() stops the scan at its next step; it needs ~80 steps of 256 keys.
    await s.close();
    expect(s.stats.keyFilter?.ready).toBe(false);
    await expect(stat(join(path, FILTER_FILE))).rejects.toThrow(/ENOENT/);
  });

  it('after a restart, the scan covers every stored key: writes see their siblings, new keys read nothing', async () => {
    const s = await reopened(3000, 'old');
    expect(s.stats.keyFilter).toMatchObject({ ready: false, restored: false });
    await s.keyFilterFilled();
    expect(s.stats.keyFilter).toMatchObject({ ready: true, errors: 0 });
    expect(s.stats.keyFilter!.keys).toBeGreaterThanOrEqual(2990);
    // Every stored key is still read before its write: its value survives as a sibling.
    await expectSiblingsKept(s, 3000, 'old');
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
