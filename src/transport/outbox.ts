// Coalesced frame writes: frames queued during one iteration of the event loop
// leave in one socket.write of one buffer, in its check phase (setImmediate), after
// every socket read and timer of the iteration has run: a node answering requests
// from several connections, or a client whose replies arrive on several, writes
// each socket once per iteration instead of once per callback. On this machine a
// write that wakes the other side costs tens of microseconds (docs/performance.md).
// While the socket is over its high-water mark, frames wait here until 'drain', so
// the bytes queued for a peer stay visible and can be bounded by the owner.
import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES } from './framing.js';
import { directSize, encodeEnvelope, writeDirect } from './body.js';
import type { Body } from './body.js';

/** Largest buffer an outbox keeps between flushes (bigger frames get one of their own). */
const KEEP_BYTES = 32 * 1024;
/** Smallest buffer allocated for frames. */
const MIN_BYTES = 2 * 1024;

export class FrameOutbox {
  // Frames are written, header and all, into `buf` from `start` to `end`; a flush
  // hands [start, end) to the socket and moves `start` on. Bytes before `start` may
  // still be held by the socket, so they are never written again: once full, the
  // buffer is replaced, not reused.
  private buf: Buffer | undefined;
  private start = 0;
  private end = 0;
  private frames = 0; // frames in [start, end)
  /** Bytes of the last flush, to size the next buffer. */
  private lastFlush = 0;
  /** A flush is scheduled: at the end of the turn, or in the check phase. */
  private scheduled: false | 'tick' | 'check' = false;
  private blocked = false;
  private closed = false;
  private readonly flushNow = (): void => this.flush();
  /** Told whenever the socket can take more: after a flush that did not block, and on 'drain'. */
  onWritable: (() => void) | undefined;

  /** `written(frames, bytes)` is told what each flush handed to the socket. */
  constructor(
    private readonly socket: Socket,
    private readonly written: (frames: number, bytes: number) => void,
  ) {
    socket.on('drain', () => {
      this.blocked = false;
      this.flush();
      if (!this.blocked) this.onWritable?.();
    });
  }

  /** Bytes not yet taken by the kernel: held here plus buffered in the socket. */
  get queuedBytes(): number {
    return this.end - this.start + this.socket.writableLength;
  }

  /** True while the socket is over its high-water mark (waiting for 'drain'). */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /**
   * Queues one frame; it is written in this iteration's check phase (or after
   * 'drain'). `soon`: at the end of this turn instead (process.nextTick), for the
   * handshake, whose round trips hold up everything queued behind it.
   */
  push(payload: Uint8Array, soon = false): void {
    if (this.closed) return;
    const buf = this.room(FRAME_HEADER_BYTES + payload.length);
    buf.writeUInt32BE(payload.length, this.end);
    buf.set(payload, this.end + FRAME_HEADER_BYTES);
    this.queued(FRAME_HEADER_BYTES + payload.length, soon);
  }

  /**
   * Encodes `body` under request id `id` straight into the queue (one copy of its
   * bytes fields, no buffer of its own) and queues it as push() does. Returns the
   * payload's size; a payload over `limit` is not queued (the caller decides what to
   * answer). Throws as encodeEnvelope does.
   */
  pushBody(id: number, body: Body, limit: number): number {
    const size = directSize(id, body);
    if (size < 0) {
      const payload = encodeEnvelope(id, body);
      if (payload.length <= limit) this.push(payload);
      return payload.length;
    }
    if (size > limit || this.closed) return size;
    const buf = this.room(FRAME_HEADER_BYTES + size);
    buf.writeUInt32BE(size, this.end);
    if (writeDirect(id, body, buf, this.end + FRAME_HEADER_BYTES) !== this.end + FRAME_HEADER_BYTES + size) {
      throw new TypeError(`${body.kind}: the value changed while it was encoded`); // nothing queued
    }
    this.queued(FRAME_HEADER_BYTES + size, false);
    return size;
  }

  /** A buffer with `n` free bytes at `end`, keeping what is queued. */
  private room(n: number): Buffer {
    const buf = this.buf;
    if (buf !== undefined && this.end + n <= buf.length) return buf;
    const held = this.end - this.start;
    // Doubles while frames pile up (a blocked socket), so copying stays linear.
    const usual = Math.min(KEEP_BYTES, Math.max(MIN_BYTES, 2 * this.lastFlush));
    const next = Buffer.allocUnsafe(Math.max(usual, held === 0 ? n : 2 * (held + n)));
    if (held > 0) buf!.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = held;
    return next;
  }

  private queued(bytes: number, soon: boolean): void {
    this.end += bytes;
    this.frames++;
    if (soon) {
      if (this.scheduled !== 'tick') {
        this.scheduled = 'tick';
        process.nextTick(this.flushNow);
      }
    } else if (this.scheduled === false) {
      this.scheduled = 'check';
      setImmediate(this.flushNow);
    }
  }

  /**
   * Writes everything queued now, unless the socket asked to wait for 'drain'
   * (`force`: write anyway, for a last frame before closing).
   */
  flush(force = false): void {
    this.scheduled = false;
    if (this.closed || (this.blocked && !force) || this.frames === 0) return;
    const buf = this.buf!;
    const out = buf.subarray(this.start, this.end);
    const frames = this.frames;
    this.lastFlush = out.length;
    this.frames = 0;
    this.start = this.end;
    // Keep the rest of a small buffer for the next frames; let a big one go with the socket.
    if (buf.length > KEEP_BYTES || buf.length - this.end < MIN_BYTES / 4) {
      this.buf = undefined;
      this.start = 0;
      this.end = 0;
    }
    this.written(frames, out.length);
    if (this.socket.write(out)) this.onWritable?.();
    else this.blocked = true;
  }

  /** Drops whatever is still held; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.buf = undefined;
    this.start = 0;
    this.end = 0;
    this.frames = 0;
  }
}
