import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import { digest } from '../../src/version/index.js';
import { b, tempStores } from './support.js';

describe('store: iteration by partition', () => {
  const stores = tempStores();

  it('each partition yields exactly its keys, in hash order, for several Q', async () => {
    const s = await stores.open();
    const keys = Array.from({ length: 300 }, (_, i) => b(`key-${i}`));
    await Promise.all(keys.map((k) => s.put(k, b('v'))));
    await s.delete(keys[0]!); // tombstones are records too
    for (const q of [1, 2, 16, 256]) {
      const seen = new Set<string>();
      for (let p = 0; p < q; p++) {
        let prev = -1n;
        for await (const r of s.scanPartition(p, q)) {
          expect(native.partitionOf(r.key, q)).toBe(p);
          expect(r.hash).toBe(native.hash64(r.key));
          expect(r.hash >= prev).toBe(true);
          prev = r.hash;
          seen.add(r.key.toString());
        }
      }
      expect(seen.size).toBe(300);
    }
  });

  it('partitionDigests gives (hash, digest) pairs of the partition, matching digest() of each set', async () => {
    const s = await stores.open();
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.put(b(`k${i}`), b(`v${i}`))));
    let total = 0;
    for (let p = 0; p < 4; p++) {
      const pairs = await s.partitionDigests(p, 4);
      const records = [];
      for await (const r of s.scanPartition(p, 4)) records.push(r);
      expect(pairs.length).toBe(records.length * 2);
      records.forEach((r, i) => {
        expect(pairs[2 * i]).toBe(r.hash);
        expect(pairs[2 * i + 1]).toBe(digest(r.set));
      });
      total += records.length;
    }
    expect(total).toBe(200);
  });

  it('a digest changes when the record changes and is equal on replicas with equal state', async () => {
    const a = await stores.open();
    const c = await stores.open();
    const set = await a.put(b('k'), b('v'));
    await c.merge(b('k'), set);
    const da = await a.partitionDigests(0, 1);
    const dc = await c.partitionDigests(0, 1);
    expect(da).toEqual(dc);
    await a.put(b('k'), b('w'));
    expect(await a.partitionDigests(0, 1)).not.toEqual(dc);
  });

  it('scanHashRange covers [start, end)', async () => {
    const s = await stores.open();
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.put(b(`k${i}`), b('v'))));
    const mid = 1n << 63n;
    let low = 0;
    let high = 0;
    for await (const r of s.scanHashRange(0n, mid)) {
      expect(r.hash < mid).toBe(true);
      low++;
    }
    for await (const r of s.scanHashRange(mid, 1n << 64n)) {
      expect(r.hash >= mid).toBe(true);
      high++;
    }
    expect(low + high).toBe(100);
    let none = 0;
    for await (const _ of s.scanHashRange(5n, 5n)) none++;
    expect(none).toBe(0);
  });
});
