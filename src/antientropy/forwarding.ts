// Writes during an ownership change. The coordinator writes to the current
// replicas; this wrapper of the local replica additionally forwards every version
// it commits for a partition that is changing hands to the nodes on the other side
// of the change (gaining replicas while it is pending, the old replicas for a grace
// period after it completes), before the write is acknowledged. So whichever ring
// a coordinator used, every replica of either ring ends up with an acknowledged
// write. A target that cannot be reached gets a hint instead. A write placed by
// the ring this node has now skips the nodes its coordinator sent it to already.
import type { SiblingSet } from '../codec/index.js';

/**
 * The storage operations the coordinator uses (the structure of its LocalReplica port).
 * `adopt`: keep the given buffers instead of copies (Store's PutOptions.adopt).
 */
export interface ReplicaStore {
  /** `staged` (if the store supports it) sees the new state before the commit; it passes through. */
  put(key: Buffer, value: Buffer, options: { context?: Uint8Array; ttlMs?: number; staged?: (set: SiblingSet) => void; adopt?: boolean }): Promise<SiblingSet>;
  delete(key: Buffer, options: { context?: Uint8Array; staged?: (set: SiblingSet) => void }): Promise<SiblingSet>;
  getSet(key: Buffer): Promise<SiblingSet | undefined>;
  merge(key: Buffer, set: SiblingSet): Promise<SiblingSet | undefined>;
  /** merge, keeping set's buffers (nobody changes them afterwards). */
  mergeAdopting(key: Buffer, set: SiblingSet): Promise<SiblingSet | undefined>;
  /** New time to live for the live versions (written again under new dots); undefined when none is live. */
  touch(key: Buffer, ttlMs: number): Promise<SiblingSet | undefined>;
  putHint(owner: string, key: Buffer, set: SiblingSet): Promise<unknown>;
  getHint(owner: string, key: Buffer): Promise<SiblingSet | undefined>;
}

export interface ForwardingOptions {
  /**
   * The nodes a committed version of key must also reach now; empty when its
   * partition is not changing hands. `ringId`: the ring the write's
   * coordinator placed it by (undefined: not known).
   */
  targets(key: Buffer, ringId: Uint8Array | undefined): readonly string[];
  /** Sends the version to a target (merged there without forwarding further). */
  send(nodeId: string, key: Buffer, set: SiblingSet): Promise<void>;
  /** Told of every hint stored through this replica, once stored (hinted handoff delivers promptly). */
  onHint?: (owner: string) => void;
}

export interface ForwardingStats {
  forwarded: number;
  /** Forwards that failed and were kept as hints for the target. */
  hinted: number;
}

export class ForwardingReplica implements Omit<ReplicaStore, 'mergeAdopting'> {
  readonly stats: ForwardingStats = { forwarded: 0, hinted: 0 };

  constructor(
    private readonly store: ReplicaStore,
    private readonly o: ForwardingOptions,
  ) {}

  // put, delete and merge are on every write: a plain promise chain costs less
  // than an async function's. With nothing to forward (the usual case) the
  // store's result goes back without another promise.
  put(
    key: Buffer,
    value: Buffer,
    options: { context?: Uint8Array; ttlMs?: number; staged?: (set: SiblingSet) => void; ringId?: Uint8Array; adopt?: boolean },
  ): Promise<SiblingSet> {
    try {
      return this.store.put(key, value, options).then((set) => this.forwarded(key, set, options.ringId));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  delete(key: Buffer, options: { context?: Uint8Array; staged?: (set: SiblingSet) => void; ringId?: Uint8Array }): Promise<SiblingSet> {
    try {
      return this.store.delete(key, options).then((set) => this.forwarded(key, set, options.ringId));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Keeps set's buffers (LocalReplica.merge: nobody changes them afterwards). */
  merge(key: Buffer, set: SiblingSet, ringId?: Uint8Array): Promise<SiblingSet | undefined> {
    try {
      return this.store.mergeAdopting(key, set).then((merged) => this.forwarded(key, merged, ringId));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async touch(key: Buffer, ttlMs: number, options: { ringId?: Uint8Array } = {}): Promise<SiblingSet | undefined> {
    return this.forwarded(key, await this.store.touch(key, ttlMs), options.ringId);
  }

  getSet(key: Buffer): Promise<SiblingSet | undefined> {
    return this.store.getSet(key);
  }

  async putHint(owner: string, key: Buffer, set: SiblingSet): Promise<unknown> {
    const out = await this.store.putHint(owner, key, set);
    this.o.onHint?.(owner);
    return out;
  }

  getHint(owner: string, key: Buffer): Promise<SiblingSet | undefined> {
    return this.store.getHint(owner, key);
  }

  /** `set` once it has reached the nodes on the other side of a change, if any (undefined: nothing to forward). */
  private forwarded<T extends SiblingSet | undefined>(key: Buffer, set: T, ringId: Uint8Array | undefined): T | Promise<T> {
    if (set === undefined) return set;
    const targets = this.o.targets(key, ringId);
    if (targets.length === 0) return set;
    return this.forward(key, set, targets).then(() => set);
  }

  private async forward(key: Buffer, set: SiblingSet, targets: readonly string[]): Promise<void> {
    await Promise.all(
      targets.map((id) =>
        this.o.send(id, key, set).then(
          () => {
            this.stats.forwarded++;
          },
          async () => {
            this.stats.hinted++;
            await this.putHint(id, key, set);
          },
        ),
      ),
    );
  }
}
