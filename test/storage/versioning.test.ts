import { describe, expect, it } from 'vitest';
import { EMPTY_CONTEXT } from '../../src/version/index.js';
import { b, tempStores, texts } from './support.js';

describe('store: versioning scenarios (issue 2)', () => {
  const stores = tempStores();

  it('two blind writes → two siblings', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('one'));
    await s.put(b('k'), b('two'));
    expect(texts((await s.get(b('k'))).values)).toEqual(['one', 'two']);
  });

  it('two blind writes of the same bytes (a retried write) read as one value, and stay two versions until a write supersedes both', async () => {
    const s = await stores.open();
    const other = await stores.open(); // a second coordinator of the same write
    await s.put(b('k'), b('same'));
    await s.merge(b('k'), await other.put(b('k'), b('same')));
    expect((await s.getSet(b('k')))!.siblings).toHaveLength(2);
    const r = await s.get(b('k'));
    expect(texts(r.values)).toEqual(['same']);
    // A different value beside them is still a sibling.
    await s.put(b('k'), b('else'));
    expect(texts((await s.get(b('k'))).values)).toEqual(['else', 'same']);
    // The context of the read covers both copies.
    await s.put(b('k'), b('next'), { context: r.context });
    expect(texts((await s.get(b('k'))).values)).toEqual(['else', 'next']);
    expect((await s.getSet(b('k')))!.siblings).toHaveLength(2);
  });

  it('a write with the context of both → one value', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('one'));
    await s.put(b('k'), b('two'));
    const { context } = await s.get(b('k'));
    await s.put(b('k'), b('merged'), { context });
    expect(texts((await s.get(b('k'))).values)).toEqual(['merged']);
  });

  it('a stale context → a sibling, not an overwrite', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('one'));
    const stale = (await s.get(b('k'))).context;
    await s.put(b('k'), b('two'), { context: stale });
    expect(texts((await s.get(b('k'))).values)).toEqual(['two']);
    await s.put(b('k'), b('three'), { context: stale });
    expect(texts((await s.get(b('k'))).values)).toEqual(['three', 'two']);
  });

  it('a delete with a context → not found', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('one'));
    await s.put(b('k'), b('two'));
    await s.delete(b('k'), { context: (await s.get(b('k'))).context });
    const r = await s.get(b('k'));
    expect(r.values).toEqual([]);
    // The context still covers the deleted versions and the tombstone.
    expect(r.context.equals(EMPTY_CONTEXT)).toBe(false);
    const set = await s.getSet(b('k'));
    expect(set!.siblings.map((x) => x.tombstone)).toEqual([true]);
  });

  it('a delete that did not see a concurrent write leaves that write as a sibling', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('one'));
    const seen = (await s.get(b('k'))).context;
    await s.put(b('k'), b('concurrent'));
    await s.delete(b('k'), { context: seen });
    expect(texts((await s.get(b('k'))).values)).toEqual(['concurrent']);
  });

  it('get of an absent key: no values and the empty context', async () => {
    const s = await stores.open();
    const r = await s.get(b('nothing'));
    expect(r.values).toEqual([]);
    expect(r.context).toEqual(EMPTY_CONTEXT);
    expect(await s.getSet(b('nothing'))).toBeUndefined();
  });

  it('put resolves with the key state, whose clock is the context a get returns', async () => {
    const s = await stores.open();
    const set = await s.put(b('k'), b('v'));
    expect(set.siblings).toHaveLength(1);
    expect((await s.get(b('k'))).context).toEqual(Buffer.from(set.clock));
  });

  it('keys are independent, even with colliding prefixes', async () => {
    const s = await stores.open();
    await Promise.all([s.put(b('a'), b('1')), s.put(b('ab'), b('2')), s.put(b('abc'), b('3'))]);
    expect(texts((await s.get(b('a'))).values)).toEqual(['1']);
    expect(texts((await s.get(b('ab'))).values)).toEqual(['2']);
    expect(texts((await s.get(b('abc'))).values)).toEqual(['3']);
  });
});

describe('store: serialised read-modify-write', () => {
  const stores = tempStores();

  it('concurrent blind puts on one key all survive as siblings', async () => {
    const s = await stores.open();
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.put(b('hot'), b(`v${i}`))));
    const r = await s.get(b('hot'));
    expect(r.values).toHaveLength(100);
    expect(new Set(texts(r.values)).size).toBe(100);
  });

  it('concurrent puts on a key not yet read (cold cache) all survive', async () => {
    const s = await stores.open();
    await s.put(b('hot'), b('first'));
    s.dropCache();
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(b('hot'), b(`v${i}`))));
    expect((await s.get(b('hot'))).values).toHaveLength(51);
  });

  it('concurrent puts with the same context each supersede what it covers and stay siblings', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('old1'));
    await s.put(b('k'), b('old2'));
    const { context } = await s.get(b('k'));
    await Promise.all([s.put(b('k'), b('x'), { context }), s.put(b('k'), b('y'), { context }), s.put(b('k'), b('z'), { context })]);
    expect(texts((await s.get(b('k'))).values)).toEqual(['x', 'y', 'z']);
  });

  it('a put sees an uncommitted write of the same key; a get sees only committed state', async () => {
    const s = await stores.open();
    await s.put(b('k'), b('base'));
    const p1 = s.put(b('k'), b('first'));
    // Issued in the same turn: p1 has not committed yet.
    const g = s.get(b('k'));
    const p2 = s.put(b('k'), b('second'));
    const [set1, , set2] = await Promise.all([p1, g, p2]);
    expect(texts((await g).values)).toEqual(['base']);
    expect(set1.siblings).toHaveLength(2);
    expect(set2.siblings).toHaveLength(3);
  });

  it('dots are unique across the writes of one store', async () => {
    const s = await stores.open();
    const sets = await Promise.all(Array.from({ length: 200 }, (_, i) => s.put(b(`k${i % 7}`), b('v'))));
    const dots = new Set<string>();
    for (const set of sets) for (const x of set.siblings) dots.add(Buffer.from(x.dot).toString('hex'));
    expect(dots.size).toBe(200);
  });
});
