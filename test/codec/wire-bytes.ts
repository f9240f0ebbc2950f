// Test support: hand-made protobuf wire bytes, for inputs no encoder would produce.

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

/** Unsigned LEB128 of a non-negative integer below 2^53, or of a bigint. */
export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

export function tag(field: number, wire: number): Buffer {
  return varint(field * 8 + wire);
}

/** A length-delimited field: tag, length, payload. */
export function lenField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([tag(field, LEN), varint(payload.length), payload]);
}

/** A varint field. */
export function varintField(field: number, n: number | bigint): Buffer {
  return Buffer.concat([tag(field, VARINT), varint(n)]);
}

export function cat(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}
