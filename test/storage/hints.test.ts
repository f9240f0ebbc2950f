import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../../src/errors.js';
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

  it('holds at most maxHints: a new hint beyond is refused and counted, a merge into a held one is not, and the bound survives a restart', async () => {
    const path = await stores.dir();
    const s = await stores.open({ path, maxHints: 2 });
    const other = await stores.open();
    const v1 = await s.put(b('x'), b('one'));
    // A burst within one batch: the bound counts hints not yet committed.
    const burst = await Promise.allSettled(['a', 'b', 'c', 'd'].map((k) => s.putHint('n2', b(k), v1)));
    expect(burst.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    for (const r of burst.slice(2)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(OverloadedError);
    expect(s.hintCount()).toBe(2);
    expect(await s.getHint('n2', b('c'))).toBeUndefined();
    expect(s.stats.hintsRefused).toBe(2);
    // Another owner's new hint is refused too: the bound is per node.
    await expect(s.putHint('n3', b('a'), v1)).rejects.toBeInstanceOf(OverloadedError);
    // A held hint still merges.
    const merged = await s.putHint('n2', b('a'), await other.put(b('x'), b('two')));
    expect(merged.set!.siblings).toHaveLength(2);
    expect(s.stats.hintsRefused).toBe(3);
    // Delivering one frees room for one.
    expect(await s.deleteHint('n2', b('b'))).toBe(true);
    await s.putHint('n3', b('a'), v1);
    await expect(s.putHint('n3', b('b'), v1)).rejects.toBeInstanceOf(OverloadedError);
    await s.close();
    const again = await stores.open({ path, maxHints: 2 });
    expect(again.hintCount()).toBe(2);
    await expect(again.putHint('n4', b('a'), v1)).rejects.toBeInstanceOf(OverloadedError);
    expect((await again.getHint('n2', b('a')))!.siblings).toHaveLength(2);
  });

  it('rejects a malformed maxHints', async () => {
    await expect(stores.open({ maxHints: -1 })).rejects.toThrow(/maxHints/);
    await expect(stores.open({ maxHints: 1.5 })).rejects.toThrow(/maxHints/);
  });
});
