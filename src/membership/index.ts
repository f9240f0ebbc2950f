// The membership face: SWIM with Lifeguard over authenticated UDP, push-pull state
// sync, and the events the ring and the coordinator follow (docs/membership.md).
export { Membership, MEMBERSHIP_PROTOCOL } from './membership.js';
export type { MembershipOptions, MembershipStats, MemberListener } from './membership.js';
export type { MemberEventName } from './state-machine.js';
export {
  lanProfile,
  fastProfile,
  profiles,
  resolveConfig,
  retransmitLimit,
  suspicionTimeouts,
  pushPullInterval,
  deadDetectionBoundMs,
} from './config.js';
export type { MembershipConfig, ProfileName } from './config.js';
export { FilteredPushPullChannel, MemoryPushPullNetwork } from './push-pull.js';
export type { PushPullChannel, PushPullResponder } from './push-pull.js';
export { FileIncarnationStore, MemoryIncarnationStore } from './incarnation-store.js';
export type { IncarnationStore } from './incarnation-store.js';
export { SimulatedTime, systemTimers } from './timers.js';
export type { Timers, TimerHandle } from './timers.js';
export { viewChecksum } from './view.js';
export { parseSeed } from './sync.js';
export { SimulatedCluster, seededRandom } from './simulation.js';
export type { SimulatedClusterOptions, SimulatedMember } from './simulation.js';
export { PacketCodec } from './packet.js';
