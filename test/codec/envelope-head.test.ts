import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvelopeCodec, envelopeFieldOf, messageType, peekEnvelope } from '../../src/codec/index.js';
import type { Envelope, EnvelopeKind } from '../../src/codec/index.js';
import { messageArbitrary } from './schema-arbitrary.js';
import { cat, I32, lenField, tag, varint, varintField } from './wire-bytes.js';

const KINDS = messageType('Envelope').oneofs['body']!.oneof as EnvelopeKind[];

describe('peekEnvelope', () => {
  it('agrees with the decoder on id and kind for random envelopes', () => {
    fc.assert(
      fc.property(messageArbitrary('Envelope'), (msg) => {
        const bytes = EnvelopeCodec.encode(msg as unknown as Envelope);
        const env = EnvelopeCodec.decode(bytes);
        const head = peekEnvelope(bytes);
        expect(head.id).toBe(env.id);
        expect(head.kind).toBe(env.body);
        expect(head.field).toBe(env.body === undefined ? 0 : envelopeFieldOf(env.body));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the decoder when unknown fields, wrong wire types and repeated members are mixed in', () => {
    const noise = fc.constantFrom(
      varintField(98, 3), // field numbers no message uses (yet)
      lenField(99, Buffer.from('future')),
      cat(tag(42, I32), Buffer.alloc(4)), // a body field number with the wrong wire type: skipped
      lenField(1, Buffer.from([1])), // id with the wrong wire type: skipped
      varintField(1, 12345),
      lenField(46, Buffer.alloc(0)), // ringRequest
      lenField(40, lenField(1, Buffer.from('k'))), // clientGet
    );
    fc.assert(
      fc.property(fc.array(noise, { maxLength: 6 }), (parts) => {
        const bytes = cat(...parts);
        const env = EnvelopeCodec.decode(bytes);
        const head = peekEnvelope(bytes);
        expect(head.id).toBe(env.id);
        expect(head.kind).toBe(env.body);
      }),
      { numRuns: 500 },
    );
  });

  it('reads the id and kind of a frame whose body does not decode', () => {
    // clientPut (42) whose `value` claims more bytes than the body holds
    const body = cat(tag(2, 2), varint(50), Buffer.alloc(3));
    const bytes = cat(varintField(1, 77), lenField(42, body));
    expect(() => EnvelopeCodec.decode(bytes)).toThrow(RangeError);
    expect(peekEnvelope(bytes)).toEqual({ id: 77, kind: 'clientPut', field: 42 });
  });

  it('reports the field number of a body kind newer than this schema', () => {
    const bytes = cat(varintField(1, 5), lenField(99, Buffer.from([8, 1])));
    expect(EnvelopeCodec.decode(bytes).body).toBeUndefined();
    expect(peekEnvelope(bytes)).toEqual({ id: 5, kind: undefined, field: 99 });
    // a known kind after it is what the decoder sees, and so does peek
    expect(peekEnvelope(cat(bytes, lenField(46, Buffer.alloc(0))))).toEqual({ id: 5, kind: 'ringRequest', field: 46 });
    expect(peekEnvelope(Buffer.alloc(0))).toEqual({ id: 0, kind: undefined, field: 0 });
  });

  it('maps every kind to its field number and back', () => {
    expect(KINDS.length).toBeGreaterThan(10);
    for (const kind of KINDS) {
      const field = envelopeFieldOf(kind);
      expect(peekEnvelope(lenField(field, Buffer.alloc(0))).kind).toBe(kind);
    }
    expect(envelopeFieldOf('clientPut')).toBe(42);
  });

  it('throws RangeError when the top level is malformed, TypeError for a non-Uint8Array', () => {
    for (const bad of [cat(varintField(1, 5), tag(42, 2), varint(10)), Buffer.from([0x00]), Buffer.from([0x0f]), Buffer.from([0x08])]) {
      expect(() => peekEnvelope(bad)).toThrow(RangeError);
    }
    expect(() => peekEnvelope('0801' as never)).toThrow(TypeError);
  });

  it('never throws anything but RangeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const head = peekEnvelope(bytes);
          expect(head.kind === undefined || KINDS.includes(head.kind)).toBe(true);
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
