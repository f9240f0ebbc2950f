// Hints: versions held for an intended owner that was unreachable (hinted
// handoff). Keyed by owner, then key hash and key; a hint for the same owner and
// key merges with the one already held.
import type { ClassicLevel } from 'classic-level';
import type { HintRecord, SiblingSet } from '../codec/index.js';
import { OverloadedError } from '../errors.js';
import { native } from '../native.js';
import { digest, sync } from '../version/index.js';
import { HINT, hintKey, hintKeyOwner, hintPrefix } from './layout.js';
import type { RecordTable } from './record-table.js';

export interface StoredHint {
  key: Buffer;
  set: SiblingSet;
  createdAt: number;
  /** digest(set): pass it to deleteHint so that a hint updated since is kept. */
  digest: bigint;
}

export class HintArea {
  /**
   * Hints held, counting those not yet committed (only put and delete change
   * hints): the bound is checked against it, so a burst within one batch cannot
   * overshoot. Set from disk at open.
   */
  count = 0;
  /** New hints refused because the area was full. */
  refused = 0;

  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly table: RecordTable<HintRecord>,
    private readonly maxHints: number,
  ) {}

  /**
   * Merges set into the owner's hint for key. A new hint when maxHints are held
   * is refused with OverloadedError (a merge into a held one is not). Arguments
   * are checked by the caller.
   */
  put(owner: Buffer, key: Uint8Array, set: SiblingSet, now: number): Promise<HintRecord> {
    const hk = hintKey(owner, native.hash64(key), key);
    return this.table.update(hk, (cur) => {
      if (cur === undefined && this.count >= this.maxHints) {
        this.refused++;
        throw new OverloadedError(`hint store full (${this.maxHints} hints held); the write is not kept for its owner here`);
      }
      const merged = sync(cur?.set ?? undefined, set)!;
      if (cur !== undefined && merged === cur.set) return cur;
      if (cur === undefined) this.count++;
      return { key: cur?.key ?? Buffer.from(key), set: merged, createdAt: cur?.createdAt || now };
    }) as Promise<HintRecord>;
  }

  /** The owner's committed hint for key. */
  async get(owner: Buffer, key: Uint8Array): Promise<SiblingSet | undefined> {
    const hk = hintKey(owner, native.hash64(key), key);
    return (await this.table.read(hk))?.set ?? undefined;
  }

  /** Deletes the owner's hint for key; with ifDigest, only while its set still has that digest. */
  async delete(owner: Buffer, key: Uint8Array, ifDigest: bigint | undefined): Promise<boolean> {
    const hk = hintKey(owner, native.hash64(key), key);
    let deleted = false;
    await this.table.update(hk, (cur) => {
      if (cur === undefined || (ifDigest !== undefined && (cur.set == null || digest(cur.set) !== ifDigest))) return cur;
      deleted = true;
      this.count--;
      return undefined;
    });
    return deleted;
  }

  /** The owner's committed hints, in key-hash order. */
  async *scan(owner: Buffer, limit: number): AsyncGenerator<StoredHint> {
    const prefix = hintPrefix(owner);
    const end = Buffer.from(prefix);
    end[end.length - 1] = 1;
    const it = this.db.iterator({ gte: prefix, lt: end, limit });
    try {
      for (;;) {
        const entries = await it.nextv(128);
        if (entries.length === 0) return;
        for (const [k, v] of entries) {
          const h = this.table.decode(v, k);
          const set = h.set ?? { clock: Buffer.from([1, 0]), siblings: [] };
          yield { key: Buffer.from(h.key), set, createdAt: h.createdAt, digest: digest(set) };
        }
      }
    } finally {
      await it.close();
    }
  }

  /** Every owner with at least one committed hint, in byte order. */
  async owners(): Promise<string[]> {
    const out: string[] = [];
    let from: Buffer = Buffer.from([HINT]);
    const lt = Buffer.from([HINT + 1]);
    for (;;) {
      const keys = await this.db.keys({ gt: from, lt, limit: 1 }).all();
      if (keys.length === 0) return out;
      const owner = hintKeyOwner(keys[0]!);
      out.push(owner.toString('utf8'));
      from = hintPrefix(owner);
      from[from.length - 1] = 1; // past every key of this owner
    }
  }

  /** Counts the stored hints by walking the area (at open). */
  async countStored(): Promise<number> {
    let n = 0;
    const it = this.db.keys({ gte: Buffer.from([HINT]), lt: Buffer.from([HINT + 1]) });
    try {
      for (;;) {
        const keys = await it.nextv(1000);
        if (keys.length === 0) return n;
        n += keys.length;
      }
    } finally {
      await it.close();
    }
  }
}
