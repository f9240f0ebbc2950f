// Holds this node's copy of the ring: adopts newer rings from peers, persists the
// current one, applies local changes one at a time, and stages this node's join
// once it knows a ring (when it wants to be a member). Ring changes are rare (join,
// leave, remove and the steps of a pending change), so they travel whole: pushed
// to every member on change, and exchanged in membership's periodic push-pull.
import { EventEmitter } from 'node:events';
import type { CapacityOf } from './claim.js';
import { leaveRing } from './claim.js';
import { createRing, decodeRing, encodeRing, isNewer, type Ring } from './ring.js';
import { stageJoin } from './transition.js';

export interface RingPersistence {
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
}

export interface RingKeeperOptions {
  nodeId: string;
  partitions: number;
  persistence: RingPersistence;
  capacityOf: CapacityOf;
  /**
   * Whether this node may found a new ring when it knows none: true for a node
   * started without seeds. Others wait to learn the cluster's ring first, so that
   * nodes started together do not each found their own.
   */
  canFound: boolean;
  /** Sends a changed ring to the other members (best effort). */
  publish(bytes: Uint8Array): void;
  /**
   * Whether this node wants to be in the ring: when true (the default) and a ring
   * it learns lacks it, it stages its own join. False for a node started with
   * --no-join (until `shoal admin join`) and for one that is leaving.
   */
  wantsMembership?: () => boolean;
}

export interface RingKeeperEvents {
  changed: [ring: Ring, previous: Ring | undefined];
}

export class RingKeeper extends EventEmitter<RingKeeperEvents> {
  private current: Ring | undefined;
  private bytes: Uint8Array | undefined;
  /** Rejected rings from the network, counted for /status. */
  rejected = 0;
  /** Changes apply one at a time, so a slow save cannot let an older ring win. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: RingKeeperOptions) {
    super();
  }

  get ring(): Ring | undefined {
    return this.current;
  }

  /** The current ring encoded (for push-pull and RingRequest), or undefined. */
  get encoded(): Uint8Array | undefined {
    return this.bytes;
  }

  /** Loads the persisted ring; founds one if allowed and none exists. */
  open(): Promise<void> {
    return this.serial(async () => {
      const saved = await this.o.persistence.load();
      if (saved !== undefined && saved.length > 0) {
        this.current = decodeRing(saved);
        this.bytes = saved;
      } else if (this.o.canFound) {
        await this.adopt(createRing(this.o.partitions, this.o.nodeId), true);
      }
      await this.ensureMember();
    });
  }

  /**
   * Founds a ring (version 1, this node owning everything) if this node still knows
   * none; resolves true when it did. For the designated founder of a new cluster
   * after its first join round found nobody with a ring.
   */
  found(): Promise<boolean> {
    return this.serial(async () => {
      if (this.current !== undefined) return false;
      await this.adopt(createRing(this.o.partitions, this.o.nodeId), true);
      return true;
    });
  }

  /** Offers a ring from a peer (bytes from the network). Returns true if adopted. */
  offer(bytes: Uint8Array): Promise<boolean> {
    return this.serial(async () => {
      let ring: Ring;
      try {
        ring = decodeRing(bytes);
      } catch {
        this.rejected++;
        return false;
      }
      if (ring.partitions !== this.o.partitions) {
        this.rejected++;
        return false;
      }
      if (this.current !== undefined && !isNewer(ring, this.current)) return false;
      await this.adopt(ring, false);
      await this.ensureMember();
      return true;
    });
  }

  /**
   * Applies `step` to the current ring, serialised with every other change; adopts
   * and publishes the result when it differs. Resolves with the ring after the step
   * (undefined when no ring is known). A step that throws changes nothing.
   */
  change(step: (ring: Ring) => Ring): Promise<Ring | undefined> {
    return this.serial(async () => {
      const ring = this.current;
      if (ring === undefined) return undefined;
      const next = step(ring);
      if (next !== ring) await this.adopt(next, true);
      return next;
    });
  }

  /** Stages this node's join now if it wants membership and is not in the ring. */
  join(): Promise<void> {
    return this.serial(() => this.ensureMember());
  }

  /**
   * Takes `nodeId` out of the ring at once, without a staged transfer: for tools
   * and tests on rings without data. A live cluster uses change(stageLeave).
   */
  remove(nodeId: string): Promise<Ring> {
    return this.serial(async () => {
      if (this.current === undefined) throw new Error('this node knows no ring yet');
      const next = leaveRing(this.current, nodeId, this.o.capacityOf);
      if (next !== this.current) await this.adopt(next, true);
      return next;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Re-sends the current ring to everyone (e.g. after a partition heals). */
  republish(): void {
    if (this.bytes !== undefined) this.o.publish(this.bytes);
  }

  private async ensureMember(): Promise<void> {
    const ring = this.current;
    if (ring === undefined || ring.nodes.includes(this.o.nodeId)) return;
    if (this.o.wantsMembership !== undefined && !this.o.wantsMembership()) return;
    await this.adopt(stageJoin(ring, this.o.nodeId, this.o.capacityOf), true);
  }

  private async adopt(ring: Ring, publish: boolean): Promise<void> {
    const previous = this.current;
    const bytes = encodeRing(ring);
    await this.o.persistence.save(bytes);
    this.current = ring;
    this.bytes = bytes;
    this.emit('changed', ring, previous);
    if (publish) this.o.publish(bytes);
  }
}
