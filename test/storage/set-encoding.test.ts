import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SiblingSetCodec } from '../../src/codec/index.js';
import type { SiblingSet } from '../../src/codec/index.js';
import { decodeSiblingSet, encodeSiblingSet } from '../../src/storage/set-encoding.js';

const time = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const setArb: fc.Arbitrary<SiblingSet> = fc.record({
  clock: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  siblings: fc.array(
    fc.record({
      dot: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
      value: fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: 120, maxLength: 400 })).map((a) => Buffer.from(a)),
      tombstone: fc.boolean(),
      expiresAt: time,
      writtenAt: time,
    }),
    { maxLength: 5 },
  ),
});

describe('encodeSiblingSet', () => {
  it('writes the same bytes as the codec, which decodes them back', () => {
    fc.assert(
      fc.property(setArb, (s) => {
        const mine = encodeSiblingSet(s);
        expect(mine.toString('hex')).toBe(Buffer.from(SiblingSetCodec.encode(s)).toString('hex'));
        const back = SiblingSetCodec.decode(mine);
        expect(Buffer.from(back.clock)).toEqual(s.clock);
        expect(
          back.siblings.map((x) => ({ dot: Buffer.from(x.dot), value: Buffer.from(x.value), tombstone: x.tombstone, expiresAt: x.expiresAt, writtenAt: x.writtenAt })),
        ).toEqual(s.siblings);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a dot that is not 16 bytes', () => {
    expect(() => encodeSiblingSet({ clock: Buffer.from([1, 0]), siblings: [{ dot: Buffer.alloc(3), value: Buffer.alloc(0), tombstone: false, expiresAt: 0, writtenAt: 0 }] })).toThrow(RangeError);
  });
});

/** A decoded set as plain data, whatever its fields' provenance (own or prototype). */
function plain(s: SiblingSet): unknown {
  return {
    clock: Buffer.from(s.clock).toString('hex'),
    siblings: s.siblings.map((x) => ({
      dot: Buffer.from(x.dot).toString('hex'),
      value: Buffer.from(x.value).toString('hex'),
      tombstone: x.tombstone,
      expiresAt: x.expiresAt,
      writtenAt: x.writtenAt,
    })),
  };
}

describe('decodeSiblingSet', () => {
  it('decodes what the codec encodes, as the codec decodes it, into own fields', () => {
    fc.assert(
      fc.property(setArb, (s) => {
        const bytes = Buffer.from(SiblingSetCodec.encode(s));
        const mine = decodeSiblingSet(bytes);
        expect(plain(mine)).toEqual(plain(SiblingSetCodec.decode(bytes)));
        // Every field survives a spread and a structured clone.
        expect(plain(structuredClone(mine))).toEqual(plain(s));
        for (const x of mine.siblings) expect(Object.keys(x).sort()).toEqual(['dot', 'expiresAt', 'tombstone', 'value', 'writtenAt']);
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees with the codec on records with unknown fields, repeated fields and fields out of order', () => {
    const extra = fc.oneof(
      fc.record({ field: fc.integer({ min: 6, max: 15 }), wire: fc.constant(0), bytes: fc.constant(Buffer.from([0x96, 0x01])) }),
      fc.record({ field: fc.integer({ min: 6, max: 15 }), wire: fc.constant(2), bytes: fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.concat([Buffer.from([a.length]), Buffer.from(a)])) }),
      fc.record({ field: fc.integer({ min: 6, max: 15 }), wire: fc.constant(5), bytes: fc.constant(Buffer.alloc(4, 7)) }),
      fc.record({ field: fc.integer({ min: 6, max: 15 }), wire: fc.constant(1), bytes: fc.constant(Buffer.alloc(8, 9)) }),
    );
    // Fields 6..15: one-byte tags.
    const field = (f: { field: number; wire: number; bytes: Buffer }) => Buffer.concat([Buffer.from([(f.field << 3) | f.wire]), f.bytes]);
    fc.assert(
      fc.property(fc.array(setArb, { minLength: 1, maxLength: 3 }), fc.array(extra, { maxLength: 3 }), (sets, extras) => {
        // Concatenated encodings: the clock is the last one, siblings accumulate.
        const bytes = Buffer.concat([...sets.map((s) => Buffer.from(SiblingSetCodec.encode(s))), ...extras.map(field)]);
        expect(plain(decodeSiblingSet(bytes))).toEqual(plain(SiblingSetCodec.decode(bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it('throws a RangeError, never anything else, on malformed bytes; whatever it accepts the codec reads the same', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (a) => {
        const bytes = Buffer.from(a);
        let mine: SiblingSet | undefined;
        try {
          mine = decodeSiblingSet(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(RangeError);
          return;
        }
        expect(plain(mine)).toEqual(plain(SiblingSetCodec.decode(bytes)));
      }),
      { numRuns: 5000 },
    );
    expect(() => decodeSiblingSet(Buffer.from([0x12, 0x05, 0x0a]))).toThrow(RangeError);
    expect(() => decodeSiblingSet(Buffer.from([0x0a, 0x02, 0x01]))).toThrow(RangeError);
    expect(() => decodeSiblingSet(Buffer.from([0x08, 0x01]))).toThrow(RangeError);
  });
});
