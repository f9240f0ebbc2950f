// Hand-written encoders for the messages on every request's path (client get/put,
// replica read/write and their replies), writing straight into a caller's buffer:
// no protobufjs Writer, no intermediate Buffer per message. The bytes are exactly
// what protobufjs writes for the same value (test/codec/direct-encoding.test.ts checks
// that on random messages): fields in number order, defaults (0, false, '', empty
// bytes, null/undefined) not written, nested messages length-delimited.
//
// Contract: size(v) returns the encoded length, or -1 when `v` holds anything these
// encoders do not take exactly as protobufjs would (a bytes field that is not a
// Uint8Array, a number that is not a safe unsigned integer in range, a non-boolean
// bool, a string that is not well-formed UTF-16, unknown fields kept by protobufjs):
// the caller then uses protobufjs, which decides what such a value means. write(v)
// may only follow a size(v) that returned >= 0 for the same, unchanged value.
import type {
  ClientGet,
  ClientGetReply,
  ClientPut,
  ClientPutReply,
  EnvelopeBodies,
  EnvelopeKind,
  ReplicaRead,
  ReplicaReadReply,
  ReplicaWrite,
  ReplicaWrites,
  Sibling,
  SiblingSet,
} from './messages.js';

export interface DirectEncoder<T> {
  /** Encoded bytes of `v`, or -1: encode it with protobufjs instead. */
  size(v: T): number;
  /** Writes `v` at `off` (room checked by the caller); returns the offset after it. */
  write(v: T, buf: Buffer, off: number): number;
}

const U32_MAX = 0xffffffff;

/** Bytes of `n` (a safe unsigned integer) as a varint. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let s = 4;
  n = Math.floor(n / 0x10000000);
  while (n > 0) {
    s++;
    n = Math.floor(n / 0x80);
  }
  return s;
}

/** Writes `n` (a safe unsigned integer) as a varint; returns the offset after it. */
export function writeVarint(buf: Buffer, off: number, n: number): number {
  while (n > U32_MAX) {
    buf[off++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  while (n > 0x7f) {
    buf[off++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[off++] = n;
  return off;
}

// Field sizes: -1 (BAD) poisons a sum, which is checked once at the end.
const BAD = -1e15;

function bytesSize(b: Uint8Array | null | undefined): number {
  if (b == null) return 0;
  if (!(b instanceof Uint8Array)) return BAD;
  const n = b.length;
  return n === 0 ? 0 : 1 + varintSize(n) + n;
}

function u32Size(n: number | null | undefined): number {
  if (n == null || n === 0) return 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > U32_MAX) return BAD;
  return 1 + varintSize(n);
}

function u64Size(n: number | null | undefined): number {
  if (n == null || n === 0) return 0;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return BAD;
  return 1 + varintSize(n);
}

function boolSize(b: boolean | null | undefined): number {
  if (b == null || b === false) return 0;
  return b === true ? 2 : BAD;
}

// protobufjs and Buffer differ only on these; such strings go to protobufjs.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringSize(s: string | null | undefined): number {
  if (s == null || s === '') return 0;
  if (typeof s !== 'string' || LONE_SURROGATE.test(s)) return BAD;
  const n = Buffer.byteLength(s, 'utf8');
  return 1 + varintSize(n) + n;
}

/** A repeated string field; an empty string is written too (repeated fields keep their elements). */
function stringsSize(list: readonly string[] | null | undefined): number {
  if (list == null) return 0;
  if (!Array.isArray(list)) return BAD;
  let n = 0;
  for (const s of list) {
    if (typeof s !== 'string' || LONE_SURROGATE.test(s)) return BAD;
    const len = Buffer.byteLength(s, 'utf8');
    n += 1 + varintSize(len) + len;
  }
  return n;
}

/** protobufjs keeps unknown fields of decoded messages here and writes them back. */
function plain(v: object): boolean {
  return (v as { $unknowns?: unknown }).$unknowns == null;
}

// Writers, each for a field whose size() was > 0 or that is checked again here.

function writeBytes(buf: Buffer, off: number, tag: number, b: Uint8Array | null | undefined): number {
  if (b == null || b.length === 0) return off;
  buf[off++] = tag;
  off = writeVarint(buf, off, b.length);
  buf.set(b, off);
  return off + b.length;
}

function writeNumber(buf: Buffer, off: number, tag: number, n: number | null | undefined): number {
  if (n == null || n === 0) return off;
  buf[off++] = tag;
  return writeVarint(buf, off, n);
}

function writeString(buf: Buffer, off: number, tag: number, s: string | null | undefined): number {
  if (s == null || s === '') return off;
  const n = Buffer.byteLength(s, 'utf8');
  buf[off++] = tag;
  off = writeVarint(buf, off, n);
  return off + buf.write(s, off, n, 'utf8');
}

function writeStrings(buf: Buffer, off: number, tag: number, list: readonly string[] | null | undefined): number {
  if (list == null) return off;
  for (const s of list) {
    const n = Buffer.byteLength(s, 'utf8');
    buf[off++] = tag;
    off = writeVarint(buf, off, n);
    off += buf.write(s, off, n, 'utf8');
  }
  return off;
}

function siblingSize(s: Sibling): number {
  if (typeof s !== 'object' || s === null || !plain(s)) return BAD;
  return bytesSize(s.dot) + bytesSize(s.value) + boolSize(s.tombstone) + u64Size(s.expiresAt) + u64Size(s.writtenAt);
}

function writeSibling(s: Sibling, buf: Buffer, off: number): number {
  off = writeBytes(buf, off, 0x0a, s.dot);
  off = writeBytes(buf, off, 0x12, s.value);
  if (s.tombstone === true) {
    buf[off++] = 0x18;
    buf[off++] = 1;
  }
  off = writeNumber(buf, off, 0x20, s.expiresAt);
  return writeNumber(buf, off, 0x28, s.writtenAt);
}

function setSize(set: SiblingSet): number {
  if (typeof set !== 'object' || !plain(set)) return BAD;
  let n = bytesSize(set.clock);
  const sibs = set.siblings;
  if (sibs == null) return n;
  if (!Array.isArray(sibs)) return BAD;
  for (let i = 0; i < sibs.length; i++) {
    const s = siblingSize(sibs[i]!);
    n += 1 + varintSize(s < 0 ? 0 : s) + s;
  }
  return n;
}

function writeSet(set: SiblingSet, buf: Buffer, off: number): number {
  off = writeBytes(buf, off, 0x0a, set.clock);
  const sibs = set.siblings;
  if (sibs == null) return off;
  for (let i = 0; i < sibs.length; i++) {
    const s = sibs[i]!;
    buf[off++] = 0x12;
    off = writeVarint(buf, off, siblingSize(s));
    off = writeSibling(s, buf, off);
  }
  return off;
}

/** A nested SiblingSet field: tag, length, message (written even when empty, as protobufjs does). */
function setFieldSize(set: SiblingSet | null | undefined): number {
  if (set == null) return 0;
  const n = setSize(set);
  return 1 + varintSize(n < 0 ? 0 : n) + n;
}

function writeSetField(buf: Buffer, off: number, tag: number, set: SiblingSet | null | undefined): number {
  if (set == null) return off;
  buf[off++] = tag;
  off = writeVarint(buf, off, setSize(set));
  return writeSet(set, buf, off);
}

function checked(n: number): number {
  return n < 0 ? -1 : n;
}

function object(v: unknown): v is object {
  return typeof v === 'object' && v !== null && plain(v);
}

const clientGet: DirectEncoder<ClientGet> = {
  size: (v) => (object(v) ? checked(bytesSize(v.key) + u32Size(v.r) + u32Size(v.scope)) : -1),
  write: (v, buf, off) => writeNumber(buf, writeNumber(buf, writeBytes(buf, off, 0x0a, v.key), 0x10, v.r), 0x18, v.scope),
};

const clientGetReply: DirectEncoder<ClientGetReply> = {
  size: (v) => {
    if (!object(v)) return -1;
    let n = bytesSize(v.context);
    const vals = v.values;
    if (vals != null) {
      if (!Array.isArray(vals)) return -1;
      for (let i = 0; i < vals.length; i++) {
        const b = vals[i];
        if (!(b instanceof Uint8Array)) return -1;
        n += 1 + varintSize(b.length) + b.length; // repeated: written even when empty
      }
    }
    return checked(n);
  },
  write: (v, buf, off) => {
    const vals = v.values;
    if (vals != null) {
      for (let i = 0; i < vals.length; i++) {
        const b = vals[i]!;
        buf[off++] = 0x0a;
        off = writeVarint(buf, off, b.length);
        buf.set(b, off);
        off += b.length;
      }
    }
    return writeBytes(buf, off, 0x12, v.context);
  },
};

const clientPut: DirectEncoder<ClientPut> = {
  size: (v) =>
    object(v)
      ? checked(bytesSize(v.key) + bytesSize(v.value) + bytesSize(v.context) + u64Size(v.ttlMs) + u32Size(v.w) + boolSize(v.forwarded) + u32Size(v.scope))
      : -1,
  write: (v, buf, off) => {
    off = writeBytes(buf, off, 0x0a, v.key);
    off = writeBytes(buf, off, 0x12, v.value);
    off = writeBytes(buf, off, 0x1a, v.context);
    off = writeNumber(buf, off, 0x20, v.ttlMs);
    off = writeNumber(buf, off, 0x28, v.w);
    if (v.forwarded === true) {
      buf[off++] = 0x30;
      buf[off++] = 1;
    }
    return writeNumber(buf, off, 0x38, v.scope);
  },
};

const clientPutReply: DirectEncoder<ClientPutReply> = {
  size: (v) => (object(v) ? checked(bytesSize(v.context)) : -1),
  write: (v, buf, off) => writeBytes(buf, off, 0x0a, v.context),
};

const empty: DirectEncoder<Record<string, never>> = {
  size: (v) => (object(v) ? 0 : -1),
  write: (_v, _buf, off) => off,
};

const replicaWrite: DirectEncoder<ReplicaWrite> = {
  size: (v) => (object(v) ? checked(bytesSize(v.key) + setFieldSize(v.set) + stringSize(v.hintFor) + bytesSize(v.ringId) + stringsSize(v.relayTo)) : -1),
  write: (v, buf, off) =>
    writeStrings(buf, writeBytes(buf, writeString(buf, writeSetField(buf, writeBytes(buf, off, 0x0a, v.key), 0x12, v.set), 0x1a, v.hintFor), 0x22, v.ringId), 0x2a, v.relayTo),
};

const replicaWrites: DirectEncoder<ReplicaWrites> = {
  size: (v) => {
    if (!object(v)) return -1;
    const ws = v.writes;
    if (ws == null) return 0;
    if (!Array.isArray(ws)) return -1;
    let n = 0;
    for (let i = 0; i < ws.length; i++) {
      const m = replicaWrite.size(ws[i]!);
      if (m < 0) return -1;
      n += 1 + varintSize(m) + m; // repeated: written even when empty
    }
    return checked(n);
  },
  write: (v, buf, off) => {
    const ws = v.writes;
    if (ws == null) return off;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      buf[off++] = 0x0a;
      off = writeVarint(buf, off, replicaWrite.size(w));
      off = replicaWrite.write(w, buf, off);
    }
    return off;
  },
};

const replicaRead: DirectEncoder<ReplicaRead> = {
  size: (v) => (object(v) ? checked(bytesSize(v.key) + stringSize(v.readFor) + bytesSize(v.ringId)) : -1),
  write: (v, buf, off) => writeBytes(buf, writeString(buf, writeBytes(buf, off, 0x0a, v.key), 0x12, v.readFor), 0x1a, v.ringId),
};

const replicaReadReply: DirectEncoder<ReplicaReadReply> = {
  size: (v) => (object(v) ? checked(boolSize(v.found) + setFieldSize(v.set)) : -1),
  write: (v, buf, off) => {
    if (v.found === true) {
      buf[off++] = 0x08;
      buf[off++] = 1;
    }
    return writeSetField(buf, off, 0x12, v.set);
  },
};

/** The direct encoder of each hot body kind. */
export const DIRECT_ENCODERS: { readonly [K in EnvelopeKind]?: DirectEncoder<EnvelopeBodies[K]> } = {
  clientGet,
  clientGetReply,
  clientPut,
  clientPutReply,
  replicaWrite,
  replicaWriteReply: empty,
  replicaWrites,
  replicaRead,
  replicaReadReply,
};
