// The codec face: proto/shoal.proto as TypeScript shapes (messages.ts), one
// MessageCodec per top-level message, the Envelope head reader, and the mapping
// between ShoalErrors and error replies. Formats and limits: docs/protocol.md.
export * from './messages.js';
export { schema, messageType } from './schema.js';
export {
  codecFor,
  EnvelopeCodec,
  GossipPacketCodec,
  HintRecordCodec,
  MemberCodec,
  MemberUpdateCodec,
  PushPullCodec,
  RingStateCodec,
  SiblingSetCodec,
} from './codec.js';
export type { MessageCodec } from './codec.js';
export { envelopeFieldOf, peekEnvelope } from './envelope-head.js';
export { DIRECT_ENCODERS, varintSize, writeVarint } from './direct-encoding.js';
export type { DirectEncoder } from './direct-encoding.js';
export type { EnvelopeHead } from './envelope-head.js';
export { errorFromWire, errorToWire, MAX_ERROR_MESSAGE } from './wire-error.js';
export { type QuorumScope, scopeCode, scopeOf } from './quorum-scope.js';
