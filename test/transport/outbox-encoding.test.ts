// FrameOutbox.pushBody: envelopes encoded straight into the outbox's buffer leave as
// the same frames encodeEnvelope would make, across buffer replacements, blocked
// sockets, big frames and the frame limit; bytes already handed to the socket are
// never overwritten.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { FrameOutbox } from '../../src/transport/outbox.js';
import { encodeEnvelope } from '../../src/transport/body.js';
import type { Body } from '../../src/transport/body.js';
import { frame } from './helpers.js';

/** A socket that keeps the buffers it is given (not copies), as a real one may until they are sent. */
function keepingSocket(accept = () => true) {
  const writes: Buffer[] = [];
  const socket = Object.assign(new EventEmitter(), {
    writableLength: 0,
    write: (b: Buffer) => {
      writes.push(b);
      return accept();
    },
  });
  return { socket: socket as unknown as Socket, writes };
}
const turn = () => new Promise((r) => setImmediate(r));

function put(i: number, valueBytes: number): Body {
  return {
    kind: 'clientPut',
    value: { key: Buffer.from(`key:${i}`), value: randomBytes(valueBytes), context: Buffer.alloc(0), ttlMs: i, w: 2, forwarded: false },
  };
}

describe('FrameOutbox.pushBody', () => {
  it('writes the frames encodeEnvelope makes, and never changes bytes already written', async () => {
    const { socket, writes } = keepingSocket();
    const out = new FrameOutbox(socket, () => {});
    const expected: Buffer[] = [];
    const snapshots: Buffer[] = [];
    let id = 1;
    // Rounds of growing and shrinking sizes, so buffers are kept, filled and replaced.
    for (const [count, size] of [
      [3, 10],
      [40, 200],
      [1, 100_000],
      [5, 300],
      [200, 50],
      [2, 10],
    ] as const) {
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const body: Body =
          i % 3 === 2
            ? { kind: 'replicaWrite', value: { key: Buffer.from('k'), set: { clock: Buffer.from([1, 0]), siblings: [] }, hintFor: 'n2' } }
            : put(i, size);
        out.pushBody(id, body, 1 << 20);
        frames.push(frame(encodeEnvelope(id, body)));
        id++;
      }
      out.push(Buffer.from('raw')); // a pre-encoded frame between encoded ones
      frames.push(frame(Buffer.from('raw')));
      await turn();
      expected.push(Buffer.concat(frames));
      snapshots.push(Buffer.from(writes[writes.length - 1]!));
    }
    expect(writes).toHaveLength(expected.length);
    for (let i = 0; i < writes.length; i++) {
      expect(writes[i]!.equals(expected[i]!), `flush ${i}`).toBe(true);
      expect(writes[i]!.equals(snapshots[i]!), `flush ${i} overwritten later`).toBe(true);
    }
  });

  it('keeps frames in order while the socket is blocked, and counts them as queued', async () => {
    let blocked = true;
    const { socket, writes } = keepingSocket(() => !blocked);
    let frames = 0;
    const out = new FrameOutbox(socket, (f) => (frames += f));
    out.pushBody(1, put(1, 10), 1 << 20);
    await turn();
    expect(out.isBlocked).toBe(true);
    const bodies = Array.from({ length: 500 }, (_, i) => put(i, 100));
    bodies.forEach((b, i) => out.pushBody(i + 2, b, 1 << 20));
    const want = Buffer.concat(bodies.map((b, i) => frame(encodeEnvelope(i + 2, b))));
    expect(out.queuedBytes).toBe(want.length);
    await turn();
    expect(writes).toHaveLength(1); // nothing while blocked
    blocked = false;
    socket.emit('drain');
    expect(writes).toHaveLength(2);
    expect(writes[1]!.equals(want)).toBe(true);
    expect(frames).toBe(501);
    expect(out.queuedBytes).toBe(0);
  });

  it('does not queue a frame over the limit, and reports its size', async () => {
    const { socket, writes } = keepingSocket();
    const out = new FrameOutbox(socket, () => {});
    const big = put(1, 2000);
    const size = out.pushBody(7, big, 1000);
    expect(size).toBe(encodeEnvelope(7, big).length);
    // Through protobufjs (a value the direct encoder hands back) as well.
    const odd: Body = { kind: 'ringReply', value: { partitions: 1, checksum: randomBytes(2000), members: [], owners: [], n: 3 } };
    expect(out.pushBody(8, odd, 1000)).toBe(encodeEnvelope(8, odd).length);
    expect(out.queuedBytes).toBe(0);
    await turn();
    expect(writes).toHaveLength(0);
  });

  it('queues nothing when encoding throws', async () => {
    const { socket, writes } = keepingSocket();
    const out = new FrameOutbox(socket, () => {});
    const explosive = {
      key: Buffer.from('k'),
      get value(): Uint8Array {
        throw new Error('boom');
      },
    };
    expect(() => out.pushBody(1, { kind: 'clientPut', value: explosive } as unknown as Body, 1 << 20)).toThrow('boom');
    let calls = 0;
    const shifty = {
      get key(): Uint8Array {
        return Buffer.alloc(++calls === 1 ? 3 : 5); // a different size when written
      },
    };
    expect(() => out.pushBody(2, { kind: 'clientGet', value: shifty } as unknown as Body, 1 << 20)).toThrow(TypeError);
    out.pushBody(3, { kind: 'clientGet', value: { key: Buffer.from('ok'), r: 1 } }, 1 << 20);
    await turn();
    expect(writes).toEqual([frame(encodeEnvelope(3, { kind: 'clientGet', value: { key: Buffer.from('ok'), r: 1 } }))]);
  });
});
