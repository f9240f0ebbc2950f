// A direct encoder for the stored SiblingSet record (proto/shoal.proto), written
// for the write path: one allocation, no intermediate objects. Its bytes equal
// SiblingSetCodec.encode's (defaults omitted, fields in number order), which
// test/storage/set-encoding.test.ts checks; records are decoded with the codec.
import type { SiblingSet } from '../codec/index.js';

function varintSize(x: number): number {
  let n = 1;
  while (x >= 128) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

function putVarint(b: Buffer, off: number, x: number): number {
  while (x >= 128) {
    b[off++] = (x % 128) | 0x80;
    x = Math.floor(x / 128);
  }
  b[off++] = x;
  return off;
}

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
    off = putVarint(b, off, clock);
    b.set(s.clock, off);
    off += clock;
  }
  for (const x of s.siblings) {
    if (x.dot.length !== 16) throw new RangeError('a dot is 16 bytes');
    b[off++] = 0x12;
    off = putVarint(b, off, siblingSize(x.value.length, x.tombstone, x.expiresAt, x.writtenAt));
    b[off++] = 0x0a;
    b[off++] = 16;
    b.set(x.dot, off);
    off += 16;
    if (x.value.length > 0) {
      b[off++] = 0x12;
      off = putVarint(b, off, x.value.length);
      b.set(x.value, off);
      off += x.value.length;
    }
    if (x.tombstone) {
      b[off++] = 0x18;
      b[off++] = 1;
    }
    if (x.expiresAt !== 0) {
      b[off++] = 0x20;
      off = putVarint(b, off, x.expiresAt);
    }
    if (x.writtenAt !== 0) {
      b[off++] = 0x28;
      off = putVarint(b, off, x.writtenAt);
    }
  }
  return b;
}
