// The `staged` option of put and delete: the new state is handed out before it
// commits (a coordinator replicates it meanwhile); reads still see committed state.
import { describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { b, dump, tempStores, texts } from './support.js';

describe('store: staged state', () => {
  const stores = tempStores();

  for (const reads of ['sync', 'batched'] as const) {
    it(`put and delete hand out the new state before it commits (reads: '${reads}')`, async () => {
      const s = await stores.open({ reads });
      await s.put(b('k'), b('one'));
      let staged: SiblingSet | undefined;
      let committedThen: unknown = 'unset';
      let batchesThen = -1;
      const done = s.put(b('k'), b('two'), {
        staged: (set) => {
          staged = set;
          batchesThen = s.stats.batches;
          // What a read sees while the write is only staged.
          void s.get(b('k')).then((r) => (committedThen = texts(r.values)));
        },
      });
      const batchesBefore = s.stats.batches;
      const set = await done;
      expect(staged).toBe(set);
      expect(batchesThen).toBe(batchesBefore);
      expect(committedThen).toEqual(['one']);
      expect(texts((await s.get(b('k'))).values)).toEqual(['one', 'two']);

      let deleted: SiblingSet | undefined;
      const tomb = await s.delete(b('k'), { context: set.clock, staged: (x) => (deleted = x) });
      expect(deleted).toBe(tomb);
      expect((await s.get(b('k'))).values).toEqual([]);
    });
  }

  it('a staged callback that throws abandons the write: nothing is stored', async () => {
    const s = await stores.open();
    const path = (s as unknown as { db: { location: string } }).db.location;
    await s.put(b('k'), b('one'));
    const before = await s.getSet(b('k'));
    await expect(
      s.put(b('k'), b('two'), {
        staged: () => {
          throw new Error('no');
        },
      }),
    ).rejects.toThrow('no');
    expect(await s.getSet(b('k'))).toEqual(before);
    const next = await s.put(b('k'), b('three'));
    expect(texts((await s.get(b('k'))).values)).toEqual(['one', 'three']);
    expect(next.siblings).toHaveLength(2);
    await s.close();
    const rows = await dump(path);
    expect(rows.filter(([k]) => k.startsWith(b('d').toString('hex')))).toHaveLength(1);
  });

  it('staged must be a function', async () => {
    const s = await stores.open();
    await expect(s.put(b('k'), b('v'), { staged: 5 as never })).rejects.toMatchObject({ code: 'SHOAL_BAD_REQUEST' });
    await expect(s.delete(b('k'), { staged: 'x' as never })).rejects.toMatchObject({ code: 'SHOAL_BAD_REQUEST' });
  });
});
