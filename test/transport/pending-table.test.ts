// PendingTable against a plain Map model: random adds, takes, expiries and drains.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PendingTable } from '../../src/transport/pending-table.js';

interface Entry {
  id: number;
  tag: number;
}

type Op = { k: 'add' } | { k: 'take'; pick: number; stale: boolean } | { k: 'expire'; mod: number } | { k: 'drain' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant<Op>({ k: 'add' }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant('take' as const), pick: fc.nat(), stale: fc.boolean() }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant('expire' as const), mod: fc.integer({ min: 2, max: 7 }) }), weight: 1 },
  { arbitrary: fc.constant<Op>({ k: 'drain' }), weight: 1 },
);

/** Runs `ops` on a table and on a Map, checking they agree after every step. */
function run(ops: Op[], start: number): void {
  const t = new PendingTable<Entry>(start);
  const model = new Map<number, Entry>();
  const gone: number[] = []; // ids that were live once
  let last = start;
  let tag = 0;
  for (const o of ops) {
    if (o.k === 'add') {
      const e = { id: -1, tag: tag++ };
      const id = t.add(e);
      expect(id).toBe(e.id);
      expect(id).not.toBe(0);
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThanOrEqual(0xffffffff);
      expect(model.has(id)).toBe(false);
      // Ids move forward (mod 2^32) from the last one given.
      const step = (id - last + 2 ** 32) % 2 ** 32;
      expect(step).toBeGreaterThan(0);
      expect(step).toBeLessThan(2 ** 31);
      last = id;
      model.set(id, e);
    } else if (o.k === 'take') {
      const live = [...model.keys()];
      if (o.stale || live.length === 0) {
        const id = gone.length > 0 ? gone[o.pick % gone.length]! : o.pick;
        if (!model.has(id)) {
          expect(t.has(id)).toBe(false);
          expect(t.take(id)).toBeUndefined();
        }
      } else {
        const id = live[o.pick % live.length]!;
        expect(t.has(id)).toBe(true);
        expect(t.take(id)).toBe(model.get(id));
        model.delete(id);
        gone.push(id);
        expect(t.take(id)).toBeUndefined();
      }
    } else if (o.k === 'expire') {
      const removed = t.removeWhere((e) => e.tag % o.mod === 0);
      const want = [...model.values()].filter((e) => e.tag % o.mod === 0);
      expect(new Set(removed)).toEqual(new Set(want));
      expect(removed.length).toBe(want.length);
      for (const e of want) {
        model.delete(e.id);
        gone.push(e.id);
      }
    } else {
      const all = t.drain();
      expect(new Set(all)).toEqual(new Set(model.values()));
      expect(all.length).toBe(model.size);
      for (const id of model.keys()) gone.push(id);
      model.clear();
    }
    expect(t.size).toBe(model.size);
    for (const [id, e] of model) expect(t.has(id) && e.id === id).toBe(true);
  }
}

describe('PendingTable', () => {
  it('agrees with a Map on random operations', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 600 }), (ops) => run(ops, 0)), { numRuns: 300 });
  });

  it('wraps past 2^32 - 1 without giving 0 or a live id', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => run(ops, 0xffffffff - 50)), { numRuns: 200 });
  });

  it('keeps a long-waiting entry findable while thousands pass it, growing as needed', () => {
    const t = new PendingTable<Entry>();
    const old = { id: 0, tag: -1 };
    const oldId = t.add(old);
    const held: Entry[] = [];
    for (let i = 0; i < 5000; i++) {
      const e = { id: 0, tag: i };
      t.add(e);
      // Keep a growing crowd in flight, so the table must grow past its first size.
      if (i % 3 === 0) held.push(e);
      else expect(t.take(e.id)).toBe(e);
    }
    expect(t.size).toBe(1 + held.length);
    expect(t.take(oldId)).toBe(old);
    for (const e of held) expect(t.take(e.id)).toBe(e);
    expect(t.size).toBe(0);
  });

  it('gives back the room of a burst once the expiry sweep finds few entries left, keeping them findable', () => {
    const t = new PendingTable<Entry>();
    const burst: Entry[] = [];
    for (let i = 0; i < 10_000; i++) {
      const e = { id: 0, tag: i };
      t.add(e);
      burst.push(e);
    }
    const big = t.capacity;
    expect(big).toBeGreaterThanOrEqual(10_000);
    // All but a few settle; the survivors are spread over the whole table.
    const keep = burst.filter((e) => e.tag % 1000 === 7);
    for (const e of burst) if (e.tag % 1000 !== 7) expect(t.take(e.id)).toBe(e);
    for (let sweeps = 0; sweeps < 20; sweeps++) expect(t.removeWhere(() => false)).toEqual([]);
    expect(t.capacity).toBeLessThan(big / 16);
    expect(t.size).toBe(keep.length);
    for (const e of keep) expect(t.has(e.id)).toBe(true);
    // New ids never collide with the survivors after the shrink.
    for (let i = 0; i < 500; i++) {
      const e = { id: 0, tag: -i };
      const id = t.add(e);
      expect(keep.some((k) => k.id === id)).toBe(false);
      expect(t.take(id)).toBe(e);
    }
    for (const e of keep) expect(t.take(e.id)).toBe(e);
    expect(t.size).toBe(0);
  });
});
