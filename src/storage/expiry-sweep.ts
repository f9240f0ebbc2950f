// The sweep of the expiry index: for every entry filed at or before `now`, the
// record is re-read through the serialised update path (so it never races a
// write) and reclaimed: expired values emptied, expired remains and tombstones
// past the grace period dropped, records left without siblings deleted. The
// index entry moves with the record in the same batch (records.ts).
import type { ClassicLevel } from 'classic-level';
import type { SiblingSet } from '../codec/index.js';
import { reclaim, reclaimAt } from '../version/index.js';
import type { CommitQueue } from './commit-queue.js';
import { EMPTY, EXPIRY, expiryBound, expiryDataKey, expiryKey, expiryTime } from './layout.js';
import type { RecordTable } from './record-table.js';

export interface ReclaimPeriods {
  graceMs: number;
  /** Delay after expiry before a value is emptied (clock-skew allowance). */
  skewMs: number;
}

/** The sweep's reads of uncached records go to the thread pool (RecordTable.update). */
const BACKGROUND = true;

export class ExpirySweep {
  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly table: RecordTable<SiblingSet>,
    private readonly queue: CommitQueue,
    private readonly periods: ReclaimPeriods,
    private readonly entriesPerStep: number,
  ) {}

  /** Handles every entry due at `now`; resolves with the number of records changed. */
  async run(now: number): Promise<number> {
    let changed = 0;
    let from: Buffer = Buffer.from([EXPIRY]);
    const lt = expiryBound(now);
    for (;;) {
      const keys = await this.db.keys({ gt: from, lt, limit: this.entriesPerStep }).all();
      if (keys.length === 0) break;
      const done = await Promise.all(keys.map((k) => this.entry(k, now)));
      for (const d of done) if (d) changed++;
      if (keys.length < this.entriesPerStep) break;
      from = keys[keys.length - 1]!;
    }
    return changed;
  }

  private async entry(indexKey: Buffer, now: number): Promise<boolean> {
    const { graceMs, skewMs } = this.periods;
    const dbKey = expiryDataKey(indexKey);
    let changed = false;
    let refiled: Promise<void> | undefined;
    await this.table.update(dbKey, (cur) => {
      const next = cur === undefined ? undefined : reclaim(cur, now, graceMs, skewMs);
      if (next !== cur) {
        changed = true;
        return next;
      }
      // An entry that does not match its record (filed under other periods, or
      // its record is gone): file the record again under its real time.
      const t = reclaimAt(cur, graceMs, skewMs);
      if (t !== expiryTime(indexKey)) {
        refiled = this.queue.raw(indexKey, undefined).done;
        if (t !== 0) this.queue.raw(expiryKey(t, dbKey), EMPTY);
      }
      return cur;
    }, BACKGROUND);
    await refiled;
    return changed;
  }
}
