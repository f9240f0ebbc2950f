// The ring face: partition ownership (versioned, changed by join/leave/remove) and
// the preference lists computed from it.
export {
  type Ring,
  type Transition,
  MAX_PARTITIONS,
  createRing,
  decodeRing,
  encodeRing,
  fromRingState,
  isNewer,
  ownership,
  ringChecksum,
  ringId,
  toRingState,
} from './ring.js';
export { type CapacityOf, joinRing, leaveRing, shares } from './claim.js';
export { type Placement, type PlacementOf, PreferenceLists } from './preference.js';
export { RingKeeper, type RingKeeperEvents, type RingKeeperOptions, type RingPersistence } from './ring-keeper.js';
export {
  type RingRole,
  changeIsReady,
  completeChange,
  currentOf,
  gainedReplicas,
  markReady,
  roleIn,
  stageJoin,
  stageLeave,
  targetOf,
} from './transition.js';
export {
  type DcReplication,
  type Replication,
  MAX_REPLICAS,
  checkDcReplication,
  formatReplication,
  parseDcReplication,
  replicationTotal,
} from './replication.js';
