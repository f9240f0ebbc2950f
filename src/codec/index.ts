// The protobuf schema (proto/shoal.proto), loaded once with protobufjs.
// Every decode is bounded by the caller's frame or datagram limit and throws a
// RangeError/Error on malformed input; callers turn that into a dropped datagram
// or an error reply, never a crash.
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import type {
  Envelope,
  GossipPacket,
  HintRecord,
  Member,
  PushPull,
  RingState,
  SiblingSet,
} from './messages.js';

export * from './messages.js';

// 64-bit fields hold values below 2^53 (see the .proto): decode them as numbers.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

const EMPTY = Buffer.alloc(0);

const root = protobuf.loadSync(join(packageRoot(), 'proto', 'shoal.proto'));

// Absent bytes fields decode to protobufjs's shared empty array; make them Buffers
// so that every decoded bytes field is a Uint8Array.
for (const n of Object.values((root.lookup('shoal') as protobuf.Namespace).nested ?? {})) {
  if (n instanceof protobuf.Type) {
    for (const f of n.fieldsArray) {
      if (f.type === 'bytes' && !f.repeated) (n.ctor.prototype as Record<string, unknown>)[f.name] = EMPTY;
    }
  }
}

export interface MessageCodec<T> {
  /** Encodes to a fresh Buffer. */
  encode(msg: T): Uint8Array;
  /** Decodes; throws on malformed bytes. */
  decode(bytes: Uint8Array): T;
}

function codec<T>(name: string): MessageCodec<T> {
  const type = root.lookupType('shoal.' + name);
  return {
    encode: (msg) => type.encode(msg as protobuf.Message).finish(),
    decode: (bytes) => type.decode(bytes) as unknown as T,
  };
}

export const SiblingSetCodec = codec<SiblingSet>('SiblingSet');
export const HintRecordCodec = codec<HintRecord>('HintRecord');
export const MemberCodec = codec<Member>('Member');
export const GossipPacketCodec = codec<GossipPacket>('GossipPacket');
export const PushPullCodec = codec<PushPull>('PushPull');
export const EnvelopeCodec = codec<Envelope>('Envelope');
export const RingStateCodec = codec<RingState>('RingState');

/** The loaded reflection root, for tools and tests that need the schema itself. */
export const schema: protobuf.Root = root;
