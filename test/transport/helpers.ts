// Test helpers for the TCP transport: condition polling and a hand-driven client
// that speaks the wire protocol byte by byte (to send what RpcPeers never would).
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { EnvelopeCodec } from '../../src/codec/index.js';
import type { Envelope } from '../../src/codec/index.js';
import type { Keyring } from '../../src/transport/keyring.js';
import { FrameDecoder } from '../../src/transport/framing.js';
import { helloPayload, proofPayload, proofValid } from '../../src/transport/handshake.js';

/** Polls `pred` every few ms until it holds; throws after `timeoutMs`. */
export async function waitFor(pred: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A length-prefixed frame. */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** A raw TCP connection that records the frames it receives. */
export class RawClient {
  readonly frames: Envelope[] = [];
  /** The payload bytes of each frame in `frames`, as received. */
  readonly raw: Buffer[] = [];
  /** Frames received; with `keep` false only this is recorded. */
  count = 0;
  keep = true;
  closed = false;
  private constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder(
      {
        frame: (p) => {
          this.count++;
          if (!this.keep) return;
          this.raw.push(Buffer.from(p));
          this.frames.push(EnvelopeCodec.decode(p));
        },
        oversize: () => socket.destroy(),
      },
      1 << 30,
    );
    socket.on('data', (c: Buffer) => decoder.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and completes the handshake with `keyring`, as a client. */
  static async authenticated(port: number, keyring: Keyring): Promise<RawClient> {
    const c = await RawClient.connect(port);
    const own = helloPayload('');
    c.write(frame(own));
    await waitFor(() => c.frames.length >= 2 || c.closed, 'server hello and proof');
    const [hello, proof] = c.frames.splice(0, 2);
    const [theirs] = c.raw.splice(0, 2);
    c.count -= 2;
    if (hello?.body !== 'hello' || proof?.body !== 'helloProof' || !theirs) throw new Error('unexpected handshake frames');
    if (!proofValid(keyring, proof.helloProof!, 'server', own, theirs)) throw new Error('server proof invalid');
    c.write(frame(proofPayload(keyring, 'client', theirs, own)));
    return c;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise((r) => this.socket.once('close', r));
    this.socket.destroy();
    await done;
  }
}
