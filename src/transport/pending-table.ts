// Requests waiting for their reply, by request id. Not a Map: a Map that churns
// rehashes into a new table every few dozen requests, and each dropped table keeps
// a pointer to its successor and its old entries. Once one dropped table reaches the
// old generation, every later table, pending request and settled promise (with its
// reply) behind it survives young collections until the next full GC. In a client
// with 64 gets in flight that was 1.7-3 MB promoted per scavenge and 5-10 ms
// scavenges, the gets' p99 (docs/performance.md, round 9). A fixed array of
// slots, indexed by the id's low bits, is overwritten in place and chains nothing.

/** What the table stores: it assigns `id`. */
export interface HasId {
  id: number;
}

const INITIAL_SLOTS = 64;

export class PendingTable<T extends HasId> {
  private slots: Array<T | undefined> = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;

  /** `lastId`: the id before the first one given (tests start near the wrap). */
  constructor(private lastId = 0) {}

  get size(): number {
    return this.count;
  }

  /**
   * Stores `entry` under a fresh id (non-zero, 32-bit, not held by another entry) and
   * returns it. Ids increase and wrap, so an id comes back only after 2^32 requests,
   * as with a plain counter; one whose slot is taken is skipped.
   */
  add(entry: T): number {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    let id = this.lastId;
    do {
      id = (id + 1) >>> 0;
    } while (id === 0 || this.slots[id & this.mask] !== undefined);
    this.lastId = id;
    entry.id = id;
    this.slots[id & this.mask] = entry;
    this.count++;
    return id;
  }

  /** Removes and returns the entry with this id; undefined when none (late or unknown). */
  take(id: number): T | undefined {
    const i = id & this.mask;
    const e = this.slots[i];
    if (e === undefined || e.id !== id) return undefined;
    this.slots[i] = undefined;
    this.count--;
    return e;
  }

  has(id: number): boolean {
    return this.slots[id & this.mask]?.id === id;
  }

  /**
   * Removes and returns the entries `expired` picks. It visits every slot, so it
   * also gives back room a burst took once few entries are left.
   */
  removeWhere(expired: (e: T) => boolean): T[] {
    const out: T[] = [];
    if (this.count === 0) return out;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const e = slots[i];
      if (e !== undefined && expired(e)) {
        slots[i] = undefined;
        this.count--;
        out.push(e);
      }
    }
    if (slots.length > INITIAL_SLOTS && this.count * 8 < slots.length) this.resize(slots.length / 2);
    return out;
  }

  /** Removes and returns every entry, and gives back the room a burst took. */
  drain(): T[] {
    const out = this.removeWhere(() => true);
    this.slots = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
    this.mask = INITIAL_SLOTS - 1;
    return out;
  }

  /** Slots allocated now (tests). */
  get capacity(): number {
    return this.slots.length;
  }

  /**
   * Moves the entries into `size` slots, unless two would share one (then it
   * changes nothing: a shrink waits for a later call). Ids that differ modulo n
   * also differ modulo 2n, so growing always succeeds.
   */
  private resize(size: number): void {
    const slots = new Array<T | undefined>(size).fill(undefined);
    const mask = size - 1;
    for (const e of this.slots) {
      if (e === undefined) continue;
      if (slots[e.id & mask] !== undefined) return;
      slots[e.id & mask] = e;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
