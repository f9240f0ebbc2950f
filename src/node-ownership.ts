// The wiring of ownership change and repair: anti-entropy, partition transfer and
// drop, the handover state machine, the exchange responder, and the forwarding of
// writes across a ring change. Part of the composition root (src/node.ts).
import {
  AntiEntropy,
  type AntiEntropyConfig,
  ExchangeResponder,
  ForwardingReplica,
  Handover,
  type MemberState,
  PartitionDrop,
  type PartitionTrees,
  RpcExchangePeer,
  TransferReceiver,
} from './antientropy/index.js';
import type { Member } from './codec/index.js';
import { MemberStatus, RingStatus } from './codec/index.js';
import { UnavailableError } from './errors.js';
import type { Logger } from './log.js';
import type { Membership } from './membership/index.js';
import { native } from './native.js';
import type { Replication, RingKeeper } from './ring/index.js';
import type { Store } from './storage/index.js';
import type { RpcPeers } from './transport/index.js';
import { statusName } from './node-report.js';

export interface OwnershipDeps {
  id: string;
  n: Replication;
  capacity: number;
  ae: AntiEntropyConfig;
  trees: PartitionTrees;
  store: Store;
  ring: RingKeeper;
  peers: RpcPeers;
  membership: Membership;
  memberOf: (id: string) => Member | undefined;
  replicaTimeoutMs: number;
  /** Where the handover is published once built (the ring keeper reads it). */
  intentRef: { handover?: Handover };
  log: Logger;
  onLeft: (() => void) | undefined;
  /** A hint was stored for owner. */
  onHint: (owner: string) => void;
}

export interface OwnershipParts {
  forwarding: ForwardingReplica;
  antiEntropy: AntiEntropy;
  transfer: TransferReceiver;
  drop: PartitionDrop;
  handover: Handover;
  responder: ExchangeResponder;
}

const META_INTENTS = 'node.intents';
const META_TRANSFER = 'transfer.progress';

/** Alive or suspect: worth sending to. */
export const isUp = (m: Member | undefined): m is Member => m !== undefined && (m.status === MemberStatus.ALIVE || m.status === MemberStatus.SUSPECT);

export function buildOwnership(d: OwnershipDeps): OwnershipParts {
  const { id, n, capacity, ae, trees, store, ring, peers, membership, memberOf, replicaTimeoutMs, intentRef, log, onLeft, onHint } = d;
  const aePeer = (mid: string): RpcExchangePeer | undefined => {
    const m = memberOf(mid);
    return mid !== id && isUp(m) ? new RpcExchangePeer(peers, m.host, m.port, ae.requestTimeoutMs) : undefined;
  };
  const placementOf = (mid: string) => {
    const m = memberOf(mid);
    return m ? { dc: m.dc, rack: m.rack } : undefined;
  };
  const capacityOf = (mid: string) => memberOf(mid)?.capacity || (mid === id ? capacity : 1);
  const forwarding = new ForwardingReplica(store, {
    targets: (key, ringId) => {
      const h = intentRef.handover;
      const r = ring.ring;
      if (h === undefined || !h.forwarding || r === undefined) return [];
      return h.forwardTargets(native.partitionOf(key, r.partitions), ringId);
    },
    send: async (mid, key, set) => {
      const m = memberOf(mid);
      const r = ring.ring;
      if (!isUp(m) || r === undefined) throw new UnavailableError(`${mid} is not reachable`);
      // Within the coordinator's wait for this replica, so that a slow target becomes a hint, not a failed write.
      const peer = new RpcExchangePeer(peers, m.host, m.port, Math.max(100, Math.floor(replicaTimeoutMs / 2)));
      await peer.sync({ partitions: r.partitions, partition: native.partitionOf(key, r.partitions), push: [{ key, set }], pull: [] });
    },
    onHint,
  });
  const antiEntropy = new AntiEntropy({
    config: ae,
    trees,
    store,
    shared: () => intentRef.handover?.shared() ?? new Map(),
    peer: aePeer,
    onError: (err, peer, p) => log.debug('anti-entropy exchange failed', { peer, partition: p, err }),
  });
  const transfer = new TransferReceiver({
    nodeId: id,
    config: ae,
    trees,
    store,
    plan: () => intentRef.handover?.transferPlan(),
    peer: aePeer,
    isGone: (mid) => {
      const m = memberOf(mid);
      return m !== undefined && (m.status === MemberStatus.DEAD || m.status === MemberStatus.LEFT);
    },
    progress: { load: () => store.getMeta(META_TRANSFER), save: (b) => store.putMeta(META_TRANSFER, b) },
    onDone: () => intentRef.handover?.kick(),
    onError: (err, p, src) => log.debug('transfer exchange failed', { partition: p, source: src, err }),
  });
  const drop = new PartitionDrop({
    config: ae,
    store,
    budget: antiEntropy.budget,
    replicaFor: (p) => {
      for (const mid of intentRef.handover?.replicasOf(p) ?? []) {
        const peer = aePeer(mid);
        if (peer !== undefined) return peer;
      }
      return undefined;
    },
  });
  const handover = new Handover({
    nodeId: id,
    config: ae,
    n,
    keeper: ring,
    placementOf,
    capacityOf,
    members: {
      state: (mid) => {
        const m = memberOf(mid);
        return m === undefined ? undefined : (statusName(m.status) as MemberState);
      },
      setRole: (role) => membership.update({ ringStatus: role === 'active' ? RingStatus.ACTIVE : role === 'leaving' ? RingStatus.LEAVING : RingStatus.JOINING }),
      remove: (mid) => membership.remove(mid),
      leave: () => membership.leave(),
    },
    intents: { load: () => store.getMeta(META_INTENTS), save: (b) => store.putMeta(META_INTENTS, b) },
    trees,
    transfer,
    drop,
    log,
    onLeft: () => onLeft?.(),
  });
  intentRef.handover = handover;
  const responder = new ExchangeResponder({
    trees,
    store,
    segments: ae.segments,
    fanout: ae.fanout,
    maxMessageBytes: ae.maxMessageBytes,
    maxInbound: ae.maxInboundExchanges,
    mayTransfer: (peer, p) => handover.mayTransfer(peer, p),
  });
  return { forwarding, antiEntropy, transfer, drop, handover, responder };
}
