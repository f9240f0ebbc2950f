// A dot names one write: (actor, counter), 16 bytes, actor u64 LE then counter
// u64 LE (docs/architecture.md "Actors, dots and counters").

export const DOT_BYTES = 16;

/** The largest counter: counters are JavaScript numbers. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** Encodes a dot; counter must be 1..2^53-1 (RangeError otherwise). */
export function encodeDot(actor: bigint, counter: number): Buffer {
  if (!Number.isSafeInteger(counter) || counter < 1) throw new RangeError('dot counter must be from 1 to 2^53-1');
  const b = Buffer.allocUnsafe(DOT_BYTES);
  b.writeBigUInt64LE(actor, 0);
  b.writeUInt32LE(counter >>> 0, 8);
  b.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 12);
  return b;
}

function view(dot: Uint8Array): DataView {
  return new DataView(dot.buffer, dot.byteOffset, dot.byteLength);
}

export function dotActor(dot: Uint8Array): bigint {
  return view(dot).getBigUint64(0, true);
}

export function dotCounter(dot: Uint8Array): number {
  const v = view(dot);
  return v.getUint32(12, true) * 0x1_0000_0000 + v.getUint32(8, true);
}

/** Byte order of two dots: the order siblings are kept in. */
export function compareDots(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < DOT_BYTES; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
