import { describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { BadContextError, BadRequestError, TooLargeError } from '../../src/errors.js';
import { Store } from '../../src/storage/index.js';
import { b, dump, tempStores } from './support.js';

describe('store: bad input gets a clear error and writes nothing', () => {
  const stores = tempStores();

  it('rejects oversized keys and values, malformed contexts and wrong types, leaving the database unchanged', async () => {
    const path = await stores.dir();
    const s1 = await stores.open({ path, maxKeyBytes: 16, maxValueBytes: 64 });
    await s1.put(b('k'), b('v'));
    const good = (await s1.getSet(b('k')))!;
    await s1.putHint('n1', b('k'), good);
    await s1.close();
    const before = await dump(path);

    const s = await stores.open({ path, maxKeyBytes: 16, maxValueBytes: 64 });
    const any = s as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const cases: [string, () => Promise<unknown>, new (...a: never[]) => Error, string][] = [
      ['key over the limit', () => s.put(Buffer.alloc(17, 1), b('v')), TooLargeError, 'SHOAL_TOO_LARGE'],
      ['value over the limit', () => s.put(b('k'), Buffer.alloc(65)), TooLargeError, 'SHOAL_TOO_LARGE'],
      ['key over the limit (delete)', () => s.delete(Buffer.alloc(17, 1)), TooLargeError, 'SHOAL_TOO_LARGE'],
      ['key over the limit (get)', () => s.get(Buffer.alloc(17, 1)), TooLargeError, 'SHOAL_TOO_LARGE'],
      ['malformed context', () => s.put(b('k'), b('v'), { context: b('not a context') }), BadContextError, 'SHOAL_BAD_CONTEXT'],
      ['truncated context', () => s.put(b('k'), b('v'), { context: Buffer.from([1, 1, 0, 0]) }), BadContextError, 'SHOAL_BAD_CONTEXT'],
      ['malformed context (delete)', () => s.delete(b('k'), { context: Buffer.from([7]) }), BadContextError, 'SHOAL_BAD_CONTEXT'],
      ['string key', () => any.put!('k', b('v')), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['string value', () => any.put!(b('k'), 'v'), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['missing value', () => any.put!(b('k')), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['empty key', () => s.put(Buffer.alloc(0), b('v')), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['string context', () => any.put!(b('k'), b('v'), { context: 'AQA' }), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['negative TTL', () => s.put(b('k'), b('v'), { ttlMs: -1 }), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['fractional TTL', () => s.put(b('k'), b('v'), { ttlMs: 1.5 }), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['string TTL', () => any.put!(b('k'), b('v'), { ttlMs: '10' }), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['options not an object', () => any.put!(b('k'), b('v'), 5), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['touch with a bad TTL', () => any.touch!(b('k'), 'soon'), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['merge of a non-set', () => any.merge!(b('k'), 'set'), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['merge of a set with a bad clock', () => s.merge(b('k'), { ...good, clock: b('zz') }), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['merge of a set with an uncovered dot', () => s.merge(b('k'), { ...good, clock: Buffer.from([1, 0]) }), BadRequestError, 'SHOAL_BAD_REQUEST'],
      [
        'merge of an oversized value',
        () => s.merge(b('k'), { clock: good.clock, siblings: [{ ...good.siblings[0]!, value: Buffer.alloc(65) }] }),
        TooLargeError,
        'SHOAL_TOO_LARGE',
      ],
      ['hint for a bad owner', () => s.putHint('', b('k'), good), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['hint owner with NUL', () => s.putHint('a\0b', b('k'), good), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['hint with a bad set', () => s.putHint('n1', b('k'), { clock: good.clock } as SiblingSet), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['deleteHint with a numeric digest', () => any.deleteHint!('n1', b('k'), 5), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['reserved metadata name', () => s.putMeta('store.actor', b('x')), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['metadata value not bytes', () => any.putMeta!('x', 'y'), BadRequestError, 'SHOAL_BAD_REQUEST'],
      ['empty metadata name', () => s.putMeta('', b('y')), BadRequestError, 'SHOAL_BAD_REQUEST'],
    ];
    for (const [what, call, cls, code] of cases) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(cls);
      expect((err as { code: string }).code, what).toBe(code);
    }
    expect(() => s.scanPartition(3, 3)).toThrow(RangeError);
    expect(() => s.scanPartition(4, 4)).toThrow(RangeError);
    await s.close();
    expect(await dump(path)).toEqual(before);
  });

  it('accepts a key and a value exactly at the limits', async () => {
    const s = await stores.open({ maxKeyBytes: 16, maxValueBytes: 64 });
    await s.put(Buffer.alloc(16, 7), Buffer.alloc(64, 9));
    expect((await s.get(Buffer.alloc(16, 7))).values[0]).toEqual(Buffer.alloc(64, 9));
  });

  it('uses 1 KiB keys and 1 MiB values by default', async () => {
    const s = await stores.open();
    await s.put(Buffer.alloc(1024, 1), Buffer.alloc(1024 * 1024, 2));
    await expect(s.put(Buffer.alloc(1025, 1), b('v'))).rejects.toBeInstanceOf(TooLargeError);
    await expect(s.put(b('k'), Buffer.alloc(1024 * 1024 + 1))).rejects.toBeInstanceOf(TooLargeError);
  });

  it('copies the value: changing the caller\'s buffer after put changes nothing stored', async () => {
    const s = await stores.open();
    const v = b('original');
    const p = s.put(b('k'), v);
    v.fill(0x78);
    await p;
    expect((await s.get(b('k'))).values[0]!.toString()).toBe('original');
  });

  it('refuses bad options at open', async () => {
    const path = await stores.dir();
    await expect(Store.open({ path: '' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(Store.open({ path, maxKeyBytes: -1 })).rejects.toBeInstanceOf(BadRequestError);
    await expect(Store.open({ path, sweepBatch: 0 })).rejects.toBeInstanceOf(BadRequestError);
    await expect(Store.open({ path, reads: 'async' as never })).rejects.toBeInstanceOf(BadRequestError);
  });
});
