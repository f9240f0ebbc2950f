import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SiblingSetCodec } from '../../src/codec/index.js';
import type { SiblingSet } from '../../src/codec/index.js';
import { encodeSiblingSet } from '../../src/storage/set-encoding.js';

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
