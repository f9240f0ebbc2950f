// The two kinds of read-modify-write records: a key's sibling set (filed in the
// expiry index by its next reclaim time) and a hint.
import { HintRecordCodec } from '../codec/index.js';
import type { HintRecord, SiblingSet } from '../codec/index.js';
import { reclaimAt } from '../version/index.js';
import type { OpSink } from './commit-queue.js';
import { EMPTY, expiryKey } from './layout.js';
import { decodeSiblingSet, encodeSiblingSet } from './set-encoding.js';
import type { RecordKind } from './record-table.js';

/**
 * Told of every change of a data record as it goes into a batch (anti-entropy's
 * Merkle trees). `beforeDigest` is what it returned for `before`, when known; it
 * returns `after`'s digest (or undefined), so an overwrite hashes one version, not two.
 */
export type DataObserver = (dbKey: Buffer, before: SiblingSet | undefined, after: SiblingSet | undefined, beforeDigest: bigint | undefined) => bigint | undefined;

export function siblingSetKind(graceMs: number, stripAfterMs: number, observe?: DataObserver): RecordKind<SiblingSet> {
  return {
    decode: decodeSiblingSet,
    encode: encodeSiblingSet,
    // The low 32 bits of the key's hash (layout.ts: 'd', hash u64 BE, key).
    slotHash: (k) => (k[5]! << 24) | (k[6]! << 16) | (k[7]! << 8) | k[8]!,
    changed(dbKey: Buffer, before: SiblingSet | undefined, after: SiblingSet | undefined, sink: OpSink, memo: unknown): unknown {
      const d = observe?.(dbKey, before, after, memo as bigint | undefined);
      const t0 = reclaimAt(before, graceMs, stripAfterMs);
      const t1 = reclaimAt(after, graceMs, stripAfterMs);
      if (t0 !== t1) {
        if (t0 !== 0) sink.del(expiryKey(t0, dbKey));
        if (t1 !== 0) sink.put(expiryKey(t1, dbKey), EMPTY);
      }
      return d;
    },
  };
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** Hint records (HintArea counts them as it adds and deletes them). */
export const hintKind: RecordKind<HintRecord> = {
  decode: (b) => HintRecordCodec.decode(b),
  encode: (h) => asBuffer(HintRecordCodec.encode(h)),
};
