// TypeScript shapes of the messages in proto/shoal.proto. Decoded messages have
// every scalar and bytes field set (defaults: 0, false, '', empty Buffer); message
// fields and oneof members may be null or undefined. Defaults and oneof names are
// read through the prototype: spreads and JSON see only fields that were on the wire.

export const MemberStatus = { ALIVE: 0, SUSPECT: 1, DEAD: 2, LEFT: 3 } as const;
export type MemberStatus = (typeof MemberStatus)[keyof typeof MemberStatus];

export const RingStatus = { JOINING: 0, ACTIVE: 1, LEAVING: 2 } as const;
export type RingStatus = (typeof RingStatus)[keyof typeof RingStatus];

export const QuorumScopeCode = { DEFAULT: 0, GLOBAL: 1, LOCAL: 2 } as const;
export type QuorumScopeCode = (typeof QuorumScopeCode)[keyof typeof QuorumScopeCode];

export const WireErrorCode = {
  ERROR_UNSPECIFIED: 0,
  QUORUM_UNAVAILABLE: 1,
  TIMEOUT: 2,
  TOO_LARGE: 3,
  BAD_CONTEXT: 4,
  UNAUTHORIZED: 5,
  BAD_REQUEST: 6,
  UNKNOWN_MESSAGE: 7,
  OVERLOADED: 8,
  INTERNAL: 9,
  UNAVAILABLE: 10,
  STALE_RING: 11,
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

export interface Sibling {
  dot: Uint8Array;
  value: Uint8Array;
  tombstone: boolean;
  expiresAt: number;
  writtenAt: number;
}

export interface SiblingSet {
  clock: Uint8Array;
  siblings: Sibling[];
}

export interface HintRecord {
  key: Uint8Array;
  set?: SiblingSet | null;
  createdAt: number;
}

export interface Member {
  id: string;
  host: string;
  port: number;
  dc: string;
  rack: string;
  capacity: number;
  incarnation: number;
  status: MemberStatus;
  ringStatus: RingStatus;
  httpPort: number;
  protocol: number;
  statusAt: number;
}

export interface MemberUpdate {
  id: string;
  incarnation: number;
  status: MemberStatus;
  from: string;
  member?: Member | null;
}

export interface Ping {
  seq: number;
  target: string;
}
export interface Ack {
  seq: number;
}
export interface PingReq {
  seq: number;
  target: string;
  host: string;
  port: number;
}
export interface Nack {
  seq: number;
}

export interface GossipPacket {
  from: string;
  body?: 'ping' | 'ack' | 'pingReq' | 'nack';
  ping?: Ping | null;
  ack?: Ack | null;
  pingReq?: PingReq | null;
  nack?: Nack | null;
  updates: MemberUpdate[];
  viewChecksum: Uint8Array;
}

export interface PushPull {
  members: Member[];
  join: boolean;
  ring?: RingState | null;
  /** The sender's replication in canonical form (formatReplication); '' or absent from older nodes. */
  replication?: string;
}

export interface WireError {
  code: WireErrorCode;
  message: string;
}

export interface ClientGet {
  key: Uint8Array;
  r: number;
  scope?: QuorumScopeCode;
}
export interface ClientGetReply {
  values: Uint8Array[];
  context: Uint8Array;
}
export interface ClientPut {
  key: Uint8Array;
  value: Uint8Array;
  context: Uint8Array;
  ttlMs: number;
  w: number;
  forwarded: boolean;
  scope?: QuorumScopeCode;
}
export interface ClientPutReply {
  context: Uint8Array;
}
export interface ClientDelete {
  key: Uint8Array;
  context: Uint8Array;
  w: number;
  forwarded: boolean;
  scope?: QuorumScopeCode;
}
export type ClientDeleteReply = Record<string, never>;
export interface ClientTouch {
  key: Uint8Array;
  ttlMs: number;
  r: number;
  w: number;
  scope?: QuorumScopeCode;
  forwarded: boolean;
}
export interface ClientTouchReply {
  touched: boolean;
  context: Uint8Array;
}
export type RingRequest = Record<string, never>;
export interface PartitionOwners {
  nodes: string[];
}
export type RingPushReply = Record<string, never>;
export interface RingState {
  version: number;
  partitions: number;
  nodes: string[];
  owners: number[];
  /** A pending ownership change; empty (or absent when encoding) when none is pending. */
  nextOwners?: number[];
  joining?: number[];
  leaving?: number[];
  ready?: number[];
}
export interface RingReply {
  partitions: number;
  checksum: Uint8Array;
  members: Member[];
  owners: PartitionOwners[];
  n: number;
  ring?: RingState | null;
  /** Replicas per dc; empty: n in all. */
  replication?: DcReplicas[];
  /** The node's default R (0 from nodes that predate it). */
  r?: number;
  /** The node's default quorum scope (DEFAULT from nodes that predate it). */
  scope?: QuorumScopeCode;
}
export interface DcReplicas {
  dc: string;
  n: number;
}

export interface ReplicaWrite {
  key: Uint8Array;
  set?: SiblingSet | null;
  hintFor: string;
  /** The checksum (8 bytes) of the ring the coordinator placed the write by; empty or absent: not known. */
  ringId?: Uint8Array;
  /** Replicas of the receiver's dc it passes the write on to before answering (a remote dc's copy relayed). */
  relayTo?: readonly string[];
}
export type ReplicaWriteReply = Record<string, never>;
export interface ReplicaWrites {
  writes: ReplicaWrite[];
}
export interface ReplicaWritesReply {
  /** Indexes into the request's writes, ascending; the others were applied. */
  failed: number[];
  /** errors[i]: why writes[failed[i]] failed. */
  errors: WireError[];
}
export interface ReplicaRead {
  key: Uint8Array;
  readFor: string;
  /** The reader's ring checksum (8 bytes, or empty): a node whose ring differs refuses the read. */
  ringId?: Uint8Array;
}
export interface ReplicaReadReply {
  found: boolean;
  set?: SiblingSet | null;
}

export interface Hello {
  nonce: Uint8Array;
  protocol: number;
  nodeId: string;
  /** A client token's name ('' or absent: the sender holds a cluster key). */
  client?: string;
  clientKeyId?: Uint8Array;
}
export interface HelloProof {
  keyId: Uint8Array;
  proof: Uint8Array;
}

export interface AeRoots {
  partitions: number;
  segments: number;
  fanout: number;
  partition: number[];
  roots: Uint8Array;
}
export interface AeRootsReply {
  differing: number[];
  unknown: number[];
}
export interface AeTree {
  partitions: number;
  partition: number;
  segments: number;
  fanout: number;
  root: Uint8Array;
  transfer: boolean;
}
export interface AeTreeReply {
  equal: boolean;
  tree: Uint8Array;
}
export interface AeKeys {
  partitions: number;
  partition: number;
  segments: number;
  segmentBits: Uint8Array;
  after: Uint8Array;
  maxBytes: number;
}
export interface AeKeysReply {
  keys: Uint8Array[];
  digests: Uint8Array;
  more: boolean;
  last: Uint8Array;
}
export interface AeEntry {
  key: Uint8Array;
  set?: SiblingSet | null;
}
export interface AeSync {
  partitions: number;
  partition: number;
  push: AeEntry[];
  pull: Uint8Array[];
}
export interface AeSyncReply {
  entries: AeEntry[];
  answered: number;
}

/** The bodies an Envelope can carry, by oneof member name. */
export interface EnvelopeBodies {
  error: WireError;
  hello: Hello;
  helloProof: HelloProof;
  pushPull: PushPull;
  pushPullReply: PushPull;
  replicaWrite: ReplicaWrite;
  replicaWriteReply: ReplicaWriteReply;
  replicaRead: ReplicaRead;
  replicaReadReply: ReplicaReadReply;
  replicaWrites: ReplicaWrites;
  replicaWritesReply: ReplicaWritesReply;
  clientGet: ClientGet;
  clientGetReply: ClientGetReply;
  clientPut: ClientPut;
  clientPutReply: ClientPutReply;
  clientDelete: ClientDelete;
  clientDeleteReply: ClientDeleteReply;
  clientTouch: ClientTouch;
  clientTouchReply: ClientTouchReply;
  ringRequest: RingRequest;
  ringReply: RingReply;
  ringPush: RingState;
  ringPushReply: RingPushReply;
  aeRoots: AeRoots;
  aeRootsReply: AeRootsReply;
  aeTree: AeTree;
  aeTreeReply: AeTreeReply;
  aeKeys: AeKeys;
  aeKeysReply: AeKeysReply;
  aeSync: AeSync;
  aeSyncReply: AeSyncReply;
}
export type EnvelopeKind = keyof EnvelopeBodies;

/** A decoded frame: `body` names the member that is set (undefined: unknown type). */
export type Envelope = { id: number; body?: EnvelopeKind } & { [K in EnvelopeKind]?: EnvelopeBodies[K] | null };
