// A dot names one write: (actor, counter), 16 bytes, actor u64 LE then counter
// u64 LE (docs/architecture.md "Actors, dots and counters").
import { varintSize, writeVarint } from '../codec/index.js';

export const DOT_BYTES = 16;

/** The largest counter: counters are JavaScript numbers. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

// The bytes of the actor last encoded: a store encodes dots of one actor, and
// writing a bigint into a buffer costs more than copying eight bytes.
let lastActor = -1n;
const lastActorBytes = Buffer.alloc(8);

/** actor as u64 LE: a shared buffer, valid until the next call. */
function bytesOf(actor: bigint): Buffer {
  if (actor !== lastActor) {
    lastActorBytes.writeBigUInt64LE(actor, 0);
    lastActor = actor;
  }
  return lastActorBytes;
}

/** Encodes a dot; counter must be 1..2^53-1 (RangeError otherwise). */
export function encodeDot(actor: bigint, counter: number): Buffer {
  if (!Number.isSafeInteger(counter) || counter < 1) throw new RangeError('dot counter must be from 1 to 2^53-1');
  const actorBytes = bytesOf(actor);
  const b = Buffer.allocUnsafe(DOT_BYTES);
  for (let i = 0; i < 8; i++) b[i] = actorBytes[i]!;
  b.writeUInt32LE(counter >>> 0, 8);
  b.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 12);
  return b;
}

/**
 * The clock {actor: counter} (native/vclock.h's encoding: format 1, one entry,
 * u64 LE actor, LEB128 counter): what vvEvent makes of the empty clock. A write
 * to a new key needs nothing else, and a call into the addon costs several times
 * more than these few bytes.
 */
export function singleEntryClock(actor: bigint, counter: number): Buffer {
  if (!Number.isSafeInteger(counter) || counter < 1) throw new RangeError('counter must be from 1 to 2^53-1');
  const actorBytes = bytesOf(actor);
  const b = Buffer.allocUnsafe(10 + varintSize(counter));
  b[0] = 1;
  b[1] = 1;
  for (let i = 0; i < 8; i++) b[2 + i] = actorBytes[i]!;
  writeVarint(b, 10, counter);
  return b;
}

function u32le(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function dotActor(dot: Uint8Array): bigint {
  return (BigInt(u32le(dot, 4)) << 32n) | BigInt(u32le(dot, 0));
}

export function dotCounter(dot: Uint8Array): number {
  return u32le(dot, 12) * 0x1_0000_0000 + u32le(dot, 8);
}

/** Copies a 16-byte dot into out at off (a loop: TypedArray.set costs more for so few bytes). */
export function copyDot(out: Uint8Array, off: number, dot: Uint8Array): void {
  for (let i = 0; i < DOT_BYTES; i++) out[off + i] = dot[i]!;
}

/** Byte equality of two dots. */
export function sameDot(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  for (let i = 0; i < DOT_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte order of two dots: the order siblings are kept in. */
export function compareDots(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < DOT_BYTES; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
