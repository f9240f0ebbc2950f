// A direct encoder and decoder for the stored SiblingSet record (proto/shoal.proto),
// written for the storage paths: the encoder makes one allocation and no
// intermediate objects, and its bytes equal SiblingSetCodec.encode's (defaults
// omitted, fields in number order); the decoder gives plain objects. Both are
// checked against the codec in test/storage/set-encoding.test.ts.
import { varintSize, writeVarint } from '../codec/index.js';
import type { Sibling, SiblingSet } from '../codec/index.js';

function siblingSize(value: number, tombstone: boolean, expiresAt: number, writtenAt: number): number {
  let n = 2 + 16; // dot: tag, length 16, bytes
  if (value > 0) n += 1 + varintSize(value) + value;
  if (tombstone) n += 2;
  if (expiresAt !== 0) n += 1 + varintSize(expiresAt);
  if (writtenAt !== 0) n += 1 + varintSize(writtenAt);
  return n;
}

export function encodeSiblingSet(s: SiblingSet): Buffer {
  const clock = s.clock.length;
  let size = clock > 0 ? 1 + varintSize(clock) + clock : 0;
  for (const x of s.siblings) {
    const n = siblingSize(x.value.length, x.tombstone, x.expiresAt, x.writtenAt);
    size += 1 + varintSize(n) + n;
  }
  const b = Buffer.allocUnsafe(size);
  let off = 0;
  if (clock > 0) {
    b[off++] = 0x0a;
    off = writeVarint(b, off, clock);
    b.set(s.clock, off);
    off += clock;
  }
  for (const x of s.siblings) {
    if (x.dot.length !== 16) throw new RangeError('a dot is 16 bytes');
    b[off++] = 0x12;
    off = writeVarint(b, off, siblingSize(x.value.length, x.tombstone, x.expiresAt, x.writtenAt));
    b[off++] = 0x0a;
    b[off++] = 16;
    b.set(x.dot, off);
    off += 16;
    if (x.value.length > 0) {
      b[off++] = 0x12;
      off = writeVarint(b, off, x.value.length);
      b.set(x.value, off);
      off += x.value.length;
    }
    if (x.tombstone) {
      b[off++] = 0x18;
      b[off++] = 1;
    }
    if (x.expiresAt !== 0) {
      b[off++] = 0x20;
      off = writeVarint(b, off, x.expiresAt);
    }
    if (x.writtenAt !== 0) {
      b[off++] = 0x28;
      off = writeVarint(b, off, x.writtenAt);
    }
  }
  return b;
}

const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/** A protobuf reader over one buffer, for the two record messages below. */
class Reader {
  pos = 0;
  constructor(readonly b: Buffer) {}

  /** An unsigned varint of up to 10 bytes, as a number (exact below 2^53, as protobufjs). */
  varint(): number {
    const b = this.b;
    let x = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= b.length) throw new RangeError('truncated varint');
      const byte = b[this.pos++]!;
      x += (byte & 0x7f) * scale;
      if (byte < 0x80) return x;
      scale *= 128;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /** A length-delimited field's bytes, as a view. */
  bytes(): Buffer {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.b.length) throw new RangeError('length beyond the end of the record');
    const out = n === 0 ? EMPTY_BYTES : this.b.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint(); // before reading pos: `pos += varint()` would add to the old pos
      this.pos += n;
    }
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (this.pos > this.b.length) throw new RangeError('field beyond the end of the record');
  }
}

function tag(r: Reader): number {
  const t = r.varint();
  if (t >>> 3 === 0 || t > 0xffffffff) throw new RangeError('illegal tag');
  return t;
}

function decodeSibling(r: Reader, end: number): Sibling {
  let dot: Buffer = EMPTY_BYTES;
  let value: Buffer = EMPTY_BYTES;
  let tombstone = false;
  let expiresAt = 0;
  let writtenAt = 0;
  while (r.pos < end) {
    const t = tag(r);
    switch (t) {
      case 0x0a:
        dot = r.bytes();
        break;
      case 0x12:
        value = r.bytes();
        break;
      case 0x18:
        tombstone = r.varint() !== 0;
        break;
      case 0x20:
        expiresAt = r.varint();
        break;
      case 0x28:
        writtenAt = r.varint();
        break;
      default:
        if (t >>> 3 <= 5) throw new RangeError(`field ${t >>> 3} of a sibling has wire type ${t & 7}`);
        r.skip(t & 7);
    }
  }
  if (r.pos !== end) throw new RangeError('a sibling overruns its length');
  return { dot, value, tombstone, expiresAt, writtenAt };
}

/**
 * Decodes a stored SiblingSet record (the inverse of encodeSiblingSet; for
 * well-formed bytes it gives what SiblingSetCodec.decode gives, which
 * test/storage/set-encoding.test.ts checks) into plain objects whose fields are
 * all their own, so spreads and clones of them keep every field. Bytes fields are
 * views of `bytes`. RangeError on malformed bytes.
 */
export function decodeSiblingSet(bytes: Buffer): SiblingSet {
  const r = new Reader(bytes);
  let clock: Buffer = EMPTY_BYTES;
  const siblings: Sibling[] = [];
  while (r.pos < bytes.length) {
    const t = tag(r);
    if (t === 0x0a) clock = r.bytes();
    else if (t === 0x12) {
      const n = r.varint();
      const end = r.pos + n;
      if (end > bytes.length) throw new RangeError('a sibling beyond the end of the record');
      siblings.push(decodeSibling(r, end));
    } else if (t >>> 3 <= 2) throw new RangeError(`field ${t >>> 3} of a set has wire type ${t & 7}`);
    else r.skip(t & 7);
  }
  return { clock, siblings };
}
