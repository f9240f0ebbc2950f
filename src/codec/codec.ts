// One MessageCodec per top-level message: encode to bytes, decode from untrusted
// bytes. Decoding is linear in the input, never reads beyond it and throws a
// RangeError on anything malformed; callers turn that into a dropped datagram, an
// error reply or a closed connection, never a crash.
import type protobuf from 'protobufjs';
import { messageType } from './schema.js';
import type {
  Envelope,
  GossipPacket,
  HintRecord,
  Member,
  MemberUpdate,
  PushPull,
  RingState,
  SiblingSet,
} from './messages.js';

export interface MessageCodec<T> {
  /** The message's name in proto/shoal.proto. */
  readonly name: string;
  /**
   * Encodes to a fresh Buffer. Fields that are undefined, null or the default are not
   * written; set at most one member of a oneof (when several are set, the decoder
   * keeps the one with the highest field number).
   */
  encode(msg: T): Uint8Array;
  /**
   * Decodes; throws a RangeError ("malformed shoal.<name>: ...", the protobufjs error
   * as `cause`) on malformed bytes and a TypeError when `bytes` is not a Uint8Array.
   * Unknown fields and unknown oneof members are skipped (a oneof then reads as
   * undefined). Bytes fields of the result are Buffers that share memory with `bytes`:
   * copy what outlives the input buffer. Absent fields read as their defaults
   * (0, false, '', an empty Buffer), which live on the prototype, not on the object.
   */
  decode(bytes: Uint8Array): T;
}

function asBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError(`expected a Uint8Array to decode, got ${bytes === null ? 'null' : typeof bytes}`);
}

function malformed(name: string, err: unknown): RangeError {
  const why = err instanceof Error ? err.message : String(err);
  return new RangeError(`malformed shoal.${name}: ${why}`, { cause: err });
}

class ReflectionCodec<T> implements MessageCodec<T> {
  private readonly type: protobuf.Type;
  constructor(readonly name: string) {
    this.type = messageType(name);
  }

  encode(msg: T): Uint8Array {
    return this.type.encode(msg as protobuf.Message).finish();
  }

  decode(bytes: Uint8Array): T {
    const buf = asBuffer(bytes);
    try {
      return this.type.decode(buf) as unknown as T;
    } catch (err) {
      throw malformed(this.name, err);
    }
  }
}

const made = new Map<string, MessageCodec<unknown>>();

/**
 * The codec of message `shoal.<name>`, made once. For messages without a named codec
 * below; T must be the message's shape from messages.ts.
 */
export function codecFor<T>(name: string): MessageCodec<T> {
  let c = made.get(name);
  if (c === undefined) {
    c = new ReflectionCodec<unknown>(name);
    made.set(name, c);
  }
  return c as MessageCodec<T>;
}

export const SiblingSetCodec = codecFor<SiblingSet>('SiblingSet');
export const HintRecordCodec = codecFor<HintRecord>('HintRecord');
export const MemberCodec = codecFor<Member>('Member');
export const MemberUpdateCodec = codecFor<MemberUpdate>('MemberUpdate');
export const GossipPacketCodec = codecFor<GossipPacket>('GossipPacket');
export const PushPullCodec = codecFor<PushPull>('PushPull');
export const RingStateCodec = codecFor<RingState>('RingState');
export const EnvelopeCodec = codecFor<Envelope>('Envelope');
