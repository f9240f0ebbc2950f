// The coordinator face: quorum reads and writes, read repair, hinted handoff.
export { Coordinator, checkKeyLength, type CoordinatorOptions, type CoordinatorStats, type ReadResult } from './coordinator.js';
export type { ClusterView, LocalReplica, QuorumScope, ReplicaPeers } from './ports.js';
export { TargetSet, type Target } from './targets.js';
export { LatencyWindow, parseSpeculativeRetry, type SpeculativeRetry } from './latency-window.js';
export { HintedHandoff, type HandoffOptions, type HandoffStats, type HintStore } from './handoff.js';
export { PeerReplicas } from './peer-replicas.js';
