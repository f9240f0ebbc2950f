import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  codecFor,
  EnvelopeCodec,
  GossipPacketCodec,
  HintRecordCodec,
  MemberCodec,
  MemberStatus,
  MemberUpdateCodec,
  PushPullCodec,
  RingStateCodec,
  RingStatus,
  SiblingSetCodec,
  WireErrorCode,
} from '../../src/codec/index.js';
import type { Envelope, GossipPacket, SiblingSet } from '../../src/codec/index.js';
import { allMessageNames, fullView, messageArbitrary, typeProblems } from './schema-arbitrary.js';

describe('codec round trip', () => {
  // Every message of the schema, so that a message added to proto/shoal.proto is covered.
  it.each(allMessageNames())('%s: decode(encode(m)) equals m, with decoded JavaScript types', (name) => {
    const codec = codecFor<Record<string, unknown>>(name);
    fc.assert(
      fc.property(messageArbitrary(name), (msg) => {
        const bytes = codec.encode(msg);
        expect(Buffer.isBuffer(bytes)).toBe(true);
        const back = codec.decode(bytes);
        expect(fullView(name, back)).toEqual(fullView(name, msg));
        expect(typeProblems(name, back)).toEqual([]);
        // Encoding is deterministic and a decoded message re-encodes to the same bytes.
        expect(Buffer.from(codec.encode(back)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the named codecs are the codecs of their messages', () => {
    const named = {
      SiblingSet: SiblingSetCodec,
      HintRecord: HintRecordCodec,
      Member: MemberCodec,
      MemberUpdate: MemberUpdateCodec,
      GossipPacket: GossipPacketCodec,
      PushPull: PushPullCodec,
      RingState: RingStateCodec,
      Envelope: EnvelopeCodec,
    };
    for (const [name, codec] of Object.entries(named)) {
      expect(codec.name).toBe(name);
      expect(codecFor(name)).toBe(codec);
    }
    expect(() => codecFor('NoSuchMessage')).toThrow();
  });

  it('decodes an empty input as the all-defaults message, every bytes field an empty Buffer', () => {
    const s = SiblingSetCodec.decode(Buffer.alloc(0));
    expect(Buffer.isBuffer(s.clock)).toBe(true);
    expect(s.clock.length).toBe(0);
    expect(s.siblings).toEqual([]);
    const e = EnvelopeCodec.decode(new Uint8Array(0));
    expect(e.id).toBe(0);
    expect(e.body).toBeUndefined();
    const p = GossipPacketCodec.decode(Buffer.alloc(0));
    expect(p.from).toBe('');
    expect(p.body).toBeUndefined();
    expect(Buffer.isBuffer(p.viewChecksum)).toBe(true);
    expect(p.updates).toEqual([]);
  });

  it('an absent bytes field inside a nested message also decodes to an empty Buffer', () => {
    const bytes = SiblingSetCodec.encode({ clock: Buffer.from([1, 0]), siblings: [{ tombstone: true } as never] });
    const s = SiblingSetCodec.decode(bytes);
    expect(s.siblings).toHaveLength(1);
    const sib = s.siblings[0]!;
    expect(sib.tombstone).toBe(true);
    expect(Buffer.isBuffer(sib.dot) && sib.dot.length === 0).toBe(true);
    expect(Buffer.isBuffer(sib.value) && sib.value.length === 0).toBe(true);
    expect(sib.expiresAt).toBe(0);
  });

  it('64-bit fields decode as exact numbers up to 2^53 - 1', () => {
    for (const t of [0, 1, 127, 128, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 1_764_000_000_000, Number.MAX_SAFE_INTEGER]) {
      const s = SiblingSetCodec.decode(
        SiblingSetCodec.encode({ clock: Buffer.alloc(0), siblings: [{ dot: Buffer.alloc(16), value: Buffer.from('v'), tombstone: false, expiresAt: t, writtenAt: t }] }),
      );
      expect(typeof s.siblings[0]!.expiresAt).toBe('number');
      expect(s.siblings[0]!.expiresAt).toBe(t);
      expect(s.siblings[0]!.writtenAt).toBe(t);
    }
  });

  it('uint64 values at or beyond 2^53 still decode as numbers, rounded (the .proto keeps them below)', () => {
    // field 7 (incarnation), varint 2^64 - 1: ten bytes ff ff ff ff ff ff ff ff ff 01
    const bytes = Buffer.from([0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const m = MemberCodec.decode(bytes);
    expect(typeof m.incarnation).toBe('number');
    expect(m.incarnation).toBe(2 ** 64);
  });

  it('decodes an Envelope carrying each kind, with `body` naming it', () => {
    const value = Buffer.alloc(200, 7);
    const context = Buffer.alloc(40, 1);
    const cases: Envelope[] = [
      { id: 1, clientPut: { key: Buffer.from('k'), value, context, ttlMs: 60_000, w: 2, forwarded: false } },
      { id: 2, error: { code: WireErrorCode.TIMEOUT, message: 'slow' } },
      { id: 3, ringRequest: {} },
      { id: 4, clientDeleteReply: {} },
      { id: 0xffffffff, replicaReadReply: { found: true, set: { clock: context, siblings: [] } } },
    ];
    for (const env of cases) {
      const back = EnvelopeCodec.decode(EnvelopeCodec.encode(env));
      const kind = Object.keys(env).find((k) => k !== 'id')!;
      expect(back.id).toBe(env.id);
      expect(back.body).toBe(kind);
    }
    const put = EnvelopeCodec.decode(EnvelopeCodec.encode(cases[0]!)).clientPut!;
    expect(Buffer.isBuffer(put.value) && put.value.equals(value)).toBe(true);
    expect(put.ttlMs).toBe(60_000);
    // `body` is a getter on the prototype: it is not an own property (spreads lose it).
    const decoded = EnvelopeCodec.decode(EnvelopeCodec.encode(cases[1]!));
    expect(Object.keys(decoded)).not.toContain('body');
    expect(decoded.error).toEqual({ code: WireErrorCode.TIMEOUT, message: 'slow' });
  });

  it('keeps the enum values of GossipPacket members', () => {
    const p: GossipPacket = {
      from: 'a',
      ping: { seq: 9, target: 'b' },
      updates: [
        {
          id: 'c',
          incarnation: 4,
          status: MemberStatus.SUSPECT,
          from: 'a',
          member: {
            id: 'c',
            host: '10.0.0.3',
            port: 7000,
            dc: 'dc1',
            rack: 'r1',
            capacity: 2,
            incarnation: 4,
            status: MemberStatus.LEFT,
            ringStatus: RingStatus.LEAVING,
            httpPort: 0,
            protocol: 1,
            statusAt: 1_764_000_000_000,
          },
        },
      ],
      viewChecksum: Buffer.alloc(8, 0xab),
    };
    const back = GossipPacketCodec.decode(GossipPacketCodec.encode(p));
    expect(back.body).toBe('ping');
    expect(back.updates[0]!.status).toBe(MemberStatus.SUSPECT);
    expect(back.updates[0]!.member!.status).toBe(MemberStatus.LEFT);
    expect(back.updates[0]!.member!.ringStatus).toBe(RingStatus.LEAVING);
  });

  it('decodes a plain Uint8Array (not a Buffer) to Buffers that share its memory', () => {
    const set: SiblingSet = { clock: Buffer.from([1, 0]), siblings: [{ dot: Buffer.alloc(16, 3), value: Buffer.from('hello'), tombstone: false, expiresAt: 0, writtenAt: 5 }] };
    const enc = SiblingSetCodec.encode(set);
    const plain = new Uint8Array(enc.length + 10).subarray(5, 5 + enc.length);
    plain.set(enc);
    const back = SiblingSetCodec.decode(plain);
    const value = back.siblings[0]!.value;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(Buffer.from(value).toString()).toBe('hello');
    // The contract callers rely on: decoded bytes are views; overwrite the input and they change.
    plain.fill(0);
    expect(Buffer.from(value).toString()).not.toBe('hello');
  });
});
