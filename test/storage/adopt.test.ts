// A store copies what it is given unless the caller hands the buffers over
// (put's `adopt`, mergeAdopting): the node's replica writes and coordinated puts
// do, with views of the frames they arrived in.
import { describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { b, tempStores } from './support.js';

describe('store: adopted buffers', () => {
  const stores = tempStores();

  it('put keeps an adopted value and copies any other', async () => {
    const s = await stores.open();
    const seen: SiblingSet[] = [];
    const adopted = b('kept');
    await s.put(b('a'), adopted, { adopt: true, staged: (set) => seen.push(set) });
    const copied = b('copied');
    await s.put(b('c'), copied, { staged: (set) => seen.push(set) });
    expect(seen[0]!.siblings[0]!.value).toBe(adopted);
    expect(seen[1]!.siblings[0]!.value).not.toBe(copied);
    expect(seen[1]!.siblings[0]!.value.toString()).toBe('copied');
  });

  it('mergeAdopting keeps the set\'s buffers; merge copies them; both store the same state', async () => {
    const source = await stores.open();
    const remote = (await source.put(b('k'), b('value')))!;
    const a = await stores.open();
    const c = await stores.open();
    const kept = (await a.mergeAdopting(b('k'), remote))!;
    const copied = (await c.merge(b('k'), remote))!;
    expect(kept.siblings[0]!.value).toBe(remote.siblings[0]!.value);
    expect(kept.siblings[0]!.dot).toBe(remote.siblings[0]!.dot);
    expect(copied.siblings[0]!.value).not.toBe(remote.siblings[0]!.value);
    expect(await a.getSet(b('k'))).toEqual(await c.getSet(b('k')));
  });

  it('mergeAdopting copies a set whose bytes are not all Buffers, so what it keeps is Buffers', async () => {
    const source = await stores.open();
    const remote = (await source.put(b('k'), b('value')))!;
    const plain: SiblingSet = { clock: remote.clock, siblings: remote.siblings.map((x) => ({ ...x, value: new Uint8Array(x.value) })) };
    const s = await stores.open();
    const kept = (await s.mergeAdopting(b('k'), plain))!;
    expect(Buffer.isBuffer(kept.siblings[0]!.value)).toBe(true);
    expect(kept.siblings[0]!.value.toString()).toBe('value');
  });
});
