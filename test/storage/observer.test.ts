// onDataChange sees every change of every data record, so a digest map kept from
// it equals what the store holds (anti-entropy builds its Merkle trees this way).
import { describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { native } from '../../src/native.js';
import { ManualClock } from '../../src/time.js';
import { digest } from '../../src/version/index.js';
import { tempStores } from './support.js';

const stores = tempStores();

describe('Store onDataChange', () => {
  it('reports writes, merges, deletes and sweeps, so a digest map follows the store exactly', async () => {
    const seen = new Map<bigint, bigint>();
    const clock = new ManualClock();
    const onDataChange = (h: bigint, before: SiblingSet | undefined, after: SiblingSet | undefined) => {
      expect(before === undefined ? seen.has(h) : seen.get(h) === digest(before)).toBe(before !== undefined);
      if (after === undefined) seen.delete(h);
      else seen.set(h, digest(after));
      return undefined;
    };
    const s = await stores.open({ onDataChange, clock, tombstoneGraceMs: 1000 });
    const other = await stores.open({ clock });
    for (let i = 0; i < 50; i++) await s.put(Buffer.from(`k${i}`), Buffer.from(`v${i}`), { ttlMs: i % 5 === 0 ? 500 : 0 });
    for (let i = 0; i < 20; i++) {
      const set = await other.put(Buffer.from(`k${i}`), Buffer.from(`remote${i}`));
      await s.merge(Buffer.from(`k${i}`), set);
    }
    for (let i = 30; i < 40; i++) await s.delete(Buffer.from(`k${i}`), { context: (await s.get(Buffer.from(`k${i}`))).context });
    clock.advance(60_000);
    await s.sweep();
    const held = await s.partitionDigests(0, 1);
    const fromStore = new Map<bigint, bigint>();
    for (let i = 0; i < held.length; i += 2) fromStore.set(held[i]!, held[i + 1]!);
    expect(fromStore).toEqual(seen);
    expect(seen.has(native.hash64(Buffer.from('k45')))).toBe(false); // expired, reclaimed
    expect(seen.has(native.hash64(Buffer.from('k35')))).toBe(false); // deleted past grace
    expect(seen.has(native.hash64(Buffer.from('k1')))).toBe(true);
  });

  it('hands back the digest it was given for a record as beforeDigest, until the record is read from disk again', async () => {
    const given: (bigint | undefined)[] = [];
    let next = 1n;
    const returned = new Map<bigint, bigint>();
    const onDataChange = (h: bigint, _before: SiblingSet | undefined, after: SiblingSet | undefined, beforeDigest: bigint | undefined) => {
      given.push(beforeDigest);
      if (beforeDigest !== undefined) expect(beforeDigest).toBe(returned.get(h));
      if (after === undefined) return undefined;
      const d = next++; // any token: the store keeps it, it does not interpret it
      returned.set(h, d);
      return d;
    };
    const s = await stores.open({ onDataChange });
    const key = Buffer.from('memo');
    await s.put(key, Buffer.from('a'));
    await s.put(key, Buffer.from('b'), { context: (await s.get(key)).context });
    await s.put(key, Buffer.from('c')); // a sibling
    expect(given).toEqual([undefined, 1n, 2n]);
    s.dropCache();
    await s.put(key, Buffer.from('d'), { context: (await s.get(key)).context });
    expect(given[3]).toBeUndefined(); // read from disk: the store cannot know it
    await s.delete(key, { context: (await s.get(key)).context });
    expect(given[4]).toBe(4n);
    expect((await s.get(key)).values).toEqual([]);
  });
});
