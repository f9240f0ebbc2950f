// Unit tests of the transport's small parts: framing, backoff, envelope bodies, proofs.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../src/transport/framing.js';
import { FrameOutbox } from '../../src/transport/outbox.js';
import { backoffDelay } from '../../src/transport/backoff.js';
import { bodyOf, decodeEnvelope, encodeEnvelope } from '../../src/transport/body.js';
import type { Body, DecodedEnvelope } from '../../src/transport/body.js';
import { helloPayload, proofPayload, proofValid, transcript } from '../../src/transport/handshake.js';
import { Keyring } from '../../src/transport/keyring.js';
import { EnvelopeCodec } from '../../src/codec/index.js';
import { frame } from './helpers.js';

function collect(limit = 1 << 20) {
  const frames: Buffer[] = [];
  const oversized: number[] = [];
  const d = new FrameDecoder({ frame: (p) => frames.push(Buffer.from(p)), oversize: (n) => oversized.push(n) }, limit);
  return { d, frames, oversized };
}

describe('FrameDecoder', () => {
  const payloads = [Buffer.alloc(0), randomBytes(1), randomBytes(3), randomBytes(300), randomBytes(5000)];
  const stream = Buffer.concat(payloads.map(frame));

  const same = (frames: Buffer[]) => frames.length === payloads.length && frames.every((f, i) => f.equals(payloads[i]!));

  it('yields the same frames however the stream is split', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { d, frames } = collect();
      d.push(stream.subarray(0, cut));
      d.push(stream.subarray(cut));
      if (!same(frames)) expect.fail(`split at ${cut}`);
    }
    const { d, frames } = collect();
    for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1));
    expect(same(frames)).toBe(true);
  });

  it('stops at a length over the limit, before allocating it', () => {
    const { d, frames, oversized } = collect(1000);
    d.push(Buffer.concat([frame(Buffer.alloc(10)), frame(Buffer.alloc(1001)), frame(Buffer.alloc(5))]));
    expect(frames).toHaveLength(1);
    expect(oversized).toEqual([1001]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('pauses mid-chunk and delivers the rest on resume, in order', () => {
    const frames: number[] = [];
    const d: FrameDecoder = new FrameDecoder(
      {
        frame: (p) => {
          frames.push(p[0]!);
          if (frames.length === 2) d.pause();
        },
        oversize: () => {},
      },
      100,
    );
    d.push(Buffer.concat([1, 2, 3, 4].map((i) => frame(Buffer.of(i)))));
    expect(frames).toEqual([1, 2]);
    d.push(frame(Buffer.of(5))); // arrives while paused: kept
    expect(frames).toEqual([1, 2]);
    d.resume();
    expect(frames).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('backoffDelay', () => {
  it('doubles from minMs up to maxMs, jittered between half and all of it', () => {
    const o = { minMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 50].map((f) => backoffDelay(f, o, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 5].map((f) => backoffDelay(f, o, () => 0))).toEqual([50, 100, 500]);
  });
});

describe('envelope bodies', () => {
  const decoded = () => ({ id: 0, kind: undefined, value: undefined }) as DecodedEnvelope;

  it('encodes a body under an id as an Envelope and decodes it back', () => {
    const body: Body = { kind: 'clientDelete', value: { key: Buffer.from('k'), context: Buffer.from([1, 0]), w: 2, forwarded: true } };
    const bytes = encodeEnvelope(42, body);
    expect(EnvelopeCodec.decode(bytes)).toMatchObject({ id: 42, body: 'clientDelete', clientDelete: { w: 2, forwarded: true } });
    const d = decodeEnvelope(bytes, decoded());
    expect(d.id).toBe(42);
    expect(bodyOf(d)).toMatchObject({ kind: 'clientDelete', value: { w: 2, forwarded: true } });
    // The shared writer is left clean: the next frame carries only its own body.
    const next = EnvelopeCodec.decode(encodeEnvelope(1, { kind: 'ringRequest', value: {} }));
    expect(next.body).toBe('ringRequest');
    expect(next.clientDelete).toBeFalsy();
  });

  it('reads the same id and kind as EnvelopeCodec.decode on odd but valid input', () => {
    const cases = [
      Buffer.alloc(0), // nothing: id 0, no body
      Buffer.from([0x08, 0x07, 0x9a, 0x06, 0x02, 0x68, 0x69]), // unknown field 99
      Buffer.from([0x08, 0x01, 0x08, 0x05, 0xf2, 0x02, 0x00]), // id twice: the last wins; ringRequest (46)
      Buffer.from([0xf2, 0x02, 0x00, 0x08, 0x03]), // body before id
      Buffer.from([0x0d, 1, 2, 3, 4, 0xf2, 0x02, 0x00]), // field 1 as fixed32: skipped
      Buffer.from([0xf0, 0x02, 0x05]), // field 46 as a varint: skipped, no body
      Buffer.concat([encodeEnvelope(9, { kind: 'ringRequest', value: {} }), encodeEnvelope(0, { kind: 'clientGet', value: { key: Buffer.from('a'), r: 1 } })]),
    ];
    for (const c of cases) {
      const ref = EnvelopeCodec.decode(c);
      const d = decodeEnvelope(c, decoded());
      expect({ id: d.id, kind: d.kind }).toEqual({ id: ref.id, kind: ref.body });
    }
  });

  it('throws on malformed bytes and survives error recovery in the encoder', () => {
    for (const c of [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0xf2, 0x02, 0x05, 0x00]), Buffer.from([0x00]), Buffer.alloc(100, 0x1b)]) {
      expect(() => decodeEnvelope(c, decoded())).toThrow();
    }
    const explosive = {
      protocol: 1,
      nodeId: '',
      get nonce(): Uint8Array {
        throw new Error('boom'); // fails half-way through a frame
      },
    };
    expect(() => encodeEnvelope(1, { kind: 'hello', value: explosive })).toThrow('boom');
    const ok = decodeEnvelope(encodeEnvelope(3, { kind: 'ringRequest', value: {} }), decoded());
    expect([ok.id, ok.kind]).toEqual([3, 'ringRequest']);
  });

  it('refuses unknown kinds and non-object values', () => {
    expect(() => encodeEnvelope(1, { kind: 'nope', value: {} } as unknown as Body)).toThrow(TypeError);
    expect(() => encodeEnvelope(1, { kind: 'ringRequest', value: null } as unknown as Body)).toThrow(TypeError);
  });
});

describe('handshake proofs', () => {
  const ring = Keyring.random();
  const client = helloPayload('');
  const server = helloPayload('s1');
  const proofOf = (p: Uint8Array) => EnvelopeCodec.decode(p).helloProof!;

  it('accepts a proof made with any accepted key', () => {
    const p = proofOf(proofPayload(ring, 'server', client, server));
    expect(proofValid(ring, p, 'server', client, server)).toBe(true);
    const oldKey = randomBytes(32);
    const rotated = new Keyring(randomBytes(32), [oldKey]);
    const withOld = new Keyring(oldKey);
    expect(proofValid(rotated, proofOf(proofPayload(withOld, 'client', server, client)), 'client', server, client)).toBe(true);
  });

  it('rejects a reflected proof, a replayed one and a foreign key', () => {
    const p = proofOf(proofPayload(ring, 'server', client, server));
    expect(proofValid(ring, p, 'client', client, server)).toBe(false); // reflected: wrong role
    expect(proofValid(ring, p, 'server', helloPayload(''), server)).toBe(false); // another session's nonce
    expect(proofValid(Keyring.random(), p, 'server', client, server)).toBe(false);
  });

  it('builds the transcript byte by byte as documented', () => {
    const t = transcript('client', Buffer.from([1, 2]), Buffer.from([3]));
    expect(t.toString('hex')).toBe(
      Buffer.from('shoal rpc handshake v1\0client\0', 'latin1').toString('hex') + '00000002' + '0102' + '00000001' + '03',
    );
  });
});

describe('FrameOutbox', () => {
  /** A socket that records what is written to it. */
  function fakeSocket() {
    const writes: Buffer[] = [];
    const socket = Object.assign(new EventEmitter(), {
      writableLength: 0,
      write: (b: Buffer) => {
        writes.push(Buffer.from(b));
        return true;
      },
    });
    return { socket: socket as unknown as Socket, writes };
  }
  const turn = () => new Promise((r) => setImmediate(r));

  it('frames queued in separate callbacks of one loop iteration leave in one write', async () => {
    const { socket, writes } = fakeSocket();
    let counted = 0;
    const out = new FrameOutbox(socket, (frames) => (counted += frames));
    out.push(Buffer.from('a'));
    process.nextTick(() => out.push(Buffer.from('b')));
    void Promise.resolve().then(() => out.push(Buffer.from('c')));
    await turn();
    expect(writes).toHaveLength(1);
    // 'a' first; 'b' and 'c' in the order the event loop ran their callbacks.
    const bc = Buffer.concat([frame(Buffer.from('b')), frame(Buffer.from('c'))]);
    const cb = Buffer.concat([frame(Buffer.from('c')), frame(Buffer.from('b'))]);
    const rest = writes[0]!.subarray(frame(Buffer.from('a')).length);
    expect(writes[0]!.subarray(0, 5)).toEqual(frame(Buffer.from('a')));
    expect(rest.equals(bc) || rest.equals(cb)).toBe(true);
    expect(counted).toBe(3);
  });

  it('handshake frames (soon) leave at the end of the turn, taking queued frames with them', async () => {
    const { socket, writes } = fakeSocket();
    const out = new FrameOutbox(socket, () => {});
    out.push(Buffer.from('x'));
    out.push(Buffer.from('hello'), true);
    await new Promise((r) => process.nextTick(r));
    expect(writes).toEqual([Buffer.concat([frame(Buffer.from('x')), frame(Buffer.from('hello'))])]);
    await turn();
    expect(writes).toHaveLength(1);
  });
});
