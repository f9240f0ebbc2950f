// The node's side of the RPC protocol: each request kind goes to the part that
// serves it. Input from the network is checked here before it reaches a part.
import type { PushPull, ReplicaWrite, RingState, SiblingSet, WireError } from './codec/index.js';
import { RingStateCodec, errorToWire, scopeCode, scopeOf } from './codec/index.js';
import { BadRequestError, StaleRingError, UnauthorizedError, UnknownMessageError } from './errors.js';
import { checkKeyLength } from './coordinator/index.js';
import type { ShoalNode } from './node.js';
import { type Replication, type RingKeeper, formatReplication, ringChecksum, toRingState } from './ring/index.js';
import type { Body, PeerInfo } from './transport/index.js';

/**
 * Serves one request. The request path's kinds (client get/put, replica read/write)
 * are plain promise chains: an async function per layer costs a promise and a
 * microtask turn more per request than it needs.
 */
export function handleRequest(node: ShoalNode, req: Body, peer: PeerInfo): Promise<Body> {
  try {
    switch (req.kind) {
      case 'clientGet':
        return node.coordinator.get(Buffer.from(req.value.key), { r: req.value.r, scope: scopeOf(req.value.scope) }).then(getReply);
      case 'clientPut': {
        const v = req.value;
        // Only nodes forward: a token holder's "forwarded" would make any node coordinate.
        const forwarded = v.forwarded && peer.client === '';
        return node.coordinator
          .put(Buffer.from(v.key), Buffer.from(v.value), { context: v.context, ttlMs: v.ttlMs, w: v.w, scope: scopeOf(v.scope), forwarded })
          .then(putReply);
      }
      case 'replicaWrite': {
        if (peer.client !== '') throw forClients(peer);
        return replicaWrite(node, req.value).then(writeReply);
      }
      case 'replicaWrites':
        if (peer.client !== '') throw forClients(peer);
        return replicaWrites(node, req.value.writes);
      case 'replicaRead': {
        const v = req.value;
        // A token may read a key's replica (the SDK's direct reads), not the hints kept for another node.
        if (peer.client !== '' && v.readFor !== '') throw forClients(peer);
        if (v.ringId !== undefined && v.ringId.length > 0) checkRing(node, v.ringId);
        return node.coordinator.replicaRead(checkedKey(v.key, node.store.maxKeyBytes), v.readFor).then(readReply);
      }
      default:
        return handleOther(node, req, peer);
    }
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

function getReply(value: { values: Buffer[]; context: Buffer }): Body {
  return { kind: 'clientGetReply', value };
}

function putReply(value: { context: Buffer }): Body {
  return { kind: 'clientPutReply', value };
}

const WRITE_REPLY: Body = Object.freeze({ kind: 'replicaWriteReply', value: Object.freeze({}) });

function writeReply(): Body {
  return WRITE_REPLY;
}

/** One ReplicaWrite, alone or from a batch. The store checks the set (merge and putHint both do) before anything is written. */
function replicaWrite(node: ShoalNode, w: ReplicaWrite): Promise<unknown> {
  const key = checkedKey(w.key, node.store.maxKeyBytes);
  return node.coordinator.replicaWrite(key, w.set as SiblingSet, w.hintFor, w.ringId?.length === 8 ? w.ringId : undefined, w.relayTo);
}

/** Writes one ReplicaWrites request may carry. */
export const MAX_BATCHED_WRITES = 1024;

/**
 * Writes of a batch started per macrotask. A batch is hinted handoff catching a
 * replica up; started all at once, 256 writes held the event loop long enough to
 * stall the node's live requests (docs/capacity.md), so they interleave with them.
 */
const BATCH_CHUNK = 16;

/**
 * Each write of a batch is handled as a ReplicaWrite of its own (the store's group
 * commit puts them in few LevelDB batches); the reply lists those that failed, and why.
 */
function replicaWrites(node: ShoalNode, writes: ReplicaWrite[]): Promise<Body> {
  const n = writes.length;
  if (n > MAX_BATCHED_WRITES) throw new BadRequestError(`at most ${MAX_BATCHED_WRITES} writes per request, got ${n}`);
  if (n === 0) return Promise.resolve({ kind: 'replicaWritesReply', value: { failed: [], errors: [] } });
  return new Promise<Body>((resolve) => {
    let left = n;
    let failures: Array<{ i: number; err: WireError }> | undefined;
    const settle = (): void => {
      if (--left > 0) return;
      const failed: number[] = [];
      const errors: WireError[] = [];
      if (failures !== undefined) {
        failures.sort((a, b) => a.i - b.i);
        for (const x of failures) {
          failed.push(x.i);
          errors.push(x.err);
        }
      }
      resolve({ kind: 'replicaWritesReply', value: { failed, errors } });
    };
    const start = (i: number): void => {
      const fail = (err: unknown): void => {
        (failures ??= []).push({ i, err: errorToWire(err) });
        settle();
      };
      try {
        replicaWrite(node, writes[i]!).then(settle, fail);
      } catch (err) {
        fail(err);
      }
    };
    // The decoded writes are views of their frame, which is never reused: safe to start later.
    const chunk = (from: number): void => {
      const to = Math.min(n, from + BATCH_CHUNK);
      for (let i = from; i < to; i++) start(i);
      if (to < n) setImmediate(chunk, to);
    };
    chunk(0);
  });
}

/**
 * A read placed by another ring may have been sent to a node that no longer holds
 * the key, whose "absent" would be wrong: refuse it, so the reader re-reads the ring.
 */
function checkRing(node: ShoalNode, ringId: Uint8Array): void {
  const mine = node.placement().ringId;
  if (!mine.equals(ringId)) {
    throw new StaleRingError(`this node's ring is ${mine.toString('hex')}, the read was placed by ${Buffer.from(ringId.buffer, ringId.byteOffset, ringId.byteLength).toString('hex')}`);
  }
}

function readReply(set: SiblingSet | undefined): Body {
  return { kind: 'replicaReadReply', value: { found: set !== undefined, set: set ?? null } };
}

async function handleOther(node: ShoalNode, req: Body, peer: PeerInfo): Promise<Body> {
  switch (req.kind) {
    case 'clientDelete': {
      const v = req.value;
      const forwarded = v.forwarded && peer.client === '';
      await node.coordinator.delete(Buffer.from(v.key), { context: v.context, w: v.w, scope: scopeOf(v.scope), forwarded });
      return { kind: 'clientDeleteReply', value: {} };
    }
    case 'clientTouch': {
      const v = req.value;
      const forwarded = v.forwarded && peer.client === '';
      const out = await node.coordinator.touch(Buffer.from(v.key), v.ttlMs, { r: v.r, w: v.w, scope: scopeOf(v.scope), forwarded });
      return { kind: 'clientTouchReply', value: out };
    }
    case 'ringRequest':
      return { kind: 'ringReply', value: ringReply(node) };
  }
  // Everything below is between nodes (and tools holding the cluster key).
  if (peer.client !== '') throw forClients(peer);
  switch (req.kind) {
    case 'ringPush':
      await offerRing(node.ring, req.value);
      return { kind: 'ringPushReply', value: {} };
    case 'pushPull': {
      await offerRing(node.ring, req.value.ring);
      node.checkReplication(peer.nodeId, req.value.replication);
      const mine = node.membership.handlePushPull(req.value);
      return { kind: 'pushPullReply', value: withReplication(withRing(mine, node.ring), node.replication) };
    }
    default: {
      const ae = node.responder.serve(req, peer.nodeId);
      if (ae !== undefined) return ae;
      throw new UnknownMessageError(`a node does not serve ${req.kind} requests`);
    }
  }
}

function ringReply(node: ShoalNode) {
  const ring = node.ring.ring;
  return {
    partitions: ring?.partitions ?? 0,
    checksum: ring ? u64be(ringChecksum(ring)) : Buffer.alloc(0),
    members: node.membership.members(),
    owners: [],
    n: node.coordinator.n,
    r: node.coordinator.r,
    scope: scopeCode(node.coordinator.scope),
    ring: ring ? toRingState(ring) : null,
    replication: typeof node.replication === 'number' ? [] : Object.entries(node.replication).map(([dc, n]) => ({ dc, n })),
  };
}

/** A push-pull state with this node's replication, so nodes started with different ones find out. */
export function withReplication(state: PushPull, replication: Replication): PushPull {
  return { ...state, replication: formatReplication(replication) };
}

export function withRing(state: PushPull, keeper: RingKeeper): PushPull {
  const ring = keeper.ring;
  return ring ? { ...state, ring: toRingState(ring) } : state;
}

/** Offers a ring from a peer to the keeper, which validates it and keeps the newer. */
export async function offerRing(keeper: RingKeeper, state: RingState | null | undefined): Promise<void> {
  if (state === undefined || state === null || state.partitions === 0) return;
  await keeper.offer(RingStateCodec.encode(state));
}

/** A request a client token may not make: the token reads and writes keys, nothing else. */
function forClients(peer: PeerInfo): UnauthorizedError {
  return new UnauthorizedError(`client ${peer.client} may only get, put and delete keys and read the ring`);
}

/** A key from a frame, checked as a coordinated request's is (the SDK reads replicas directly), in memory of its own. */
function checkedKey(key: Uint8Array, max: number): Buffer {
  checkKeyLength(key, max);
  return Buffer.from(key);
}

function u64be(x: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(x);
  return b;
}
