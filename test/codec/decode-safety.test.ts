// What decoding does with bytes no encoder would produce. Every decode either returns
// a message or throws a RangeError naming the message; it never crashes the process,
// never hangs, never reads beyond its input, and its cost is linear in the input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  codecFor,
  EnvelopeCodec,
  GossipPacketCodec,
  MemberCodec,
  MemberStatus,
  SiblingSetCodec,
} from '../../src/codec/index.js';
import type { ClientGetReply, MessageCodec } from '../../src/codec/index.js';
import { allMessageNames, messageArbitrary } from './schema-arbitrary.js';
import { cat, EGROUP, I32, I64, LEN, lenField, SGROUP, tag, varint, VARINT, varintField } from './wire-bytes.js';

type AnyCodec = Pick<MessageCodec<unknown>, 'name' | 'decode'>;

/** Decodes, and checks that a failure is the documented RangeError (plain checks: this runs ~10^5 times). */
function decodeOrReject(codec: AnyCodec, bytes: Uint8Array): 'ok' | 'rejected' {
  try {
    codec.decode(bytes);
    return 'ok';
  } catch (err) {
    if (!(err instanceof RangeError) || !err.message.startsWith(`malformed shoal.${codec.name}: `)) {
      throw new Error(`shoal.${codec.name} threw something else for ${Buffer.from(bytes).toString('hex')}`, { cause: err });
    }
    return 'rejected';
  }
}

function rejection(codec: AnyCodec, bytes: Uint8Array): string {
  try {
    codec.decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(RangeError);
    return (err as Error).message;
  }
  throw new Error(`expected shoal.${codec.name} to reject ${Buffer.from(bytes).toString('hex')}`);
}

/** Plausible garbage: fields of any number and wire type, nested, with lengths that may lie. */
const wireGarbage = fc.letrec<{ message: Uint8Array; field: Uint8Array }>((tie) => ({
  message: fc.array(tie('field'), { maxLength: 6 }).map((fields) => Buffer.concat(fields)),
  field: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.integer({ min: 0, max: 60 }), fc.bigInt({ min: 0n, max: (1n << 70n) - 1n })).map(([f, v]) => varintField(f, v)),
    fc.tuple(fc.integer({ min: 0, max: 60 }), tie('message')).map(([f, m]) => lenField(f, m)),
    fc
      .tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2 ** 32 }), fc.uint8Array({ maxLength: 24 }))
      .map(([f, len, body]) => cat(tag(f, LEN), varint(len), body)),
    fc
      .tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 12 }))
      .map(([f, w, body]) => cat(tag(f, w), body)),
  ),
})).message;

const ALL = allMessageNames();

describe('decoding untrusted bytes', () => {
  it('random bytes: every message type returns or throws RangeError (tens of thousands of inputs)', () => {
    let rejected = 0;
    let total = 0;
    for (const name of ALL) {
      const codec = codecFor<Record<string, unknown>>(name);
      const runs = ['Envelope', 'GossipPacket', 'SiblingSet', 'PushPull', 'HintRecord'].includes(name) ? 8000 : 1000;
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          total++;
          if (decodeOrReject(codec, bytes) === 'rejected') rejected++;
        }),
        { numRuns: runs },
      );
    }
    expect(total).toBeGreaterThanOrEqual(40_000);
    // Most random bytes are malformed, but not all: both outcomes are exercised.
    expect(rejected).toBeGreaterThan(total / 2);
    expect(rejected).toBeLessThan(total);
  });

  it('structured garbage (nested fields, lying lengths, every wire type) returns or throws RangeError', () => {
    for (const name of ['Envelope', 'GossipPacket', 'SiblingSet', 'PushPull', 'HintRecord', 'RingReply']) {
      const codec = codecFor<Record<string, unknown>>(name);
      fc.assert(
        fc.property(wireGarbage, (bytes) => {
          decodeOrReject(codec, bytes);
        }),
        { numRuns: 4000 },
      );
    }
  });

  it('every prefix and every one-byte mutation of a valid message returns or throws RangeError', () => {
    for (const name of ['Envelope', 'GossipPacket', 'SiblingSet']) {
      const codec = codecFor<Record<string, unknown>>(name);
      fc.assert(
        fc.property(messageArbitrary(name), fc.nat(), fc.integer({ min: 0, max: 255 }), (msg, at, byte) => {
          const bytes = Buffer.from(codec.encode(msg));
          for (let n = 0; n < bytes.length; n++) decodeOrReject(codec, bytes.subarray(0, n));
          if (bytes.length > 0) {
            const mutated = Buffer.from(bytes);
            mutated[at % bytes.length] = byte;
            decodeOrReject(codec, mutated);
          }
        }),
        { numRuns: 150 },
      );
    }
  });

  it('a message cut inside a length-delimited field is rejected', () => {
    const env = EnvelopeCodec.encode({
      id: 300,
      clientPut: { key: Buffer.from('key'), value: Buffer.alloc(200, 1), context: Buffer.alloc(40, 2), ttlMs: 0, w: 0, forwarded: false },
    });
    const idEnd = 3; // 08 ac 02
    for (let n = idEnd + 1; n < env.length; n++) {
      expect(rejection(EnvelopeCodec, env.subarray(0, n))).toMatch(/index out of range/);
    }
    expect(EnvelopeCodec.decode(env.subarray(0, idEnd)).id).toBe(300);
  });

  it('rejects a declared length beyond the input, at any depth, without reading past it', () => {
    // bytes field `clock` claiming 1000 bytes, 3 present
    expect(rejection(SiblingSetCodec, cat(tag(1, LEN), varint(1000), Buffer.from([1, 2, 3])))).toMatch(/index out of range/);
    // lengths of 2^31 and more are refused as such
    expect(rejection(SiblingSetCodec, cat(tag(1, LEN), varint(2 ** 32 - 1)))).toMatch(/invalid length encoding/);
    expect(rejection(SiblingSetCodec, cat(tag(1, LEN), varint(2 ** 31 - 1)))).toMatch(/index out of range/);
    // a Sibling of 10 bytes whose `value` claims 20: within the buffer, beyond its message
    const inner = cat(tag(2, LEN), varint(20), Buffer.alloc(8));
    const outer = cat(lenField(2, inner), Buffer.alloc(40));
    expect(rejection(SiblingSetCodec, outer)).toMatch(/index out of range/);
    // a view into a larger buffer: bytes beyond the view are not the message's
    const backing = Buffer.alloc(64, 0x41);
    const view = backing.subarray(0, 2);
    view.set(cat(tag(1, LEN), varint(30)));
    expect(rejection(SiblingSetCodec, view)).toMatch(/index out of range/);
  });

  it('rejects field number 0, wire types 6 and 7, a stray end-group and over-long varints', () => {
    const S = SiblingSetCodec;
    expect(rejection(S, Buffer.from([0x00, 0x01]))).toMatch(/field number 0/);
    expect(rejection(S, Buffer.from([0x02, 0x00]))).toMatch(/field number 0/);
    expect(rejection(S, cat(tag(9, 6), Buffer.alloc(8)))).toMatch(/wire type 6/);
    expect(rejection(S, cat(tag(9, 7), Buffer.alloc(8)))).toMatch(/wire type 7/);
    expect(rejection(S, tag(9, EGROUP))).toMatch(/wire type 4/);
    expect(rejection(S, Buffer.alloc(6, 0xff))).toMatch(/tag|range/);
    // a varint of more than 10 bytes in a known field is rejected ...
    const long = cat(Buffer.alloc(11, 0xff), Buffer.from([0x01]));
    expect(rejection(MemberCodec, cat(tag(3, VARINT), long))).toMatch(/invalid varint encoding/);
    // ... and skipped, like any unknown field, when the field is unknown
    expect(S.decode(cat(tag(9, VARINT), long, lenField(1, Buffer.from([1, 0])))).clock).toEqual(Buffer.from([1, 0]));
  });

  it('skips well-formed groups of unknown fields, rejects unterminated or mismatched ones, and bounds their depth', () => {
    const S = SiblingSetCodec;
    const group = (depth: number): Buffer => {
      let b: Buffer = Buffer.alloc(0);
      for (let i = 0; i < depth; i++) b = cat(tag(9, SGROUP), b, tag(9, EGROUP));
      return b;
    };
    expect(S.decode(cat(group(50), lenField(1, Buffer.from([1, 0])))).clock).toEqual(Buffer.from([1, 0]));
    expect(rejection(S, group(150))).toMatch(/max depth exceeded/);
    expect(rejection(S, cat(tag(9, SGROUP), varintField(3, 1)))).toMatch(/index out of range/);
    expect(rejection(S, cat(tag(9, SGROUP), tag(8, EGROUP)))).toMatch(/end group/);
  });

  it('a known field with the wrong wire type is skipped as unknown: the field keeps its default', () => {
    // ClientGet.key (1) as a varint, r (2) as fixed32
    const get = codecFor<{ key: Uint8Array; r: number }>('ClientGet');
    const m = get.decode(cat(varintField(1, 77), tag(2, I32), Buffer.alloc(4, 9)));
    expect(Buffer.isBuffer(m.key) && m.key.length === 0).toBe(true);
    expect(m.r).toBe(0);
    // Member.port (3) as length-delimited, then a good id
    const member = MemberCodec.decode(cat(lenField(3, Buffer.from('x')), lenField(1, Buffer.from('n1'))));
    expect(member.port).toBe(0);
    expect(member.id).toBe('n1');
  });

  it('skips unknown fields of every wire type and does not re-encode them', () => {
    const known = SiblingSetCodec.encode({ clock: Buffer.from([1, 0]), siblings: [] });
    const unknown = cat(varintField(50, 1), tag(51, I64), Buffer.alloc(8), lenField(52, Buffer.alloc(30)), tag(53, I32), Buffer.alloc(4), tag(54, SGROUP), varintField(1, 5), tag(54, EGROUP));
    const s = SiblingSetCodec.decode(cat(unknown, known, unknown));
    expect(s.clock).toEqual(Buffer.from([1, 0]));
    expect(Buffer.from(SiblingSetCodec.encode(s)).equals(Buffer.from(known))).toBe(true);
  });

  it('an Envelope whose body is a kind unknown to this version decodes with body undefined', () => {
    const future = cat(varintField(1, 7), lenField(99, EnvelopeCodec.encode({ id: 1, ringRequest: {} })));
    const env = EnvelopeCodec.decode(future);
    expect(env.id).toBe(7);
    expect(env.body).toBeUndefined();
    // also when the unknown member is not length-delimited
    expect(EnvelopeCodec.decode(cat(varintField(1, 8), varintField(98, 5))).body).toBeUndefined();
    // a GossipPacket with a newer body member still yields its updates
    const p = GossipPacketCodec.decode(cat(lenField(1, Buffer.from('a')), lenField(6, Buffer.from([8, 1])), lenField(10, lenField(1, Buffer.from('b')))));
    expect(p.body).toBeUndefined();
    expect(p.from).toBe('a');
    expect(p.updates.map((u) => u.id)).toEqual(['b']);
  });

  it('of two oneof members the last on the wire wins; a repeated message field merges', () => {
    const twoBodies = cat(varintField(1, 1), lenField(46, Buffer.alloc(0)), lenField(40, lenField(1, Buffer.from('k'))));
    const env = EnvelopeCodec.decode(twoBodies);
    expect(env.body).toBe('clientGet');
    expect(env.ringRequest).toBeNull(); // an absent message field reads as null (its prototype default)
    // the same singular message field twice: protobuf merges the two
    const e = EnvelopeCodec.decode(cat(lenField(2, varintField(1, 3)), lenField(2, lenField(2, Buffer.from('m')))));
    expect(e.error).toMatchObject({ code: 3, message: 'm' });
    // the same scalar twice: the last wins
    expect(EnvelopeCodec.decode(cat(varintField(1, 5), varintField(1, 6))).id).toBe(6);
  });

  it('enum values unknown to this version are kept as numbers (callers validate them)', () => {
    const m = MemberCodec.decode(cat(lenField(1, Buffer.from('n')), varintField(8, 9), varintField(9, 70)));
    expect(m.status).toBe(9);
    expect(m.ringStatus).toBe(70);
    expect(Object.values(MemberStatus)).not.toContain(m.status);
  });

  it('rejects strings that are not valid UTF-8 (proto3 verifies them), short or long', () => {
    const bad = Buffer.from([0x61, 0xff, 0xfe, 0x62]);
    expect(rejection(MemberCodec, lenField(1, bad))).toMatch(/not valid for encoding utf-8/);
    expect(rejection(MemberCodec, lenField(2, cat(Buffer.alloc(100, 0x61), bad)))).toMatch(/utf-8/);
    // a lone surrogate encoded as UTF-8 (CESU-style) is not UTF-8 either
    expect(rejection(MemberCodec, lenField(1, Buffer.from([0xed, 0xa0, 0x80])))).toMatch(/utf-8/);
    expect(MemberCodec.decode(lenField(1, Buffer.from('nœud-✓-🐟'))).id).toBe('nœud-✓-🐟');
  });

  it('huge repeated fields: no element limit, cost linear in the input (bounded by the frame limit)', () => {
    // 64K empty siblings in 128 KiB: each becomes an object. The frame or datagram
    // limit is what bounds this (docs/protocol.md, "Limits").
    const n = 65_536;
    const bytes = Buffer.alloc(2 * n);
    for (let i = 0; i < n; i++) bytes.set([0x12, 0x00], 2 * i); // field 2 (siblings), length 0
    expect(SiblingSetCodec.decode(bytes).siblings).toHaveLength(n);
    // repeated bytes elements too
    const values = Buffer.alloc(2 * n);
    for (let i = 0; i < n; i++) values.set([0x0a, 0x00], 2 * i);
    const reply = codecFor<ClientGetReply>('ClientGetReply').decode(values);
    expect(reply.values).toHaveLength(n);
    expect(reply.values.every((v) => Buffer.isBuffer(v) && v.length === 0)).toBe(true);
    // an element whose declared length runs past the input fails before anything is kept
    expect(rejection(SiblingSetCodec, cat(bytes.subarray(0, 20), tag(2, LEN), varint(1 << 30)))).toMatch(/index out of range/);
  });

  it('throws TypeError for input that is not a Uint8Array', () => {
    const bad = EnvelopeCodec as unknown as { decode(x: unknown): unknown };
    for (const x of ['0801', null, undefined, 17, [8, 1], new ArrayBuffer(2), { length: 2 }]) {
      expect(() => bad.decode(x)).toThrow(TypeError);
    }
  });
});
