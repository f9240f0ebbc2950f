// A Bloom filter over the data keys on disk, so that the first write of a new key
// (and a read of an absent one) skips the LevelDB lookup that would miss: on a
// store of 300K keys that lookup was ~30% of the event loop's time per insert.
//
// It answers only "certainly absent" or "maybe present", from the key's 64-bit
// hash (bytes 1..8 of a data key). It must never call a stored key absent, or a
// write would replace siblings it never saw; so it says nothing (ready false)
// until it holds every key: after open, a background scan adds the keys on disk,
// while every write adds its key as it goes into a batch. Removed keys stay in it
// (false positives cost a read, nothing else).
//
// Blocked layout (one 512-bit block per key, 7 bits in it: one cache line per
// lookup), 10 bits per key, ~1% false positives per stage. It grows by stages:
// when the newest stage holds its capacity, a stage twice its size is added (so
// at most ~2.5 bytes per key are allocated); a lookup checks every stage.
import type { ClassicLevel } from 'classic-level';

const BITS_PER_KEY = 10;
const PROBES = 7;
const BLOCK_WORDS = 16; // 512 bits
const FIRST_CAPACITY = 1 << 16;
/** Keys per iterator step of the scan: ~1 ms of the event loop each here. */
const SCAN_STEP = 256;

/** One stage's state, as saved and restored (filter-snapshot.ts). */
export interface StageState {
  capacity: number;
  count: number;
  words: Uint32Array;
}

class Stage {
  readonly words: Uint32Array;
  private readonly blocks: number;
  count = 0;

  constructor(
    readonly capacity: number,
    words?: Uint32Array,
  ) {
    this.blocks = blocksFor(capacity);
    this.words = words ?? new Uint32Array(this.blocks * BLOCK_WORDS);
  }

  /** The first word of the key's block (a multiply-shift of a mixed hash: any block count). */
  private base(hi: number, lo: number): number {
    return Math.floor(((Math.imul(hi ^ (lo >>> 15), 0x9e3779b1) >>> 0) * this.blocks) / 0x1_0000_0000) * BLOCK_WORDS;
  }

  add(hi: number, lo: number): void {
    const base = this.base(hi, lo);
    const step = (hi >>> 9) | 1;
    for (let i = 0, p = lo; i < PROBES; i++, p += step) this.words[base + ((p >>> 5) & 15)]! |= 1 << (p & 31);
    this.count++;
  }

  has(hi: number, lo: number): boolean {
    const base = this.base(hi, lo);
    const step = (hi >>> 9) | 1;
    for (let i = 0, p = lo; i < PROBES; i++, p += step) {
      if ((this.words[base + ((p >>> 5) & 15)]! & (1 << (p & 31))) === 0) return false;
    }
    return true;
  }
}

export class KeyFilter {
  private stages: Stage[] = [new Stage(FIRST_CAPACITY)];
  /** True once every key on disk is in the filter: only then does it exclude. */
  ready = false;
  /** Lookups answered "absent" (reads saved). */
  skips = 0;

  /**
   * A ready filter from saved stages, or undefined when they are not what this
   * code builds (capacities that do not double from the first, wrong sizes).
   */
  static restore(stages: readonly StageState[]): KeyFilter | undefined {
    if (stages.length === 0) return undefined;
    const f = new KeyFilter();
    f.stages = [];
    let capacity = FIRST_CAPACITY;
    for (const st of stages) {
      if (st.capacity !== capacity || st.words.length !== blocksFor(capacity) * BLOCK_WORDS || st.count < 0 || st.count > capacity) return undefined;
      const stage = new Stage(capacity, st.words);
      stage.count = st.count;
      f.stages.push(stage);
      capacity *= 2;
    }
    f.ready = true;
    return f;
  }

  /** The stages' state, to save (the words are the filter's own, not copies). */
  snapshot(): StageState[] {
    return this.stages.map((s) => ({ capacity: s.capacity, count: s.count, words: s.words }));
  }

  /** Adds a data key (its hash: bytes 1..8). */
  add(dbKey: Uint8Array): void {
    const hi = readU32(dbKey, 1);
    const lo = readU32(dbKey, 5);
    if (this.has(hi, lo)) return; // counted once, so stages fill by distinct keys
    let s = this.stages[this.stages.length - 1]!;
    if (s.count >= s.capacity) {
      s = new Stage(s.capacity * 2);
      this.stages.push(s);
    }
    s.add(hi, lo);
  }

  /** True when the data key is certainly not stored (only once ready). */
  excludes(dbKey: Uint8Array): boolean {
    if (!this.ready || this.has(readU32(dbKey, 1), readU32(dbKey, 5))) return false;
    this.skips++;
    return true;
  }

  /** Distinct keys added, and the filter's bytes. */
  get size(): { keys: number; bytes: number } {
    let keys = 0;
    let bytes = 0;
    for (const s of this.stages) {
      keys += s.count;
      bytes += s.words.byteLength;
    }
    return { keys, bytes };
  }

  private has(hi: number, lo: number): boolean {
    for (const s of this.stages) if (s.has(hi, lo)) return true;
    return false;
  }

  /**
   * Adds every key of [gte, lt) on disk, then marks the filter ready; gives up
   * (leaving it not ready) when stop() turns true. Keys written meanwhile are
   * added by the write path, so the scan's snapshot need not see them.
   */
  async fill(db: ClassicLevel<Buffer, Buffer>, range: { gte: Buffer; lt: Buffer }, stop: () => boolean): Promise<void> {
    const it = db.iterator({ ...range, keys: true, values: false });
    try {
      for (;;) {
        if (stop()) return;
        const entries = await it.nextv(SCAN_STEP);
        if (entries.length === 0) break;
        for (const [k] of entries) this.add(k);
      }
    } finally {
      await it.close();
    }
    if (!stop()) this.ready = true;
  }
}

/** 512-bit blocks in a stage of this capacity (a saved stage must have as many). */
function blocksFor(capacity: number): number {
  return Math.ceil((capacity * BITS_PER_KEY) / (BLOCK_WORDS * 32));
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}
