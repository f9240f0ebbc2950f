// What an RPC carries: one Envelope body, typed by its kind, under a request id.
//
// Frames are encoded and decoded here around each body's own message type instead
// of through the Envelope type: the bytes are exactly an Envelope (field 1 the id,
// then the one body member), but protobufjs's Envelope decoder keeps the `body`
// oneof by deleting the other sixteen members on every decode, which made it ~4x
// slower than decoding the body alone (measured; see bench/rpc.bench.ts).
import protobuf from 'protobufjs';
import { DIRECT_ENCODERS, messageType, varintSize, writeVarint } from '../codec/index.js';
import type { DirectEncoder, EnvelopeBodies, EnvelopeKind } from '../codec/index.js';

/** One message of any kind, e.g. `{ kind: 'clientPut', value: { key, value, ... } }`. */
export type Body = { [K in EnvelopeKind]: { kind: K; value: EnvelopeBodies[K] } }[EnvelopeKind];

/** A Body of one given kind. */
export type BodyOf<K extends EnvelopeKind> = { kind: K; value: EnvelopeBodies[K] };

interface Member {
  kind: EnvelopeKind;
  type: protobuf.Type;
  /** The member's tag: field number << 3 | length-delimited. */
  tag: number;
  /** A hand-written encoder (src/codec/direct-encoding.ts) for the request path's kinds. */
  direct: DirectEncoder<unknown> | undefined;
}

const envelope = messageType('Envelope');
const members = envelope.oneofs['body']!.fieldsArray.map(
  (f): Member => ({
    kind: f.name as EnvelopeKind,
    type: f.resolve().resolvedType as protobuf.Type,
    tag: (f.id << 3) | 2,
    direct: DIRECT_ENCODERS[f.name as EnvelopeKind] as DirectEncoder<unknown> | undefined,
  }),
);
// Install the generated decoders now: the first call of an uninstalled one would drop
// the merge-target and depth arguments decodeEnvelope passes.
for (const m of members) m.type.setup();
const byKind = new Map<string, Member>(members.map((m) => [m.kind, m]));
const byField = new Map<number, Member>(members.map((m) => [m.tag >>> 3, m]));

/** Every kind the schema knows, from the Envelope's `body` oneof. */
export const ENVELOPE_KINDS: ReadonlySet<string> = new Set(byKind.keys());

// Encoding is synchronous, so one writer serves every frame (reset after finish()).
let writer = protobuf.Writer.create();

/**
 * Encodes `body` under request id `id` as an Envelope, to a fresh Buffer (the frame
 * payload). Throws TypeError for an unknown kind or a value that is not an object;
 * protobufjs may throw for fields of the wrong type.
 */
export function encodeEnvelope(id: number, body: Body): Uint8Array {
  const size = directSize(id, body);
  if (size >= 0) {
    const out = Buffer.allocUnsafe(size);
    if (writeDirect(id, body, out, 0) !== size) throw new TypeError(`${body.kind}: the value changed while it was encoded`);
    return out;
  }
  const m = byKind.get(body.kind);
  if (m === undefined) throw new TypeError(`unknown message kind ${String(body.kind)}`);
  if (typeof body.value !== 'object' || body.value === null) throw new TypeError(`${m.kind}: value must be an object`);
  const w = writer;
  try {
    if (id !== 0) w.uint32(8).uint32(id);
    m.type.encode(body.value as unknown as protobuf.Message, w.uint32(m.tag).fork()).ldelim();
    const out = w.finish();
    w.reset();
    return out;
  } catch (err) {
    writer = protobuf.Writer.create(); // drop the half-written frame
    throw err;
  }
}

// The body size found by the last directSize(), for the writeDirect() that follows it.
let directBodySize = 0;

/**
 * The payload size of `body` under `id` when a direct encoder takes it (the request
 * path's kinds with plain values), else -1: use encodeEnvelope. A size >= 0 must be
 * followed at once by writeDirect() of the same id and body.
 */
export function directSize(id: number, body: Body): number {
  const m = byKind.get(body.kind);
  if (m === undefined || m.direct === undefined || !(id >= 0 && id <= 0xffffffff && Number.isInteger(id))) return -1;
  const n = m.direct.size(body.value);
  if (n < 0) return -1;
  directBodySize = n;
  return (id !== 0 ? 1 + varintSize(id) : 0) + varintSize(m.tag) + varintSize(n) + n;
}

/** Writes the payload directSize() just measured at `off`; returns the offset after it. */
export function writeDirect(id: number, body: Body, buf: Buffer, off: number): number {
  const m = byKind.get(body.kind)!;
  if (id !== 0) {
    buf[off++] = 0x08;
    off = writeVarint(buf, off, id);
  }
  off = writeVarint(buf, off, m.tag);
  off = writeVarint(buf, off, directBodySize);
  return m.direct!.write(body.value, buf, off);
}

/** protobufjs's generated decoder: (reader, length, end-group tag, depth, merge target). */
type GeneratedDecode = (r: protobuf.Reader, length: number, endGroup: undefined, depth: number, into: unknown) => unknown;

/** A decoded frame; one instance is reused per connection, read it synchronously. */
export interface DecodedEnvelope {
  id: number;
  /** undefined: no body, or one of a kind newer than this schema. */
  kind: EnvelopeKind | undefined;
  value: unknown;
}

/**
 * Decodes an Envelope payload into `out`, by the rules Envelope.decode follows (the
 * last id and the last body member win, a repeated member merges; fields of another
 * wire type or unknown number are skipped). Throws on malformed bytes. Bytes fields
 * of the value are views of `payload`.
 */
export function decodeEnvelope(payload: Uint8Array, out: DecodedEnvelope): DecodedEnvelope {
  const r = protobuf.Reader.create(payload);
  out.id = 0;
  out.kind = undefined;
  out.value = undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) {
      out.id = r.uint32();
      continue;
    }
    const m = wire === 2 ? byField.get(field) : undefined;
    if (m !== undefined) {
      // As Envelope.decode: depth 1, and a repeated member merges into the earlier one.
      const into = out.kind === m.kind ? out.value : undefined;
      out.value = (m.type.decode as GeneratedDecode)(r, r.uint32(), undefined, 1, into);
      out.kind = m.kind;
    } else {
      if (field === 0) throw new RangeError('illegal tag: field number 0');
      r.skipType(wire, 0, field);
    }
  }
  return out;
}

/** The Body of a decoded frame, or undefined when its kind is unknown to this schema. */
export function bodyOf(d: DecodedEnvelope): Body | undefined {
  return d.kind === undefined ? undefined : ({ kind: d.kind, value: d.value } as Body);
}
