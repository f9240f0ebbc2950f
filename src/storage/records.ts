// The two kinds of read-modify-write records: a key's sibling set (filed in the
// expiry index by its next reclaim time) and a hint.
import { HintRecordCodec, SiblingSetCodec } from '../codec/index.js';
import type { HintRecord, SiblingSet } from '../codec/index.js';
import { reclaimAt } from '../version/index.js';
import type { OpSink } from './commit-queue.js';
import { EMPTY, expiryKey } from './layout.js';
import { encodeSiblingSet } from './set-encoding.js';
import type { RecordKind } from './record-table.js';

/** Rough heap bytes of a decoded set: buffers plus object overhead. */
export function setWeight(s: SiblingSet | null | undefined): number {
  if (s === undefined || s === null) return 64;
  let w = 128 + s.clock.length;
  for (const x of s.siblings) w += 160 + x.value.length;
  return w;
}

/** Told of every change of a data record as it goes into a batch (anti-entropy's Merkle trees). */
export type DataObserver = (dbKey: Buffer, before: SiblingSet | undefined, after: SiblingSet | undefined) => void;

export function siblingSetKind(graceMs: number, stripAfterMs: number, observe?: DataObserver): RecordKind<SiblingSet> {
  return {
    decode: (b) => SiblingSetCodec.decode(b),
    encode: encodeSiblingSet,
    changed(dbKey: Buffer, before: SiblingSet | undefined, after: SiblingSet | undefined, sink: OpSink): void {
      observe?.(dbKey, before, after);
      const t0 = reclaimAt(before, graceMs, stripAfterMs);
      const t1 = reclaimAt(after, graceMs, stripAfterMs);
      if (t0 === t1) return;
      if (t0 !== 0) sink.del(expiryKey(t0, dbKey));
      if (t1 !== 0) sink.put(expiryKey(t1, dbKey), EMPTY);
    },
    weight: (s, dbKey) => setWeight(s) + 2 * dbKey.length,
  };
}

/** Hint records; `counted` follows the number of hints stored. */
export function hintKind(counted: (delta: number) => void): RecordKind<HintRecord> {
  return {
    decode: (b) => HintRecordCodec.decode(b),
    encode: (h) => HintRecordCodec.encode(h),
    changed(_dbKey: Buffer, before: HintRecord | undefined, after: HintRecord | undefined): void {
      if (before === undefined && after !== undefined) counted(1);
      else if (before !== undefined && after === undefined) counted(-1);
    },
    weight: (h, dbKey) => setWeight(h?.set) + 2 * dbKey.length + (h?.key.length ?? 0),
  };
}
