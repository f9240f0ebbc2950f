// An Envelope's request id and body kind, read without decoding the body. A server
// uses it to answer a frame whose body is malformed, unknown or not allowed on the
// connection with an error reply to the right request id, and to refuse such a body
// before spending memory on it.
import protobuf from 'protobufjs';
import { messageType } from './schema.js';
import type { EnvelopeKind } from './messages.js';

export interface EnvelopeHead {
  /** The request id (0 when absent). */
  id: number;
  /** The body's kind; undefined when there is no body or its field is unknown here. */
  kind: EnvelopeKind | undefined;
  /**
   * The body's field number; when `kind` is undefined, that of the last unknown
   * length-delimited field (perhaps a body kind newer than this schema), or 0.
   */
  field: number;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

const bodyOneof = messageType('Envelope').oneofs['body']!;
/** Envelope field number → kind, for the members of `body`. */
const kindByField = new Map<number, EnvelopeKind>(bodyOneof.fieldsArray.map((f) => [f.id, f.name as EnvelopeKind]));
const fieldByKind = new Map<EnvelopeKind, number>(bodyOneof.fieldsArray.map((f) => [f.name as EnvelopeKind, f.id]));

/** The Envelope field number of a body kind. */
export function envelopeFieldOf(kind: EnvelopeKind): number {
  return fieldByKind.get(kind)!;
}

/**
 * The head of an encoded Envelope, by the decoder's rules: the last `id` wins, the
 * last body member wins, fields of the wrong wire type are skipped, so `id` and
 * `kind` are what EnvelopeCodec.decode would give. Throws a RangeError when the top
 * level is malformed (a bad tag, a length beyond the input) and a TypeError when
 * `bytes` is not a Uint8Array; the body's own bytes are not read.
 */
export function peekEnvelope(bytes: Uint8Array): EnvelopeHead {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('expected a Uint8Array to peek at');
  const r = protobuf.Reader.create(bytes);
  let id = 0;
  let kind: EnvelopeKind | undefined;
  let field = 0;
  try {
    while (r.pos < r.len) {
      const tag = r.tag();
      const number = tag >>> 3;
      const wire = tag & 7;
      if (number === 1 && wire === WIRE_VARINT) {
        id = r.uint32();
      } else if (number > 1 && wire === WIRE_LEN) {
        const k = kindByField.get(number);
        if (k !== undefined) {
          kind = k;
          field = number;
        } else if (kind === undefined) {
          field = number; // perhaps a body kind newer than this schema
        }
        r.skip(r.size());
      } else {
        r.skipType(wire, 0, number);
      }
    }
  } catch (err) {
    throw new RangeError(`malformed shoal.Envelope: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { id, kind, field };
}
