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

export class FrameOutbox {
  private frames: Uint8Array[] = [];
  private held = 0; // bytes in `frames`, headers included
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
    return this.held + this.socket.writableLength;
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
    this.frames.push(payload);
    this.held += FRAME_HEADER_BYTES + payload.length;
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
    if (this.closed || (this.blocked && !force) || this.frames.length === 0) return;
    const frames = this.frames;
    const total = this.held;
    this.frames = [];
    this.held = 0;
    const out = Buffer.allocUnsafe(total);
    let off = 0;
    for (let i = 0; i < frames.length; i++) {
      const p = frames[i]!;
      out.writeUInt32BE(p.length, off);
      out.set(p, off + FRAME_HEADER_BYTES);
      off += FRAME_HEADER_BYTES + p.length;
    }
    this.written(frames.length, total);
    if (this.socket.write(out)) this.onWritable?.();
    else this.blocked = true;
  }

  /** Drops whatever is still held; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.frames = [];
    this.held = 0;
  }
}
