// Which nodes a request goes to: the key's N replicas, each unreachable one
// replaced by the next reachable node of the ring walk (the sloppy quorum).
import type { PreferenceLists } from '../ring/index.js';

export interface Target {
  /** The node the request goes to. */
  node: string;
  /** The replica it stands in for ('' when it is that replica itself). */
  standsFor: string;
}

/**
 * Targets for a key's partition. A fallback is taken in walk order and never twice;
 * `next()` yields further fallbacks for targets that fail during the request.
 */
export class TargetSet {
  readonly targets: Target[] = [];
  /** Unreachable replicas for which the walk had no fallback left. */
  readonly unplaced: string[] = [];
  /** The key's N intended replicas, reachable or not. */
  readonly replicas: readonly string[];
  /** The checksum of the ring these targets come from (8 bytes). */
  readonly ringId: Uint8Array;
  private readonly walk: readonly string[];
  private cursor: number;
  private readonly used = new Set<string>();

  constructor(
    placement: PreferenceLists,
    partition: number,
    n: number,
    private readonly isReachable: (id: string) => boolean,
  ) {
    this.walk = placement.walk(partition);
    this.ringId = placement.ringId;
    this.replicas = this.walk.slice(0, n);
    this.cursor = this.replicas.length;
    for (const id of this.replicas) this.used.add(id);
    for (const id of this.replicas) {
      if (isReachable(id)) this.targets.push({ node: id, standsFor: '' });
      else {
        const sub = this.nextFallback();
        if (sub !== undefined) this.targets.push({ node: sub, standsFor: id });
        else this.unplaced.push(id);
      }
    }
  }

  /** A replacement for a target that failed, standing for the same replica. */
  replace(failed: Target): Target | undefined {
    const sub = this.nextFallback();
    if (sub === undefined) return undefined;
    return { node: sub, standsFor: failed.standsFor === '' ? failed.node : failed.standsFor };
  }

  private nextFallback(): string | undefined {
    while (this.cursor < this.walk.length) {
      const id = this.walk[this.cursor++]!;
      if (this.used.has(id)) continue;
      this.used.add(id);
      if (this.isReachable(id)) return id;
    }
    return undefined;
  }
}
