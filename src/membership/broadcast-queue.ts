// The transmit-limited broadcast queue: state changes waiting to be piggybacked on
// probe traffic. One entry per member (a newer update replaces the older one),
// least-transmitted first and newest first among equals, each sent at most `limit`
// times, packed into whatever room a datagram has left.

export interface QueuedUpdate<T> {
  /** The member the update is about; a newer update for it replaces this one. */
  readonly id: string;
  readonly update: T;
  /** The bytes to append to a packet (pre-encoded once). */
  readonly bytes: Uint8Array;
  transmits: number;
  seq: number;
}

export class BroadcastQueue<T> {
  private readonly byId = new Map<string, QueuedUpdate<T>>();
  private order: QueuedUpdate<T>[] = [];
  private dirty = false;
  private seq = 0;
  private readonly picked: QueuedUpdate<T>[] = [];

  get size(): number {
    return this.byId.size;
  }

  /** Queues an update about `id`, replacing any queued update about the same member. */
  push(id: string, update: T, bytes: Uint8Array): void {
    const old = this.byId.get(id);
    const entry: QueuedUpdate<T> = { id, update, bytes, transmits: 0, seq: this.seq++ };
    this.byId.set(id, entry);
    if (old !== undefined) this.order[this.order.indexOf(old)] = entry;
    else this.order.push(entry);
    this.dirty = true;
  }

  /** The queued update about id, if any. */
  get(id: string): QueuedUpdate<T> | undefined {
    return this.byId.get(id);
  }

  /** Drops the queued update about id. */
  delete(id: string): void {
    const e = this.byId.get(id);
    if (e === undefined) return;
    this.byId.delete(id);
    this.order.splice(this.order.indexOf(e), 1);
  }

  clear(): void {
    this.byId.clear();
    this.order = [];
  }

  /**
   * Picks updates whose bytes fit together in `budget` bytes, least-transmitted
   * first, counts one transmission for each, and drops those that reached `limit`.
   * The returned array is reused by the next call.
   */
  take(budget: number, limit: number): readonly QueuedUpdate<T>[] {
    const picked = this.picked;
    picked.length = 0;
    if (this.order.length === 0) return picked;
    if (this.dirty) {
      this.order.sort((a, b) => a.transmits - b.transmits || b.seq - a.seq);
      this.dirty = false;
    }
    let room = budget;
    let removed = 0;
    for (const e of this.order) {
      if (e.bytes.length > room) continue;
      room -= e.bytes.length;
      picked.push(e);
      e.transmits++;
      if (e.transmits >= limit) {
        this.byId.delete(e.id);
        removed++;
      }
      if (room < 8) break;
    }
    if (picked.length > 0) this.dirty = true;
    if (removed > 0) this.order = this.order.filter((e) => this.byId.get(e.id) === e);
    return picked;
  }
}
