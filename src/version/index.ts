// Dotted-version-vector semantics of a key's sibling set (docs/architecture.md
// "Sibling sets"). Pure: no I/O, no clocks; time comes in as arguments.
export { EMPTY_CONTEXT, parseContext } from './context.js';
export { nextCounter } from './counter.js';
export { digest } from './digest.js';
export { DOT_BYTES, MAX_COUNTER, compareDots, dotActor, dotCounter, encodeDot } from './dot.js';
export {
  DEFAULT_MAX_CLOCK_ENTRIES,
  applyWrite,
  hasLive,
  isLive,
  liveValues,
  pruneClock,
  sameBytes,
  reclaim,
  reclaimAt,
  sameVersions,
  sync,
} from './sibling-set.js';
export type { Write } from './sibling-set.js';
export { checkSiblingSet } from './validate.js';
