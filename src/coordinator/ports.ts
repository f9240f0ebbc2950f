// What the coordinator needs from the parts below it. node.ts adapts the storage
// engine, the RPC transport and membership to these; unit tests use fakes.
import type { QuorumScope, SiblingSet } from '../codec/index.js';

export type { QuorumScope };
import type { PreferenceLists } from '../ring/index.js';

/**
 * This node's own replica: the storage engine. `ringId` on writes is the
 * checksum of the ring the coordinator placed the write by (undefined: not known);
 * during an ownership change the replica uses it to tell which other nodes the
 * coordinator has already sent the write to.
 */
export interface LocalReplica {
  /**
   * Coordinates a write locally (new dot); resolves with the key's resulting state
   * once it has committed. `staged`, when given, is called with that state as soon
   * as it is computed, before the commit (the coordinator replicates it meanwhile);
   * an implementation that cannot tell early calls it at the commit, or not at all.
   * `adopt`: nobody changes `value` afterwards; keep it rather than a copy.
   */
  put(
    key: Buffer,
    value: Buffer,
    options: { context?: Uint8Array; ttlMs?: number; staged?: (set: SiblingSet) => void; ringId?: Uint8Array; adopt?: boolean },
  ): Promise<SiblingSet>;
  /** A tombstone write; `staged` as for put. */
  delete(key: Buffer, options: { context?: Uint8Array; staged?: (set: SiblingSet) => void; ringId?: Uint8Array }): Promise<SiblingSet>;
  getSet(key: Buffer): Promise<SiblingSet | undefined>;
  /** Folds another replica's state in (idempotent). Nobody changes set's buffers afterwards: they may be kept. */
  merge(key: Buffer, set: SiblingSet, ringId?: Uint8Array): Promise<SiblingSet | undefined>;
  /** Gives the live versions a new time to live (a write under new dots); undefined when none is live here. */
  touch(key: Buffer, ttlMs: number, options?: { ringId?: Uint8Array }): Promise<SiblingSet | undefined>;
  putHint(owner: string, key: Buffer, set: SiblingSet): Promise<unknown>;
  getHint(owner: string, key: Buffer): Promise<SiblingSet | undefined>;
}

/** Where ReplicaPeers.writeTo reports: exactly one of the two, once, possibly before writeTo returns. */
export interface WriteOutcome {
  written(): void;
  failed(err: unknown): void;
}

/** Requests to other nodes (the RPC transport, addressed by node id). */
export interface ReplicaPeers {
  /**
   * `ringId`: the ring the write was placed by (undefined: not known, e.g. a hint
   * delivered later). `relayTo`: replicas of the node's dc it passes the write on to
   * before answering (only to nodes for which ClusterView.canRelay is true).
   */
  write(nodeId: string, key: Buffer, set: SiblingSet, hintFor: string, timeoutMs: number, ringId?: Uint8Array, relayTo?: readonly string[]): Promise<void>;
  /**
   * As write() without a relay, with the outcome given to `outcome` instead of a
   * promise (the coordinator's replica writes, two per put, make none). Absent:
   * the coordinator uses write().
   */
  writeTo?(nodeId: string, key: Buffer, set: SiblingSet, hintFor: string, timeoutMs: number, ringId: Uint8Array | undefined, outcome: WriteOutcome): void;
  /**
   * Several plain writes (no hint, ring or relay) to one node in one request;
   * resolves with the indexes of those that failed. Absent: not supported.
   */
  writeMany?(nodeId: string, writes: ReadonlyArray<{ key: Buffer; set: SiblingSet }>, timeoutMs: number): Promise<number[]>;
  read(nodeId: string, key: Buffer, readFor: string, timeoutMs: number): Promise<SiblingSet | undefined>;
  forwardPut(
    nodeId: string,
    req: { key: Buffer; value: Buffer; context: Uint8Array; ttlMs: number; w: number; scope?: QuorumScope | undefined },
    timeoutMs: number,
  ): Promise<{ context: Buffer }>;
  forwardDelete(nodeId: string, req: { key: Buffer; context: Uint8Array; w: number; scope?: QuorumScope | undefined }, timeoutMs: number): Promise<void>;
  forwardTouch(
    nodeId: string,
    req: { key: Buffer; ttlMs: number; r: number; w: number; scope?: QuorumScope | undefined },
    timeoutMs: number,
  ): Promise<{ touched: boolean; context: Buffer }>;
}

/** What the coordinator reads of the cluster's state. */
export interface ClusterView {
  /** The current ring's preference lists. */
  placement(): PreferenceLists;
  /** Whether membership believes the node can be reached (alive or suspect). */
  isReachable(nodeId: string): boolean;
  /** Whether the node passes relayed writes on (ReplicaWrite.relay_to); absent: no node does. */
  canRelay?(nodeId: string): boolean;
}
