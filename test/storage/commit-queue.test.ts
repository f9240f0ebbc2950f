// Unit tests of the group-commit queue against a stand-in database.
import { describe, expect, it } from 'vitest';
import type { ClassicLevel } from 'classic-level';
import { CommitQueue } from '../../src/storage/commit-queue.js';
import type { Batch, BatchMember, OpSink } from '../../src/storage/commit-queue.js';

type Op = ['put' | 'del', string];

function fakeDb(fail: () => boolean) {
  const written: Op[][] = [];
  const db = {
    batch() {
      const ops: Op[] = [];
      return {
        put: (k: Buffer) => ops.push(['put', k.toString()]),
        del: (k: Buffer) => ops.push(['del', k.toString()]),
        get length() {
          return ops.length;
        },
        write: async () => {
          await new Promise((r) => setImmediate(r));
          if (fail()) throw new Error('disk on fire');
          written.push(ops);
        },
      };
    },
  };
  return { db: db as unknown as ClassicLevel<Buffer, Buffer>, written };
}

function member(name: string, log: string[]): BatchMember {
  return {
    writeTo: (sink: OpSink) => sink.put(Buffer.from(name), Buffer.from('v')),
    settled: (_b: Batch, err: Error | undefined) => log.push(`${name}:${err ? 'failed' : 'ok'}`),
  };
}

describe('CommitQueue', () => {
  it('puts everything joined in one turn into one batch, and what joins during the write into the next', async () => {
    const { db, written } = fakeDb(() => false);
    let extra = 0;
    const q = new CommitQueue(db, { sync: false, beforeWrite: (sink) => sink.put(Buffer.from(`hwm${extra++}`), Buffer.alloc(0)) });
    const log: string[] = [];
    const b1 = q.current;
    q.join(member('a', log));
    q.join(member('b', log));
    expect(q.current).toBe(b1);
    q.raw(Buffer.from('meta'), undefined);
    await new Promise((r) => setImmediate(r)); // b1 is being written now
    const b2 = q.current;
    expect(b2).not.toBe(b1);
    q.join(member('c', log));
    await b1.done;
    await b2.done;
    expect(written).toEqual([
      [
        ['put', 'a'],
        ['put', 'b'],
        ['del', 'meta'],
        ['put', 'hwm0'],
      ],
      [
        ['put', 'c'],
        ['put', 'hwm1'],
      ],
    ]);
    expect(log).toEqual(['a:ok', 'b:ok', 'c:ok']);
    expect(q.batches).toBe(2);
    await q.idle();
  });

  it('a turn that gathers 32 members with no write in flight sends them at once; the rest wait for that write', async () => {
    const { db, written } = fakeDb(() => false);
    const q = new CommitQueue(db, { sync: false });
    const log: string[] = [];
    const first = q.current;
    for (let i = 0; i < 100; i++) q.join(member(`m${i}`, log));
    // The first batch left on the 32nd join; everything after gathers behind it.
    expect(q.current).not.toBe(first);
    const second = q.current;
    await first.done;
    await second.done;
    expect(written.map((ops) => ops.length)).toEqual([32, 68]);
    expect(written.flat().map(([, k]) => k)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(log).toHaveLength(100);
    expect(log.every((l) => l.endsWith(':ok'))).toBe(true);
    // The next split point is half the last batch (34), not 32.
    const third = q.current;
    for (let i = 0; i < 33; i++) q.join(member(`n${i}`, log));
    expect(q.current).toBe(third);
    q.join(member('n33', log));
    expect(q.current).not.toBe(third);
    await q.idle();
    expect(written.map((ops) => ops.length)).toEqual([32, 68, 34]);
  });

  it('with split off, a turn goes out as one batch however large', async () => {
    const { db, written } = fakeDb(() => false);
    const q = new CommitQueue(db, { sync: false, split: false });
    const log: string[] = [];
    const first = q.current;
    for (let i = 0; i < 100; i++) q.join(member(`m${i}`, log));
    expect(q.current).toBe(first);
    await first.done;
    expect(written.map((ops) => ops.length)).toEqual([100]);
  });

  it('a failed write rejects its batch and the gathering one, and refuses later work', async () => {
    let failing = false;
    const { db } = fakeDb(() => failing);
    const q = new CommitQueue(db, { sync: false });
    const log: string[] = [];
    failing = true;
    const b1 = q.current;
    q.join(member('a', log));
    await new Promise((r) => setImmediate(r));
    const b2 = q.current;
    q.join(member('b', log));
    await expect(b1.done).rejects.toThrow('disk on fire');
    await expect(b2.done).rejects.toThrow('disk on fire');
    expect(log).toEqual(['a:failed', 'b:failed']);
    expect(() => q.join(member('c', log))).toThrow('disk on fire');
    await q.idle();
  });
});
