// The anti-entropy face: per-partition Merkle trees, scheduled exchanges between
// replicas, and ownership transfer when the ring changes (docs/operations.md).
export { type AntiEntropyConfig, antiEntropyProfiles, fastAntiEntropy, lanAntiEntropy, resolveAntiEntropy } from './config.js';
export { ByteBudget } from './byte-budget.js';
export { type DigestSource, PartitionTrees, type PartitionTreesOptions, type TreeStats } from './partition-trees.js';
export { type ExchangeStore, ExchangeResponder, type ResponderOptions, type ResponderStats, entryBytes } from './responder.js';
export { type ExchangeMode, type ExchangeOptions, type ExchangePeer, type ExchangeTally, runExchange } from './exchange.js';
export { AntiEntropy, type AntiEntropyOptions, type AntiEntropyPeer, type AntiEntropyStats } from './anti-entropy.js';
export { TransferReceiver, type TransferOptions, type TransferPlan, type TransferStats } from './transfer.js';
export { ForwardingReplica, type ForwardingOptions, type ForwardingStats, type ReplicaStore } from './forwarding.js';
export { PartitionDrop, type DropOptions, type DropStats, type DropStore } from './partition-drop.js';
export {
  Handover,
  type HandoverMembers,
  type HandoverOptions,
  type HandoverStatus,
  type IntentStore,
  type Intents,
  type MemberState,
  type SelfIntent,
  changeId,
} from './handover.js';
export { RpcExchangePeer } from './rpc-peer.js';
export { partitionBounds, scanSegments, segmentBits } from './segment-scan.js';
