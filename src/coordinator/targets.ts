// Which nodes a request goes to: the key's replicas, each unreachable one
// replaced by the next reachable node of the ring walk (the sloppy quorum).
import type { PreferenceLists } from '../ring/index.js';

export interface Target {
  /** The node the request goes to. */
  node: string;
  /** The replica it stands in for ('' when it is that replica itself). */
  standsFor: string;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Targets for a key's partition. A fallback is taken in walk order and never twice;
 * with replicas per data centre, a stand-in comes from the replica's own dc while
 * that has a reachable node left, then from anywhere. A stand-in counts where its
 * replica would (dcOf): a dc that has lost too many nodes for a local quorum is
 * answered at another dc's latency rather than refused, as a sloppy quorum is.
 * `replace()` yields further fallbacks for targets that fail during the request.
 */
export class TargetSet {
  readonly targets: Target[] = [];
  /** Unreachable replicas for which the walk had no fallback left. */
  unplaced: readonly string[] = NONE;
  /** The key's intended replicas, reachable or not. */
  readonly replicas: readonly string[];
  /** The checksum of the ring these targets come from (8 bytes). */
  readonly ringId: Uint8Array;
  private readonly walk: readonly string[];
  private cursor: number;
  /** Nodes the walk has taken (the replicas, then fallbacks); made at the first fallback. */
  private used: Set<string> | undefined;

  constructor(
    private readonly placement: PreferenceLists,
    partition: number,
    private readonly isReachable: (id: string) => boolean,
  ) {
    this.walk = placement.walk(partition);
    this.ringId = placement.ringId;
    this.replicas = placement.replicas(partition);
    this.cursor = this.replicas.length;
    for (const id of this.replicas) {
      if (isReachable(id)) this.targets.push({ node: id, standsFor: '' });
      else {
        const sub = this.nextFallback(id);
        if (sub !== undefined) this.targets.push({ node: sub, standsFor: id });
        else this.unplaced = [...this.unplaced, id];
      }
    }
  }

  /** The data centre of the replica a target is or stands for. */
  dcOf(t: Target): string {
    return this.placement.dcOf(t.standsFor === '' ? t.node : t.standsFor);
  }

  /** A replacement for a target that failed, standing for the same replica. */
  replace(failed: Target): Target | undefined {
    const owner = failed.standsFor === '' ? failed.node : failed.standsFor;
    const sub = this.nextFallback(owner);
    if (sub === undefined) return undefined;
    return { node: sub, standsFor: owner };
  }

  private nextFallback(owner: string): string | undefined {
    // Most requests find every replica reachable and never get here.
    this.used ??= new Set(this.replicas);
    if (this.placement.perDc !== undefined) {
      const dc = this.placement.dcOf(owner);
      for (let i = this.replicas.length; i < this.walk.length; i++) {
        const id = this.walk[i]!;
        if (this.used.has(id) || this.placement.dcOf(id) !== dc || !this.isReachable(id)) continue;
        this.used.add(id);
        return id;
      }
    }
    while (this.cursor < this.walk.length) {
      const id = this.walk[this.cursor++]!;
      if (this.used.has(id)) continue;
      this.used.add(id);
      if (this.isReachable(id)) return id;
    }
    return undefined;
  }
}
