// Length-prefixed frames on a byte stream: u32 big-endian length, then that many
// payload bytes (docs/protocol.md, "TCP frames and handshake").

export const FRAME_HEADER_BYTES = 4;

export interface FrameSink {
  /**
   * One whole payload. It is never overwritten later: a frame that arrived inside
   * one chunk is a view of that chunk, one that spanned chunks is its own Buffer,
   * so decoded `bytes` fields (views, with protobufjs) stay valid.
   */
  frame(payload: Buffer): void;
  /** A header announced `length` > the limit; the decoder has stopped. */
  oversize(length: number): void;
}

/**
 * Splits received chunks into frames without copying whole frames found inside a
 * chunk; a frame split across chunks is assembled once into a buffer of its exact
 * size (no repeated concatenation, whatever the chunk sizes).
 */
export class FrameDecoder {
  /** Largest payload accepted; may change between frames (e.g. after a handshake). */
  limit: number;
  private readonly head = Buffer.alloc(FRAME_HEADER_BYTES);
  private headFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private stopped = false;
  private paused = false;
  private rest: Buffer | undefined; // unread part of a chunk, kept while paused

  constructor(
    private readonly sink: FrameSink,
    limit: number,
  ) {
    this.limit = limit;
  }

  /** Bytes held for an incomplete frame or kept while paused. */
  get bufferedBytes(): number {
    return this.headFill + this.bodyFill + (this.rest?.length ?? 0);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** No more frames are delivered after this (e.g. once the connection closes). */
  stop(): void {
    this.stopped = true;
    this.body = undefined;
    this.rest = undefined;
  }

  /**
   * Delivers no more frames until resume(), even from the chunk being read: the
   * rest of it is kept (callers also stop feeding chunks, e.g. socket.pause()).
   */
  pause(): void {
    this.paused = true;
  }

  /** Delivers the frames kept while paused, then continues with new chunks. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const rest = this.rest;
    this.rest = undefined;
    if (rest !== undefined) this.push(rest);
  }

  push(chunk: Buffer): void {
    if (this.paused) {
      this.rest = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
      return;
    }
    const n = chunk.length;
    let off = 0;
    while (off < n && !this.stopped) {
      if (this.paused) {
        this.rest = chunk.subarray(off);
        return;
      }
      const body = this.body;
      if (body !== undefined) {
        const take = Math.min(n - off, body.length - this.bodyFill);
        chunk.copy(body, this.bodyFill, off, off + take);
        this.bodyFill += take;
        off += take;
        if (this.bodyFill === body.length) {
          this.body = undefined;
          this.bodyFill = 0;
          this.sink.frame(body);
        }
        continue;
      }
      let len: number;
      if (this.headFill === 0 && n - off >= FRAME_HEADER_BYTES) {
        len = chunk.readUInt32BE(off);
        off += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(n - off, FRAME_HEADER_BYTES - this.headFill);
        chunk.copy(this.head, this.headFill, off, off + take);
        this.headFill += take;
        off += take;
        if (this.headFill < FRAME_HEADER_BYTES) return;
        this.headFill = 0;
        len = this.head.readUInt32BE(0);
      }
      if (len > this.limit) {
        this.stop();
        this.sink.oversize(len);
        return;
      }
      if (n - off >= len) {
        const payload = chunk.subarray(off, off + len);
        off += len;
        this.sink.frame(payload);
      } else {
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = 0;
      }
    }
  }
}
