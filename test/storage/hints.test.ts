import { describe, expect, it } from 'vitest';
import { sync } from '../../src/version/index.js';
import { b, tempStores } from './support.js';

describe('store: hints', () => {
  const stores = tempStores();

  it('a hint for the same owner and key merges with the one held', async () => {
    const s = await stores.open();
    const v1 = await s.put(b('k'), b('one'));
    const src = await stores.open(); // another coordinator
    const v2 = await src.put(b('k'), b('two'));
    await s.putHint('n2', b('k'), v1);
    const merged = await s.putHint('n2', b('k'), v2);
    expect(merged.set!.siblings).toHaveLength(2);
    expect(s.hintCount()).toBe(1);
    expect((await s.getHint('n2', b('k')))!.siblings).toHaveLength(2);
    expect(await s.getHint('n3', b('k'))).toBeUndefined();
    expect(await s.getHint('n2', b('other'))).toBeUndefined();
    const got = [];
    for await (const h of s.scanHints('n2')) got.push(h);
    expect(got).toHaveLength(1);
    expect(got[0]!.set.siblings.map((x) => Buffer.from(x.value).toString()).sort()).toEqual(['one', 'two']);
  });

  it('hints are listed per owner, counted, and owners listed', async () => {
    const s = await stores.open();
    const set = await s.put(b('x'), b('v'));
    for (const owner of ['n1', 'n1\u0001x', 'n3']) {
      for (const k of ['a', 'b', 'c']) await s.putHint(owner, b(k), set);
    }
    expect(s.hintCount()).toBe(9);
    expect(await s.hintOwners()).toEqual(['n1', 'n1\u0001x', 'n3']);
    const keys = [];
    for await (const h of s.scanHints('n1')) keys.push(h.key.toString());
    expect(keys.sort()).toEqual(['a', 'b', 'c']);
    const limited = [];
    for await (const h of s.scanHints('n3', 2)) limited.push(h);
    expect(limited).toHaveLength(2);
  });

  it('deleteHint with the digest read deletes only an unchanged hint', async () => {
    const s = await stores.open();
    const v1 = await s.put(b('k'), b('one'));
    await s.putHint('n2', b('k'), v1);
    let read;
    for await (const h of s.scanHints('n2')) read = h;
    // The hint changes after it was read (a new write for the same owner arrives).
    const other = await stores.open();
    await s.putHint('n2', b('k'), await other.put(b('k'), b('two')));
    expect(await s.deleteHint('n2', b('k'), read!.digest)).toBe(false);
    expect(s.hintCount()).toBe(1);
    let now;
    for await (const h of s.scanHints('n2')) now = h;
    expect(await s.deleteHint('n2', b('k'), now!.digest)).toBe(true);
    expect(s.hintCount()).toBe(0);
    expect(await s.hintOwners()).toEqual([]);
    expect(await s.deleteHint('n2', b('k'))).toBe(false);
  });

  it('a hint holds what the owner needs: merging it there gives the coordinator state', async () => {
    const coordinator = await stores.open();
    const owner = await stores.open();
    const set = await coordinator.put(b('k'), b('v'));
    await coordinator.putHint('owner', b('k'), set);
    for await (const h of coordinator.scanHints('owner')) {
      await owner.merge(h.key, h.set);
      await coordinator.deleteHint('owner', h.key, h.digest);
    }
    expect((await owner.get(b('k'))).values.map(String)).toEqual(['v']);
    expect(sync(await owner.getSet(b('k')), set)).toEqual(await owner.getSet(b('k')));
    expect(coordinator.hintCount()).toBe(0);
  });
});
