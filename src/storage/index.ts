// The storage engine: one LevelDB per node holding sibling sets, hints, the
// expiry index and metadata (docs/storage.md).
export { Store } from './store.js';
export type { DeleteOptions, GetResult, PutOptions, ScannedRecord, StoreOptions, StoreStats } from './store.js';
export type { StoredHint } from './hint-area.js';
export type { ReadMode } from './read-queue.js';
export { FILTER_FILE } from './filter-snapshot.js';
