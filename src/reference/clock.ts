// Version vectors and dots in plain TypeScript: the specification native/vclock.cc
// is tested against. Written for clarity, not speed. Formats: docs/architecture.md
// ("Actors, dots and counters", "Version vector encoding").
//
// Argument checks run argument by argument, left to right (type, then range), and
// only then are encodings decoded, so that a call fails with the same error class
// here and natively.
import { types } from 'node:util';
import type { Order } from '../native.js';

/** One version-vector entry: an actor (u64) and its counter (1 .. 2^53-1). */
export type VvEntry = [actor: bigint, counter: number];
/** A dot: the actor that issued a write and the counter it gave it. */
export type Dot = [actor: bigint, counter: number];

export const VV_FORMAT = 1;
export const VV_MAX_ENTRIES = 1024;
export const DOT_BYTES = 16;
const MAX_COUNTER = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const MAX_ACTOR = (1n << 64n) - 1n;
const MAX_VARINT_BYTES = 8;

function checkBytes(v: unknown, name: string): Uint8Array {
  if (!types.isUint8Array(v)) throw new TypeError(`${name} must be a Buffer or Uint8Array`);
  return v;
}

function checkActor(v: unknown, name: string): bigint {
  if (typeof v !== 'bigint') throw new TypeError(`${name} must be a bigint`);
  if (v < 0n || v > MAX_ACTOR) throw new RangeError(`${name} must fit in 64 unsigned bits`);
  return v;
}

function checkCounter(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isInteger(v) || v < 1 || v > MAX_COUNTER) {
    throw new RangeError(`${name} must be an integer from 1 to 2^53-1`);
  }
  return v;
}

function checkPositive(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isInteger(v) || v < 1 || v > MAX_COUNTER) {
    throw new RangeError(`${name} must be a positive safe integer`);
  }
  return v;
}

/** Reads a minimal unsigned LEB128 varint of at most 8 bytes at pos. */
function readVarint(bytes: Uint8Array, pos: number, what: string): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos + i >= bytes.length) throw new RangeError(`version vector truncated in ${what}`);
    const b = bytes[pos + i]!;
    // Exact below 2^53; above that it may round, but never back below 2^53,
    // so callers' range checks still decide correctly.
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new RangeError(`non-minimal varint in ${what}`);
      return [value, pos + i + 1];
    }
  }
  throw new RangeError(`varint longer than ${MAX_VARINT_BYTES} bytes in ${what}`);
}

/** Decodes a version vector; a zero-length input is the empty vector. */
export function refVvDecode(bytes: Uint8Array): VvEntry[] {
  checkBytes(bytes, 'vv');
  if (bytes.length === 0) return [];
  if (bytes[0] !== VV_FORMAT) throw new RangeError(`unknown version vector format ${bytes[0]}`);
  const [n, start] = readVarint(bytes, 1, 'entry count');
  if (n > VV_MAX_ENTRIES) throw new RangeError(`version vector has more than ${VV_MAX_ENTRIES} entries`);
  const entries: VvEntry[] = [];
  let pos = start;
  for (let i = 0; i < n; i++) {
    if (pos + 8 > bytes.length) throw new RangeError('version vector truncated in actor');
    let actor = 0n;
    for (let k = 7; k >= 0; k--) actor = (actor << 8n) | BigInt(bytes[pos + k]!);
    const [counter, next] = readVarint(bytes, pos + 8, 'counter');
    if (counter === 0) throw new RangeError('zero counter in version vector');
    if (counter > MAX_COUNTER) throw new RangeError('counter of 2^53 or more in version vector');
    const prev = entries[i - 1];
    if (prev !== undefined && actor <= prev[0]) {
      throw new RangeError('version vector actors are not strictly ascending');
    }
    entries.push([actor, counter]);
    pos = next;
  }
  if (pos !== bytes.length) throw new RangeError('trailing bytes after version vector');
  return entries;
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/**
 * Encodes entries canonically. Entries must be sorted by actor, strictly ascending,
 * with counters 1..2^53-1 and at most 1024 of them (RangeError otherwise).
 */
export function refVvEncode(entries: readonly VvEntry[]): Buffer {
  if (entries.length > VV_MAX_ENTRIES) {
    throw new RangeError(`version vector would have more than ${VV_MAX_ENTRIES} entries`);
  }
  const out: number[] = [VV_FORMAT, ...varintBytes(entries.length)];
  let prev = -1n;
  for (const [actor, counter] of entries) {
    checkActor(actor, 'actor');
    checkCounter(counter, 'counter');
    if (actor <= prev) throw new RangeError('version vector actors are not strictly ascending');
    prev = actor;
    for (let k = 0n; k < 8n; k++) out.push(Number((actor >> (8n * k)) & 0xffn));
    out.push(...varintBytes(counter));
  }
  return Buffer.from(out);
}

/** Decodes a buffer of 16-byte dots (actor u64 LE, counter u64 LE). */
export function refDotsDecode(bytes: Uint8Array): Dot[] {
  checkBytes(bytes, 'dots');
  if (bytes.length % DOT_BYTES !== 0) throw new RangeError('dots length is not a multiple of 16');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dots: Dot[] = [];
  for (let pos = 0; pos < bytes.length; pos += DOT_BYTES) {
    const actor = view.getBigUint64(pos, true);
    const counter = view.getBigUint64(pos + 8, true);
    if (counter === 0n || counter > BigInt(MAX_COUNTER)) {
      throw new RangeError('dot counter must be from 1 to 2^53-1');
    }
    dots.push([actor, Number(counter)]);
  }
  return dots;
}

/** Encodes dots as 16 bytes each (actor u64 LE, counter u64 LE). */
export function refDotsEncode(dots: readonly Dot[]): Buffer {
  const out = Buffer.alloc(dots.length * DOT_BYTES);
  dots.forEach(([actor, counter], i) => {
    checkActor(actor, 'actor');
    checkCounter(counter, 'counter');
    out.writeBigUInt64LE(actor, i * DOT_BYTES);
    out.writeBigUInt64LE(BigInt(counter), i * DOT_BYTES + 8);
  });
  return out;
}

function toMap(entries: readonly VvEntry[]): Map<bigint, number> {
  return new Map(entries);
}

function fromMap(m: Map<bigint, number>): VvEntry[] {
  return [...m].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

export function refVvCompare(a: Uint8Array, b: Uint8Array): Order {
  checkBytes(a, 'a');
  checkBytes(b, 'b');
  const ma = toMap(refVvDecode(a));
  const mb = toMap(refVvDecode(b));
  let aBigger = false; // some actor where a > b
  let bBigger = false;
  for (const actor of new Set([...ma.keys(), ...mb.keys()])) {
    const x = ma.get(actor) ?? 0;
    const y = mb.get(actor) ?? 0;
    if (x > y) aBigger = true;
    if (y > x) bBigger = true;
  }
  if (aBigger && bBigger) return 2;
  if (aBigger) return 1;
  if (bBigger) return -1;
  return 0;
}

export function refVvMerge(a: Uint8Array, b: Uint8Array): Buffer {
  checkBytes(a, 'a');
  checkBytes(b, 'b');
  const m = toMap(refVvDecode(a));
  for (const [actor, counter] of refVvDecode(b)) m.set(actor, Math.max(m.get(actor) ?? 0, counter));
  return refVvEncode(fromMap(m));
}

export function refVvEvent(vv: Uint8Array, actor: bigint, counter: number): Buffer {
  checkBytes(vv, 'vv');
  checkActor(actor, 'actor');
  checkCounter(counter, 'counter');
  const m = toMap(refVvDecode(vv));
  m.set(actor, Math.max(m.get(actor) ?? 0, counter));
  return refVvEncode(fromMap(m));
}

export function refVvGet(vv: Uint8Array, actor: bigint): number {
  checkBytes(vv, 'vv');
  checkActor(actor, 'actor');
  return toMap(refVvDecode(vv)).get(actor) ?? 0;
}

export function refVvPrune(vv: Uint8Array, maxEntries: number): Buffer {
  checkBytes(vv, 'vv');
  checkPositive(maxEntries, 'maxEntries');
  const entries = refVvDecode(vv);
  // Oldest first: smallest counter, then smallest actor.
  const byAge = [...entries].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const dropped = new Set(byAge.slice(0, Math.max(0, entries.length - maxEntries)).map((e) => e[0]));
  return refVvEncode(entries.filter((e) => !dropped.has(e[0])));
}

export function refVvValidate(vv: Uint8Array): number {
  checkBytes(vv, 'vv');
  return refVvDecode(vv).length;
}

function covers(clock: Map<bigint, number>, [actor, counter]: Dot): boolean {
  return (clock.get(actor) ?? 0) >= counter;
}

function sameDot(x: Dot, y: Dot): boolean {
  return x[0] === y[0] && x[1] === y[1];
}

export function refDotsCoveredBy(vv: Uint8Array, dots: Uint8Array): Uint8Array {
  checkBytes(vv, 'vv');
  checkBytes(dots, 'dots');
  const clock = toMap(refVvDecode(vv));
  return Uint8Array.from(refDotsDecode(dots), (d) => (covers(clock, d) ? 1 : 0));
}

export function refDotSync(clockA: Uint8Array, dotsA: Uint8Array, clockB: Uint8Array, dotsB: Uint8Array): Uint8Array {
  checkBytes(clockA, 'clockA');
  checkBytes(dotsA, 'dotsA');
  checkBytes(clockB, 'clockB');
  checkBytes(dotsB, 'dotsB');
  const ca = toMap(refVvDecode(clockA));
  const da = refDotsDecode(dotsA);
  const cb = toMap(refVvDecode(clockB));
  const db = refDotsDecode(dotsB);
  const keepA = da.map((d) => db.some((e) => sameDot(d, e)) || !covers(cb, d));
  const keepB = db.map((d) => !da.some((e) => sameDot(d, e)) && !covers(ca, d));
  return Uint8Array.from([...keepA, ...keepB], (k) => (k ? 1 : 0));
}
