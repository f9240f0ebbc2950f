// The hand-written encoders of the request path's messages write exactly the bytes
// protobufjs writes, and hand anything unusual back to protobufjs (size -1).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DIRECT_ENCODERS, messageType, varintSize, writeVarint } from '../../src/codec/index.js';
import type { DirectEncoder, EnvelopeKind } from '../../src/codec/index.js';
import { messageArbitrary } from './schema-arbitrary.js';

const TYPE_OF: Record<string, string> = {
  clientGet: 'ClientGet',
  clientGetReply: 'ClientGetReply',
  clientPut: 'ClientPut',
  clientPutReply: 'ClientPutReply',
  replicaWrite: 'ReplicaWrite',
  replicaWriteReply: 'ReplicaWriteReply',
  replicaWrites: 'ReplicaWrites',
  replicaRead: 'ReplicaRead',
  replicaReadReply: 'ReplicaReadReply',
};

function direct(kind: string, v: unknown): Buffer | undefined {
  const e = DIRECT_ENCODERS[kind as EnvelopeKind] as DirectEncoder<unknown>;
  const n = e.size(v);
  if (n < 0) return undefined;
  const buf = Buffer.alloc(n + 8, 0xee);
  const end = e.write(v, buf, 4);
  expect(end - 4).toBe(n);
  expect(buf.subarray(0, 4).every((b) => b === 0xee) && buf.subarray(end).every((b) => b === 0xee)).toBe(true);
  return buf.subarray(4, end);
}

describe('direct encoders', () => {
  it('cover the request path, and only it', () => {
    expect(Object.keys(DIRECT_ENCODERS).sort()).toEqual(Object.keys(TYPE_OF).sort());
  });

  for (const [kind, name] of Object.entries(TYPE_OF)) {
    it(`write what protobufjs writes for random ${name}s`, () => {
      const type = messageType(name);
      fc.assert(
        fc.property(messageArbitrary(name), (msg) => {
          const ours = direct(kind, msg);
          expect(ours).toBeDefined();
          expect(Buffer.from(ours!).toString('hex')).toBe(Buffer.from(type.encode(msg).finish()).toString('hex'));
        }),
        { numRuns: 300 },
      );
    });

    it(`write what protobufjs writes for decoded ${name}s (defaults on the prototype)`, () => {
      const type = messageType(name);
      fc.assert(
        fc.property(messageArbitrary(name), (msg) => {
          const bytes = type.encode(msg).finish();
          const decoded = type.decode(bytes);
          expect(Buffer.from(direct(kind, decoded)!).equals(Buffer.from(bytes))).toBe(true);
        }),
        { numRuns: 100 },
      );
    });
  }

  it('hand values protobufjs would convert or refuse back to it', () => {
    const refused: Array<[string, unknown]> = [
      ['clientPut', null],
      ['clientPut', 'x'],
      ['clientPut', { key: 'aGk=' }], // base64 text: protobufjs's business
      ['clientPut', { key: Buffer.from('k'), ttlMs: -1 }],
      ['clientPut', { key: Buffer.from('k'), ttlMs: 2 ** 53 }],
      ['clientPut', { key: Buffer.from('k'), ttlMs: 1.5 }],
      ['clientPut', { key: Buffer.from('k'), w: 2 ** 32 }],
      ['clientPut', { key: Buffer.from('k'), w: '2' }],
      ['clientPut', { key: Buffer.from('k'), forwarded: 1 }],
      ['clientGetReply', { values: [Buffer.from('a'), 'b'] }],
      ['clientGetReply', { values: 'ab' }],
      ['replicaWrite', { key: Buffer.from('k'), hintFor: 'a\uD800b' }], // a lone surrogate
      ['replicaWrite', { key: Buffer.from('k'), relayTo: ['n2', 'a\uD800b'] }],
      ['replicaWrite', { key: Buffer.from('k'), relayTo: 'n2' }],
      ['replicaWrite', { key: Buffer.from('k'), set: { siblings: [null] } }],
      ['replicaWrite', { key: Buffer.from('k'), set: { siblings: [{ dot: Buffer.alloc(16), expiresAt: -5 }] } }],
      ['replicaWrite', { key: Buffer.from('k'), set: { siblings: {} } }],
      ['replicaReadReply', { found: true, set: { clock: [1, 2] } }],
      ['clientPutReply', { context: Buffer.from('c'), $unknowns: [Buffer.from([0x10, 1])] }],
    ];
    for (const [kind, v] of refused) expect(direct(kind, v), `${kind} ${JSON.stringify(v)}`).toBeUndefined();
  });

  it('writes varints as protobufjs does, up to 2^53 - 1', () => {
    const writer = messageType('Sibling');
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49, 2 ** 53 - 1]) {
      const buf = Buffer.alloc(10);
      const end = writeVarint(buf, 0, n);
      expect(end).toBe(varintSize(n));
      // expires_at (field 4) is a uint64: its bytes after the tag are the varint.
      const ref = Buffer.from(writer.encode({ expiresAt: n }).finish());
      if (n !== 0) expect(buf.subarray(0, end).equals(ref.subarray(1))).toBe(true);
    }
  });
});
