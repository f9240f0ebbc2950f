import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { native, Order } from '../../src/native.js';
import { packageRoot } from '../../src/paths.js';
import {
  type Dot,
  type VvEntry,
  refDotsCoveredBy,
  refDotsDecode,
  refDotsEncode,
  refDotSync,
  refVvCompare,
  refVvDecode,
  refVvEncode,
  refVvEvent,
  refVvGet,
  refVvMerge,
  refVvPrune,
  refVvValidate,
} from '../../src/reference/index.js';

const MAX = Number.MAX_SAFE_INTEGER; // largest counter
const MAX_U64 = (1n << 64n) - 1n;
const RUNS = 3000;
const EMPTY = Buffer.from([1, 0]);

// ---------------------------------------------------------------- generators

// A small pool of actors so that vectors overlap often, plus the edges of u64.
const actorArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 12 }).map(BigInt) },
  { weight: 1, arbitrary: fc.bigInt(MAX_U64 - 6n, MAX_U64) },
  { weight: 1, arbitrary: fc.bigInt(0n, MAX_U64) },
);
// Small counters so that comparisons tie often, plus counters near 2^53-1.
const counterArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }).map((k) => MAX - k) },
  { weight: 1, arbitrary: fc.maxSafeNat().map((n) => Math.max(1, n)) },
  // Every varint length from 1 to 8 bytes.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 53 }), fc.double({ min: 0, max: 1, noNaN: true })).map(([bits, f]) => Math.min(MAX, 2 ** (bits - 1) + Math.floor(f * 2 ** (bits - 1)))) },
);
const entriesArb = fc
  .uniqueArray(fc.tuple(actorArb, counterArb), { selector: (e) => e[0], maxLength: 40 })
  .map(sortEntries);
const vvArb = entriesArb.map((e) => refVvEncode(e));

type Op = 'keep' | 'up' | 'down' | 'drop';
const opArb = fc.constantFrom<Op>('keep', 'keep', 'keep', 'keep', 'keep', 'keep', 'up', 'down', 'drop');

/** A second vector derived from the first by per-entry edits and a few extra actors. */
function derive(a: readonly VvEntry[], ops: readonly Op[], extra: readonly VvEntry[]): VvEntry[] {
  const m = new Map<bigint, number>();
  a.forEach(([actor, c], i) => {
    const op = ops[i] ?? 'keep';
    if (op === 'keep') m.set(actor, c);
    else if (op === 'up') m.set(actor, c < MAX ? c + 1 : c - 1);
    else if (op === 'down' && c > 1) m.set(actor, c - 1);
  });
  for (const [actor, c] of extra) if (!m.has(actor)) m.set(actor, c);
  return sortEntries([...m]);
}

// Pairs of vectors: identical, derived one from the other, or independent, so
// that every Order occurs often.
const pairArb = fc.oneof(
  entriesArb.map((a) => [refVvEncode(a), refVvEncode(a)] as const),
  fc
    .tuple(entriesArb, fc.array(opArb, { maxLength: 40 }), entriesArb, fc.boolean())
    .map(([a, ops, extra, more]) => [refVvEncode(a), refVvEncode(derive(a, ops, more ? extra.slice(0, 2) : []))] as const),
  fc.tuple(vvArb, vvArb),
);

const dotArb = fc.tuple(actorArb, counterArb);
const dotsArb = fc.array(dotArb, { maxLength: 12 }).map((d) => refDotsEncode(d as Dot[]));

function sortEntries(e: VvEntry[]): VvEntry[] {
  return [...e].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

/** A dots buffer built from a vector's own entries and some near them. */
function dotsNear(entries: readonly VvEntry[], pick: readonly number[]): Buffer {
  const dots: Dot[] = [];
  pick.forEach((p, i) => {
    const e = entries[p % Math.max(1, entries.length)];
    if (e === undefined) return;
    const c = e[1] + ((i % 3) - 1);
    if (c >= 1 && c <= MAX) dots.push([e[0], c]);
  });
  return refDotsEncode(dots);
}

// --------------------------------------------------------------- comparison

type Fn = (...args: unknown[]) => unknown;
const nativeFns = native as unknown as Record<string, Fn>;
const refFns: Record<string, Fn> = {
  vvCompare: refVvCompare as Fn,
  vvMerge: refVvMerge as Fn,
  vvEvent: refVvEvent as Fn,
  vvGet: refVvGet as Fn,
  vvPrune: refVvPrune as Fn,
  vvValidate: refVvValidate as Fn,
  dotsCoveredBy: refDotsCoveredBy as Fn,
  dotSync: refDotSync as Fn,
};

type Outcome = { value: unknown } | { error: string };

function outcome(f: Fn, args: unknown[]): Outcome {
  try {
    const v = f(...args);
    return { value: v instanceof Uint8Array ? [...v] : v };
  } catch (e) {
    return { error: (e as Error).constructor.name };
  }
}

/** Runs a function natively and in the reference; both must agree exactly. */
function agree(name: string, ...args: unknown[]): Outcome {
  const n = outcome(nativeFns[name]!, args);
  const r = outcome(refFns[name]!, args);
  expect(n, `${name} native vs reference`).toEqual(r);
  return n;
}

function expectThrows(name: string, args: unknown[], kind: typeof TypeError | typeof RangeError): void {
  expect(() => nativeFns[name]!(...args), `native ${name}`).toThrow(kind);
  expect(() => refFns[name]!(...args), `reference ${name}`).toThrow(kind);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ------------------------------------------------------------------- tests

describe('native version vectors agree with the reference', () => {
  it('vvCompare, with every Order occurring often', () => {
    const seen = new Map<Order, number>();
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        const o = agree('vvCompare', a, b) as { value: Order };
        seen.set(o.value, (seen.get(o.value) ?? 0) + 1);
      }),
      { numRuns: RUNS },
    );
    for (const o of [Order.Before, Order.Equal, Order.After, Order.Concurrent]) {
      expect(seen.get(o) ?? 0, `order ${o}`).toBeGreaterThan(RUNS / 20);
    }
  });

  it('vvMerge', () => {
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        agree('vvMerge', a, b);
      }),
      { numRuns: RUNS },
    );
  });

  it('vvEvent', () => {
    fc.assert(
      fc.property(vvArb, actorArb, counterArb, (vv, actor, counter) => {
        agree('vvEvent', vv, actor, counter);
      }),
      { numRuns: RUNS },
    );
  });

  it('vvGet, for actors present and absent', () => {
    fc.assert(
      fc.property(entriesArb, actorArb, fc.nat(), (entries, actor, pick) => {
        const vv = refVvEncode(entries);
        agree('vvGet', vv, actor);
        const present = entries[pick % Math.max(1, entries.length)];
        if (present !== undefined) expect(agree('vvGet', vv, present[0])).toEqual({ value: present[1] });
      }),
      { numRuns: RUNS },
    );
  });

  it('vvPrune', () => {
    fc.assert(
      fc.property(vvArb, fc.integer({ min: 1, max: 45 }), (vv, max) => {
        const out = agree('vvPrune', vv, max) as { value: number[] };
        expect(refVvDecode(Buffer.from(out.value)).length).toBe(Math.min(max, refVvValidate(vv)));
      }),
      { numRuns: RUNS },
    );
  });

  it('vvValidate', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        expect(agree('vvValidate', refVvEncode(entries))).toEqual({ value: entries.length });
      }),
      { numRuns: RUNS },
    );
  });

  it('dotsCoveredBy', () => {
    fc.assert(
      fc.property(entriesArb, fc.array(fc.nat(), { maxLength: 12 }), dotsArb, (entries, pick, extra) => {
        const vv = refVvEncode(entries);
        agree('dotsCoveredBy', vv, dotsNear(entries, pick));
        agree('dotsCoveredBy', vv, extra);
      }),
      { numRuns: RUNS },
    );
  });

  it('dotSync', () => {
    fc.assert(
      fc.property(
        pairArb,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        ([ca, cb], pa, pb, shared) => {
          const ea = refVvDecode(ca);
          const eb = refVvDecode(cb);
          // Siblings of each side are dots its clock covers; some are held by both.
          const da = refDotsDecode(dotsNear(ea, pa)).filter(([a, c]) => refVvGet(ca, a) >= c);
          const db = refDotsDecode(dotsNear(eb, pb)).filter(([a, c]) => refVvGet(cb, a) >= c);
          for (const s of shared) {
            const d = da[s % Math.max(1, da.length)];
            if (d !== undefined && refVvGet(cb, d[0]) >= d[1]) db.push(d);
          }
          agree('dotSync', ca, refDotsEncode(da), cb, refDotsEncode(db));
          agree('dotSync', ca, refDotsEncode(db), cb, refDotsEncode(da));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('vectors larger than the inline storage (33..1024 entries)', () => {
    for (const n of [31, 32, 33, 64, 500, 1023, 1024]) {
      const a: VvEntry[] = Array.from({ length: n }, (_, i) => [BigInt(i * 2), 1 + (i % 7)]);
      const b: VvEntry[] = Array.from({ length: n }, (_, i) => [BigInt(i * 2), 1 + ((i * 5) % 9)]);
      const va = refVvEncode(a);
      const vb = refVvEncode(b);
      agree('vvCompare', va, vb);
      agree('vvMerge', va, vb);
      agree('vvEvent', va, 7n, 3);
      agree('vvEvent', va, 6n, 3);
      agree('vvPrune', va, 32);
      agree('vvValidate', va);
      agree('dotsCoveredBy', va, refDotsEncode(b.map(([x, c]) => [x, c])));
      agree('dotSync', va, refDotsEncode(a.slice(0, 40)), vb, refDotsEncode(b.slice(20, 80)));
    }
  });

  it('dotSync with many dots on both sides (the sorted lookup path)', () => {
    const dots = (from: number, to: number): Dot[] =>
      Array.from({ length: to - from }, (_, i) => [BigInt((from + i) % 50), 1 + ((from + i) % 13)]);
    const ca = refVvEncode(Array.from({ length: 50 }, (_, i) => [BigInt(i), 10] as VvEntry));
    const cb = refVvEncode(Array.from({ length: 50 }, (_, i) => [BigInt(i), 5 + (i % 8)] as VvEntry));
    for (const [a0, a1, b0, b1] of [
      [0, 200, 100, 300],
      [0, 40, 30, 70],
      [0, 3, 0, 600],
    ] as const) {
      agree('dotSync', ca, refDotsEncode(dots(a0, a1)), cb, refDotsEncode(dots(b0, b1)));
      agree('dotSync', cb, refDotsEncode(dots(b0, b1)), ca, refDotsEncode(dots(a0, a1)));
    }
  });
});

describe('version vector algebra (native)', () => {
  const cmp = native.vvCompare;
  const mirror = (o: Order): Order => (o === Order.Before ? Order.After : o === Order.After ? Order.Before : o);

  it('merge is commutative, idempotent, and descends both sides', () => {
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        const m = native.vvMerge(a, b);
        expect(hex(native.vvMerge(b, a))).toBe(hex(m));
        expect(hex(native.vvMerge(a, a))).toBe(hex(a));
        expect([Order.After, Order.Equal]).toContain(cmp(m, a));
        expect([Order.After, Order.Equal]).toContain(cmp(m, b));
        // merge(a, b) = a exactly when a already descends b.
        expect(hex(m) === hex(a)).toBe(cmp(a, b) === Order.After || cmp(a, b) === Order.Equal);
      }),
      { numRuns: RUNS },
    );
  });

  it('merge is associative', () => {
    fc.assert(
      fc.property(vvArb, vvArb, vvArb, (a, b, c) => {
        expect(hex(native.vvMerge(native.vvMerge(a, b), c))).toBe(hex(native.vvMerge(a, native.vvMerge(b, c))));
      }),
      { numRuns: RUNS },
    );
  });

  it('compare is antisymmetric and reflexive', () => {
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        expect(cmp(b, a)).toBe(mirror(cmp(a, b)));
        expect(cmp(a, a)).toBe(Order.Equal);
      }),
      { numRuns: RUNS },
    );
  });

  it('event dominates its input and raises only its actor', () => {
    fc.assert(
      fc.property(vvArb, actorArb, counterArb, (vv, actor, counter) => {
        const before = native.vvGet(vv, actor);
        const e = native.vvEvent(vv, actor, counter);
        expect(native.vvGet(e, actor)).toBe(Math.max(before, counter));
        expect(cmp(e, vv)).toBe(counter > before ? Order.After : Order.Equal);
      }),
      { numRuns: RUNS },
    );
  });

  it('dotSync equals its definition in terms of dotsCoveredBy', () => {
    fc.assert(
      fc.property(pairArb, dotsArb, dotsArb, ([ca, cb], da, db) => {
        const flags = native.dotSync(ca, da, cb, db);
        const na = da.length / 16;
        const keys = (d: Buffer): string[] => Array.from({ length: d.length / 16 }, (_, i) => hex(d.subarray(i * 16, i * 16 + 16)));
        const ka = keys(da);
        const kb = new Set(keys(db));
        const coveredByB = native.dotsCoveredBy(cb, da);
        const coveredByA = native.dotsCoveredBy(ca, db);
        ka.forEach((k, i) => expect(flags[i]).toBe(kb.has(k) || coveredByB[i] === 0 ? 1 : 0));
        keys(db).forEach((k, j) => expect(flags[na + j]).toBe(!ka.includes(k) && coveredByA[j] === 0 ? 1 : 0));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('version vector encodings (native)', () => {
  const entry = (actor: bigint, counterVarint: number[]): number[] => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(actor);
    return [...b, ...counterVarint];
  };

  it('encodes canonically, byte for byte', () => {
    expect(hex(native.vvMerge(Buffer.alloc(0), Buffer.alloc(0)))).toBe('0100');
    expect(hex(native.vvPrune(Buffer.alloc(0), 1))).toBe('0100');
    expect(native.vvValidate(Buffer.alloc(0))).toBe(0);
    const vv = native.vvEvent(Buffer.alloc(0), 0x0102030405060708n, 300);
    expect(hex(vv)).toBe('0101' + '0807060504030201' + 'ac02');
    const big = native.vvEvent(vv, MAX_U64, MAX);
    expect(hex(big)).toBe('0102' + '0807060504030201' + 'ac02' + 'ffffffffffffffff' + 'ffffffffffffff0f');
    expect(native.vvGet(big, MAX_U64)).toBe(MAX);
    expect(native.vvGet(big, 5n)).toBe(0);
    expect(Buffer.isBuffer(native.vvMerge(vv, big))).toBe(true);
    expect(native.dotsCoveredBy(vv, Buffer.alloc(0))).toBeInstanceOf(Uint8Array);
  });

  it('prunes the smallest counters first, smaller actor first on ties', () => {
    const vv = refVvEncode([
      [1n, 5],
      [2n, 3],
      [3n, 3],
      [4n, 9],
      [5n, 1],
    ]);
    expect(refVvDecode(native.vvPrune(vv, 3))).toEqual([
      [1n, 5],
      [3n, 3],
      [4n, 9],
    ]);
    expect(refVvDecode(native.vvPrune(vv, 1))).toEqual([[4n, 9]]);
    expect(hex(native.vvPrune(vv, 5))).toBe(hex(vv));
    expect(hex(native.vvPrune(vv, 1000))).toBe(hex(vv));
  });

  it('returns independent results: no aliasing, across slab boundaries and transfers', () => {
    const results: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = native.vvEvent(EMPTY, BigInt(i), 1 + i);
      results.push(r);
      expected.push(hex(refVvEvent(EMPTY, BigInt(i), 1 + i)));
      if (i === 1000) r.fill(0xee); // scribbling on one result touches no other
    }
    results.forEach((r, i) => {
      expect(Buffer.isBuffer(r)).toBe(true);
      if (i !== 1000) expect(hex(r)).toBe(expected[i]);
    });
    // Transferring a result's ArrayBuffer detaches the slab; later results come
    // from fresh memory and are intact.
    const victim = native.vvEvent(EMPTY, 1n, 1);
    structuredClone(victim.buffer, { transfer: [victim.buffer as ArrayBuffer] });
    expect(victim.length).toBe(0);
    for (let i = 0; i < 50; i++) {
      expect(hex(native.vvEvent(EMPTY, 7n, 1 + i))).toBe(hex(refVvEvent(EMPTY, 7n, 1 + i)));
      expect([...native.dotsCoveredBy(EMPTY, refDotsEncode([[7n, 1]]))]).toEqual([0]);
    }
  });

  it('returns large results (beyond the shared slab) correctly', () => {
    const many: VvEntry[] = Array.from({ length: 600 }, (_, i) => [BigInt(i), 1 + i * 1000]);
    const vv = refVvEncode(many);
    expect(vv.length).toBeGreaterThan(4096);
    const merged = native.vvMerge(vv, EMPTY);
    expect(Buffer.isBuffer(merged)).toBe(true);
    expect(hex(merged)).toBe(hex(vv));
    const dots = refDotsEncode(Array.from({ length: 5000 }, (_, i): Dot => [BigInt(i % 700), 1 + (i % 7) * 1000]));
    const flags = native.dotsCoveredBy(vv, dots);
    expect(flags.length).toBe(5000);
    expect([...flags]).toEqual([...refDotsCoveredBy(vv, dots)]);
  });

  it('reads only the bytes of a view into a larger buffer', () => {
    const vv = refVvEncode([
      [1n, 2],
      [7n, 4],
    ]);
    const big = Buffer.concat([Buffer.from([1, 9, 9]), vv, Buffer.from([0xff, 0xff])]);
    const view = big.subarray(3, 3 + vv.length);
    expect(native.vvValidate(view)).toBe(2);
    expect(native.vvCompare(view, vv)).toBe(Order.Equal);
    expect(hex(native.vvMerge(view, EMPTY))).toBe(hex(vv));
    const dots = refDotsEncode([[7n, 4]]);
    const dview = Buffer.concat([Buffer.alloc(5), dots, Buffer.alloc(3)]).subarray(5, 21);
    expect([...native.dotsCoveredBy(view, dview)]).toEqual([1]);
  });

  // Every kind of malformation in docs/architecture.md.
  const valid = entry(1n, [1]);
  const malformed: Record<string, number[]> = {
    'format byte 0': [0, 0],
    'format byte 2': [2, 0],
    'format byte only': [1],
    'truncated actor': [1, 1, 1, 2, 3],
    'truncated counter': [1, 1, ...entry(1n, [])],
    'truncated counter varint': [1, 1, ...entry(1n, [0x80])],
    'count beyond the bytes': [1, 3, ...valid],
    'count 1025': [1, 0x81, 0x08, ...Array.from({ length: 1025 }, (_, i) => entry(BigInt(i), [1])).flat()],
    'count varint huge': [1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
    unsorted: [1, 2, ...entry(2n, [1]), ...entry(1n, [1])],
    'unsorted by unsigned order': [1, 2, ...entry(MAX_U64, [1]), ...entry(1n, [1])],
    'duplicate actor': [1, 2, ...entry(3n, [1]), ...entry(3n, [2])],
    'zero counter': [1, 1, ...entry(1n, [0])],
    'non-minimal counter': [1, 1, ...entry(1n, [0x81, 0x00])],
    'non-minimal count': [1, 0x81, 0x00, ...valid],
    'non-minimal zero count': [1, 0x80, 0x00],
    'varint over 8 bytes': [1, 1, ...entry(1n, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
    'counter 2^53': [1, 1, ...entry(1n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])],
    'counter 2^56-1': [1, 1, ...entry(1n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])],
    'trailing byte after entries': [1, 1, ...valid, 0],
    'trailing byte after empty': [1, 0, 0],
  };

  it('decodes counters of every varint length, mid-buffer and at the end', () => {
    for (let len = 1; len <= 8; len++) {
      for (const c of [2 ** (7 * (len - 1)), Math.min(MAX, 2 ** (7 * len) - 1)]) {
        if (len === 1 && c === 1) continue;
        const v = refVvEncode([
          [3n, c],
          [4n, 1],
          [5n, c],
        ]);
        expect(native.vvValidate(v)).toBe(3);
        expect(native.vvGet(v, 3n)).toBe(c);
        expect(native.vvGet(v, 5n)).toBe(c);
        expect(hex(native.vvMerge(v, EMPTY))).toBe(hex(v));
        // Every truncation of it is malformed, wherever the cut falls.
        for (let cut = 1; cut < v.length; cut++) expectThrows('vvValidate', [v.subarray(0, cut)], RangeError);
        // A non-minimal form (an extra 0x80 continuation and a zero byte) is malformed.
        if (len < 8) {
          const last = refVvEncode([[5n, c]]);
          const tail = [...last.subarray(10)];
          tail[tail.length - 1] = tail[tail.length - 1]! | 0x80;
          expectThrows('vvValidate', [Buffer.from([...last.subarray(0, 10), ...tail, 0x00])], RangeError);
        }
      }
    }
  });

  it('accepts the boundaries just inside the format', () => {
    expect(native.vvValidate(Buffer.from([1, 1, ...entry(1n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])]))).toBe(1);
    const max = Buffer.from([1, 0x80, 0x08, ...Array.from({ length: 1024 }, (_, i) => entry(BigInt(i), [1])).flat()]);
    expect(native.vvValidate(max)).toBe(1024);
    expect(refVvValidate(max)).toBe(1024);
  });

  for (const [what, bytes] of Object.entries(malformed)) {
    it(`rejects ${what} with RangeError in every position`, () => {
      const bad = Buffer.from(bytes);
      const good = refVvEncode([[1n, 1]]);
      const dots = refDotsEncode([[1n, 1]]);
      expectThrows('vvValidate', [bad], RangeError);
      expectThrows('vvCompare', [bad, good], RangeError);
      expectThrows('vvCompare', [good, bad], RangeError);
      expectThrows('vvCompare', [bad, Buffer.alloc(0)], RangeError);
      expectThrows('vvMerge', [bad, good], RangeError);
      expectThrows('vvMerge', [good, bad], RangeError);
      expectThrows('vvEvent', [bad, 1n, 1], RangeError);
      expectThrows('vvGet', [bad, 1n], RangeError);
      expectThrows('vvGet', [bad, 999n], RangeError);
      expectThrows('vvPrune', [bad, 1], RangeError);
      expectThrows('vvPrune', [bad, 5000], RangeError);
      expectThrows('dotsCoveredBy', [bad, dots], RangeError);
      expectThrows('dotSync', [bad, dots, good, dots], RangeError);
      expectThrows('dotSync', [good, dots, bad, dots], RangeError);
    });
  }

  it('rejects results that would exceed 1024 entries', () => {
    const full = refVvEncode(Array.from({ length: 1024 }, (_, i) => [BigInt(i * 2), 1] as VvEntry));
    const odd = refVvEncode([[1n, 1]]);
    expectThrows('vvEvent', [full, 1n, 1], RangeError);
    expectThrows('vvMerge', [full, odd], RangeError);
    expect(native.vvValidate(native.vvEvent(full, 2n, 5))).toBe(1024);
    expect(hex(native.vvMerge(full, full))).toBe(hex(full));
  });

  it('rejects malformed dots with RangeError', () => {
    const vv = refVvEncode([[1n, 1]]);
    const dot = (actor: bigint, counter: bigint): Buffer => {
      const b = Buffer.alloc(16);
      b.writeBigUInt64LE(actor, 0);
      b.writeBigUInt64LE(counter, 8);
      return b;
    };
    const ok = dot(1n, 1n);
    for (const bad of [
      Buffer.alloc(15),
      Buffer.alloc(17),
      Buffer.concat([ok, Buffer.alloc(1)]),
      dot(1n, 0n),
      dot(1n, 1n << 53n),
      dot(MAX_U64, MAX_U64),
      Buffer.concat([ok, dot(2n, 0n)]),
    ]) {
      expectThrows('dotsCoveredBy', [vv, bad], RangeError);
      expectThrows('dotSync', [vv, bad, vv, ok], RangeError);
      expectThrows('dotSync', [vv, ok, vv, bad], RangeError);
    }
    // Just inside: counter 2^53-1 and the largest actor.
    expect([...native.dotsCoveredBy(vv, dot(MAX_U64, BigInt(MAX)))]).toEqual([0]);
  });

  it('rejects wrong argument types with TypeError and bad numbers with RangeError', () => {
    const vv = refVvEncode([[1n, 1]]);
    const dots = refDotsEncode([[1n, 1]]);
    const notBytes = ['01', 1, 1n, undefined, null, [1, 0], new Uint16Array(2), new Uint8ClampedArray(2), new DataView(new ArrayBuffer(2)), new ArrayBuffer(2), {}];
    for (const x of notBytes) {
      expectThrows('vvCompare', [x, vv], TypeError);
      expectThrows('vvCompare', [vv, x], TypeError);
      expectThrows('vvMerge', [vv, x], TypeError);
      expectThrows('vvEvent', [x, 1n, 1], TypeError);
      expectThrows('vvGet', [x, 1n], TypeError);
      expectThrows('vvPrune', [x, 1], TypeError);
      expectThrows('vvValidate', [x], TypeError);
      expectThrows('dotsCoveredBy', [vv, x], TypeError);
      expectThrows('dotsCoveredBy', [x, dots], TypeError);
      for (let i = 0; i < 4; i++) {
        const args: unknown[] = [vv, dots, vv, dots];
        args[i] = x;
        expectThrows('dotSync', args, TypeError);
      }
    }
    for (const x of [1, '1', undefined, null, 1.5]) {
      expectThrows('vvEvent', [vv, x, 1], TypeError);
      expectThrows('vvGet', [vv, x], TypeError);
    }
    for (const x of [-1n, 1n << 64n]) {
      expectThrows('vvEvent', [vv, x, 1], RangeError);
      expectThrows('vvGet', [vv, x], RangeError);
    }
    for (const x of ['1', 1n, undefined, null]) {
      expectThrows('vvEvent', [vv, 1n, x], TypeError);
      expectThrows('vvPrune', [vv, x], TypeError);
    }
    for (const x of [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, -0]) {
      expectThrows('vvEvent', [vv, 1n, x], RangeError);
      expectThrows('vvPrune', [vv, x], RangeError);
    }
    expectThrows('vvCompare', [], TypeError);
    // Arguments are checked in order: a type error before a malformed vector.
    expectThrows('vvEvent', [Buffer.from([9]), 1n, 'x'], TypeError);
  });

  it('agrees with the reference on random and mutated bytes, accepting or rejecting alike', () => {
    const base = refVvEncode([
      [1n, 3],
      [5n, 200],
      [MAX_U64, MAX],
    ]);
    const dots = refDotsEncode([[5n, 100]]);
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      let bad: Buffer;
      if (i % 2 === 0) {
        bad = Buffer.from(base);
        const at = i % bad.length;
        bad[at] = bad[at]! ^ (1 << (i % 8));
        if (i % 6 === 0) bad = bad.subarray(0, i % bad.length);
      } else {
        bad = randomBytes(i % 40);
        if (i % 3 === 0) bad[0] = 1;
      }
      const r = agree('vvValidate', bad);
      if ('error' in r) rejected++;
      else accepted++;
      agree('vvCompare', bad, base);
      agree('vvMerge', base, bad);
      agree('vvEvent', bad, 5n, 7);
      agree('vvGet', bad, 5n);
      agree('vvPrune', bad, 2);
      agree('dotsCoveredBy', bad, dots);
      agree('dotSync', bad, dots, base, dots);
      agree('dotsCoveredBy', base, bad);
    }
    expect(rejected).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(100);
  });

  it('survives hostile input in a separate process (no crash, no abort)', () => {
    const addon = join(packageRoot(), 'build', 'Release', 'shoal.node');
    const script = `
      const n = require(${JSON.stringify(addon)});
      const crypto = require('node:crypto');
      const fns = ['vvCompare','vvMerge','vvEvent','vvGet','vvPrune','vvValidate','dotsCoveredBy','dotSync'];
      const vals = () => [crypto.randomBytes(Math.floor(Math.random() * 64)), Buffer.from([1, 0x80, 0x08]),
        Buffer.from([1, 0xff]), 1n, -1n, 2n ** 64n, 0, 1, 2 ** 53, NaN, 'x', undefined, null, {}, [],
        new BigUint64Array(2), new Uint8Array(0)];
      let thrown = 0;
      for (let i = 0; i < 20000; i++) {
        const f = fns[i % fns.length];
        const pool = vals();
        const args = Array.from({ length: 1 + (i % 5) }, () => pool[Math.floor(Math.random() * pool.length)]);
        try { n[f](...args); } catch (e) {
          if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
          thrown++;
        }
      }
      console.log(thrown);
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(1000);
  });
});
