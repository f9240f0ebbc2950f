// RecordArena alone, against a Map as the model: every live entry is found with
// its record and memo, whatever hashes collide; a key rewritten keeps its entry
// when the record fits; entries not read or rewritten since they came go in the
// order they came (oldest first); an entry read gets a second chance.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordArena } from '../../src/storage/record-arena.js';

interface Entry {
  record: Buffer | undefined;
  memo: bigint | undefined;
  /** When it was added: eviction of entries not read goes by this. */
  seq: number;
  /** Read or rewritten since it was added (the ring may have moved it to its head since). */
  used: boolean;
  /** The entry's bytes in the ring. */
  size: number;
}

type Op =
  | { kind: 'put'; key: number; len: number; absent: boolean; memo: bigint | undefined }
  | { kind: 'remove'; key: number }
  | { kind: 'touch'; key: number }
  | { kind: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key: fc.nat(40), len: fc.nat(90), absent: fc.boolean(), memo: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), key: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('touch' as const), key: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

// Keys of several lengths; hashes that collide (a quarter of the keys share one).
const keyOf = (k: number): Buffer => Buffer.from(`key:${'x'.repeat(k % 5)}${k}`);
const hashOf = (k: number): number => (k % 4 === 0 ? 12345 : Math.imul(k + 1, 0x9e3779b1));
// Buffer.equals, not toEqual: a deep comparison byte by byte is most of the test's time otherwise.
const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a === undefined || b === undefined ? a === b : a.equals(b));
const recordOf = (k: number, len: number, seq: number): Buffer => Buffer.from(Array.from({ length: len }, (_, i) => (k * 31 + seq * 7 + i) & 255));

describe('RecordArena', () => {
  for (const maxBytes of [600, 4096, 70_000]) {
    it(`keeps what the model keeps, evicting the oldest unread first (${maxBytes}-byte ring)`, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 300 }), (ops) => {
          const arena = new RecordArena(maxBytes);
          const model = new Map<number, Entry>();
          let seq = 0;
          for (const o of ops) {
            if (o.kind === 'put') {
              expect(arena.find(hashOf(o.key), keyOf(o.key)) >= 0).toBe(model.has(o.key));
              const record = o.absent ? undefined : recordOf(o.key, o.len, seq);
              const kept = arena.put(hashOf(o.key), keyOf(o.key), record, o.memo);
              const size = (24 + keyOf(o.key).length + (record?.length ?? 0) + 7) & ~7;
              const before = model.get(o.key);
              if (before !== undefined && size <= before.size) {
                // Rewritten in place: it keeps its place in the ring, marked used.
                expect(kept).toBe(true);
                model.set(o.key, { ...before, record, memo: o.memo, used: true });
              } else {
                expect(kept).toBe(size <= maxBytes >> 2);
                model.delete(o.key);
                if (kept) model.set(o.key, { record, memo: o.memo, seq: seq++, used: false, size });
              }
            } else if (o.kind === 'remove') {
              const off = arena.find(hashOf(o.key), keyOf(o.key));
              if (off >= 0) arena.remove(off);
              model.delete(o.key);
            } else if (o.kind === 'touch') {
              // As RecordTable.read does.
              const off = arena.find(hashOf(o.key), keyOf(o.key));
              if (off >= 0) {
                arena.markUsed(off);
                model.get(o.key)!.used = true;
              }
            } else {
              arena.clear();
              model.clear();
            }
            // Of the entries not read, those the ring evicted are the oldest.
            const gone = [...model].filter(([k]) => arena.find(hashOf(k), keyOf(k)) < 0);
            const left = [...model].filter(([k]) => arena.find(hashOf(k), keyOf(k)) >= 0);
            const newestGone = Math.max(-1, ...gone.filter(([, e]) => !e.used).map(([, e]) => e.seq));
            for (const [, e] of left) if (!e.used) expect(e.seq).toBeGreaterThan(newestGone);
            for (const [k] of gone) model.delete(k);
            for (const [k, e] of left) {
              const off = arena.find(hashOf(k), keyOf(k));
              expect(same(arena.recordAt(off), e.record)).toBe(true);
              expect(arena.memoAt(off)).toBe(e.memo);
            }
            expect(arena.count).toBe(model.size);
            expect(arena.liveBytes).toBeLessThanOrEqual(maxBytes);
            // The memory counted covers every live entry, and never passes the ring.
            expect(arena.allocated).toBeGreaterThanOrEqual(arena.liveBytes);
            expect(arena.allocated).toBeLessThanOrEqual(maxBytes);
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it('a ring that has room keeps every entry', () => {
    const arena = new RecordArena(1 << 20);
    const hash = (k: number): number => (k % 100 === 0 ? 7 : Math.imul(k + 1, 0x9e3779b1));
    for (let k = 0; k < 5000; k++) expect(arena.put(hash(k), keyOf(k), recordOf(k, 100, 0), BigInt(k))).toBe(true);
    expect(arena.count).toBe(5000);
    for (let k = 0; k < 5000; k++) {
      const off = arena.find(hash(k), keyOf(k));
      expect(same(arena.recordAt(off), recordOf(k, 100, 0))).toBe(true);
      expect(arena.memoAt(off)).toBe(BigInt(k));
    }
  });

  it('counts as memory only the bytes written so far, up to its size, and keeps them after a clear', () => {
    const arena = new RecordArena(64 * 1024);
    expect(arena.allocated).toBe(0);
    arena.put(1, keyOf(1), recordOf(1, 100, 0), undefined);
    const one = arena.allocated;
    // Header, key and record, rounded up to 8 bytes.
    expect(one).toBeGreaterThanOrEqual(100 + keyOf(1).length);
    expect(one).toBeLessThan(100 + keyOf(1).length + 40);
    for (let k = 2; k <= 10; k++) arena.put(k, keyOf(k), recordOf(k, 100, 0), undefined);
    expect(arena.allocated).toBeGreaterThanOrEqual(10 * (100 + keyOf(1).length));
    for (let k = 0; k < 2000; k++) arena.put(k + 100, keyOf(k + 100), recordOf(k, 100, 0), undefined);
    expect(arena.allocated).toBeGreaterThan(60 * 1024);
    expect(arena.allocated).toBeLessThanOrEqual(64 * 1024);
    const full = arena.allocated;
    arena.clear();
    expect(arena.allocated).toBe(full);
  });

  it('an entry read since it came outlives entries that were not, once, and keeps its record', () => {
    const arena = new RecordArena(4096);
    // 64 bytes each (24 of header, a 10-byte key, 30 of record): the ring holds 64.
    const key = (k: number): Buffer => Buffer.from(`k${String(k).padStart(9, '0')}`);
    const found = (k: number): boolean => arena.find(k, key(k)) >= 0;
    for (let k = 0; k < 64; k++) arena.put(k, key(k), Buffer.alloc(30, k), BigInt(k));
    for (const k of [0, 5, 6]) arena.markUsed(arena.find(k, key(k)));
    // A lap of new entries: every entry that was there goes but the three read ones,
    // which the tail moved to the head instead.
    for (let k = 64; k < 64 + 61; k++) arena.put(k, key(k), Buffer.alloc(30, k), undefined);
    expect(Array.from({ length: 64 }, (_, k) => k).filter(found)).toEqual([0, 5, 6]);
    for (const k of [0, 5, 6]) {
      const off = arena.find(k, key(k));
      expect(same(arena.recordAt(off), Buffer.alloc(30, k))).toBe(true);
      expect(arena.memoAt(off)).toBe(BigInt(k));
    }
    // The move cleared the mark: the next lap evicts them.
    for (let k = 200; k < 264; k++) arena.put(k, key(k), Buffer.alloc(30, k), undefined);
    expect([0, 5, 6].filter(found)).toEqual([]);
    expect(arena.count).toBe(64);
  });

  it('a key rewritten with a record that fits keeps its entry, marked used', () => {
    const arena = new RecordArena(4096);
    // 64 bytes each (24 of header, a 10-byte key, 30 of record): the ring holds 64.
    const key = (k: number): Buffer => Buffer.from(`k${String(k).padStart(9, '0')}`);
    const found = (k: number): boolean => arena.find(k, key(k)) >= 0;
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    for (const k of range(0, 64)) arena.put(k, key(k), Buffer.alloc(30, k), undefined);
    // Rewriting half the keys again and again leaves no dead space: nothing goes.
    for (let round = 1; round <= 20; round++) for (const k of range(0, 32)) arena.put(k, key(k), Buffer.alloc(30 - (round % 3), round), undefined);
    expect(range(0, 64).filter(found)).toEqual(range(0, 64));
    expect(same(arena.recordAt(arena.find(5, key(5))), Buffer.alloc(30 - (20 % 3), 20))).toBe(true);
    // The rewritten keys were marked used: new entries evict the others first.
    for (const k of range(100, 132)) arena.put(k, key(k), Buffer.alloc(30, 1), undefined);
    expect(range(0, 64).filter(found)).toEqual(range(0, 32));
    // A record that no longer fits moves its key to the head.
    arena.put(3, key(3), Buffer.alloc(60, 1), undefined);
    expect(same(arena.recordAt(arena.find(3, key(3))), Buffer.alloc(60, 1))).toBe(true);
    expect(arena.count).toBeLessThanOrEqual(64);
  });

  it('a record handed out is a copy: the ring reusing its bytes does not change it', () => {
    const arena = new RecordArena(1024);
    arena.put(1, keyOf(1), Buffer.alloc(100, 7), undefined);
    const out = arena.recordAt(arena.find(1, keyOf(1)))!;
    for (let k = 2; k < 50; k++) arena.put(k, keyOf(k), Buffer.alloc(100, k), undefined);
    expect(arena.find(1, keyOf(1))).toBe(-1);
    expect(out).toEqual(Buffer.alloc(100, 7));
  });
});
