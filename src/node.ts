// The composition root: builds a node's parts, wires them together, starts them
// bottom-up and stops them top-down. No protocol logic lives here.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HttpApi } from './api/index.js';
import type { PushPull, RingState } from './codec/index.js';
import { MemberStatus, RingStateCodec } from './codec/index.js';
import { Coordinator, HintedHandoff, PeerReplicas, type ClusterView } from './coordinator/index.js';
import { BadRequestError, UnavailableError, UnknownMessageError } from './errors.js';
import { type Logger, silentLogger } from './log.js';
import { Membership, type MembershipConfig, type PushPullChannel } from './membership/index.js';
import {
  PreferenceLists,
  RingKeeper,
  decodeRing,
  ownership,
  ringChecksum,
  toRingState,
} from './ring/index.js';
import { Store } from './storage/index.js';
import { type Clock, type Startable, systemClock } from './time.js';
import { type Body, type FaultFilter, type Keyring, RpcPeers, RpcServer, UdpTransport } from './transport/index.js';
import { checkSiblingSet } from './version/index.js';

export interface NodeOptions {
  /** Stable node id; default: the one stored in the data folder, else a new one. */
  id?: string;
  host: string;
  /** TCP (peers and clients) and UDP (gossip) port; 0 picks a free one. */
  port: number;
  /** HTTP API port (0 picks a free one); undefined disables the API. */
  httpPort?: number;
  dataDir: string;
  seeds: string[];
  dc?: string;
  rack?: string;
  capacity?: number;
  n?: number;
  r?: number;
  w?: number;
  partitions?: number;
  keyring: Keyring;
  profile?: 'lan' | 'fast';
  membership?: Partial<MembershipConfig>;
  /** fsync every write batch. */
  sync?: boolean;
  maxKeyBytes?: number;
  maxValueBytes?: number;
  requestTimeoutMs?: number;
  replicaTimeoutMs?: number;
  handoffIntervalMs?: number;
  hintMaxAgeMs?: number;
  tombstoneGraceMs?: number;
  log?: Logger;
  clock?: Clock;
  /** Test-only fault injection on gossip datagrams. */
  udpFilter?: FaultFilter;
}

const META_NODE_ID = 'node.id';
const META_INCARNATION = 'node.incarnation';
const META_RING = 'node.ring';

export class ShoalNode {
  readonly id: string;
  readonly store: Store;
  readonly membership: Membership;
  readonly ring: RingKeeper;
  readonly coordinator: Coordinator;
  readonly handoff: HintedHandoff;
  readonly rpc: RpcServer;
  readonly peers: RpcPeers;
  readonly udp: UdpTransport;
  readonly http: HttpApi | undefined;
  private placementCache: PreferenceLists | undefined;
  private readonly log: Logger;
  private readonly started: Startable[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly options: NodeOptions,
    parts: {
      id: string;
      store: Store;
      membership: Membership;
      ring: RingKeeper;
      coordinator: Coordinator;
      handoff: HintedHandoff;
      rpc: RpcServer;
      peers: RpcPeers;
      udp: UdpTransport;
      http: HttpApi | undefined;
      log: Logger;
    },
  ) {
    this.id = parts.id;
    this.store = parts.store;
    this.membership = parts.membership;
    this.ring = parts.ring;
    this.coordinator = parts.coordinator;
    this.handoff = parts.handoff;
    this.rpc = parts.rpc;
    this.peers = parts.peers;
    this.udp = parts.udp;
    this.http = parts.http;
    this.log = parts.log;
  }

  /** Opens the data folder, starts every part and joins the cluster through the seeds. */
  static async start(o: NodeOptions): Promise<ShoalNode> {
    const clock = o.clock ?? systemClock;
    const n = o.n ?? 3;
    const maxKeyBytes = o.maxKeyBytes ?? 1024;
    const maxValueBytes = o.maxValueBytes ?? 1024 * 1024;
    const store = await Store.open({
      path: join(o.dataDir, 'db'),
      maxKeyBytes,
      maxValueBytes,
      sync: o.sync ?? false,
      clock,
      ...(o.tombstoneGraceMs !== undefined ? { tombstoneGraceMs: o.tombstoneGraceMs } : {}),
    });
    const cleanup: Array<() => Promise<void>> = [() => store.close()];
    try {
      const id = await nodeIdOf(store, o.id);
      const log = (o.log ?? silentLogger).child({ node: id });
      // Built before anything starts, so the RPC handler can route to every part.
      const ref: { node?: ShoalNode } = {};
      const peers = new RpcPeers({ keyring: o.keyring, nodeId: id, requestTimeoutMs: o.requestTimeoutMs ?? 5000 });
      cleanup.push(() => peers.close());
      const rpc = new RpcServer({
        host: o.host,
        port: o.port,
        keyring: o.keyring,
        nodeId: id,
        handler: (req) => {
          if (ref.node === undefined) throw new UnavailableError('the node is starting');
          return ref.node.handle(req);
        },
      });
      await rpc.start();
      cleanup.push(() => rpc.stop());
      const udp = new UdpTransport({ host: o.host, port: rpc.port, ...(o.udpFilter ? { filter: o.udpFilter } : {}) });
      await udp.start();
      cleanup.push(() => udp.stop());

      const memberOf = (mid: string) => ref.node?.membership.member(mid);
      const ring = new RingKeeper({
        nodeId: id,
        partitions: o.partitions ?? 256,
        persistence: {
          load: () => store.getMeta(META_RING),
          save: (b) => store.putMeta(META_RING, b),
        },
        capacityOf: (mid) => memberOf(mid)?.capacity || (mid === id ? (o.capacity ?? 1) : 1),
        canFound: o.seeds.length === 0,
        publish: (bytes) => ref.node?.publishRing(bytes),
      });
      ring.on('changed', (r, prev) => {
        if (ref.node) ref.node.placementCache = undefined;
        log.info('ring changed', { version: r.version, nodes: r.nodes.length, from: prev?.version });
      });

      const pushPull: PushPullChannel = {
        exchange: async (host, port, state, timeoutMs) => {
          const reply = await peers.request(host, port, { kind: 'pushPull', value: withRing(state, ring) }, { timeoutMs });
          if (reply.kind !== 'pushPullReply') throw new UnavailableError(`push-pull answered with ${reply.kind}`);
          await offerRing(ring, reply.value.ring);
          return reply.value;
        },
      };
      const membership = new Membership({
        id,
        host: o.host,
        port: rpc.port,
        dc: o.dc ?? 'dc1',
        rack: o.rack ?? 'rack1',
        capacity: o.capacity ?? 1,
        httpPort: 0,
        keyring: o.keyring,
        transport: udp,
        pushPull,
        seeds: o.seeds,
        profile: o.profile ?? 'lan',
        ...(o.membership ? { config: o.membership } : {}),
        incarnations: {
          load: async () => {
            const b = await store.getMeta(META_INCARNATION);
            return b === undefined ? undefined : Number(b.toString('utf8'));
          },
          save: (v) => store.putMeta(META_INCARNATION, Buffer.from(String(v))),
        },
      });

      const replicaTimeoutMs = o.replicaTimeoutMs ?? 1000;
      const replicaPeers = new PeerReplicas(peers, (mid) => memberOf(mid));
      const cluster: ClusterView = {
        placement: () => ref.node!.placement(),
        isReachable: (mid) => {
          const m = memberOf(mid);
          return m !== undefined && (m.status === MemberStatus.ALIVE || m.status === MemberStatus.SUSPECT);
        },
      };
      const coordinator = new Coordinator({
        nodeId: id,
        n,
        r: o.r ?? 2,
        w: o.w ?? 2,
        requestTimeoutMs: o.requestTimeoutMs ?? 5000,
        replicaTimeoutMs,
        maxKeyBytes,
        maxValueBytes,
        local: store,
        peers: replicaPeers,
        cluster,
        clock,
      });
      const handoff = new HintedHandoff({
        hints: {
          hintOwners: () => store.hintOwners(),
          scanHints: (owner) => store.scanHints(owner),
          deleteHint: (owner, key, ifDigest) => store.deleteHint(owner, key, ifDigest),
        },
        peers: replicaPeers,
        isReachable: (mid) => memberOf(mid)?.status === MemberStatus.ALIVE,
        clock,
        intervalMs: o.handoffIntervalMs ?? 5000,
        maxAgeMs: o.hintMaxAgeMs ?? 3 * 3600_000,
        concurrency: 16,
        replicaTimeoutMs,
      });
      const http =
        o.httpPort === undefined
          ? undefined
          : new HttpApi({
              host: o.host,
              port: o.httpPort,
              service: {
                maxValueBytes,
                get: (key, opts) => coordinator.get(key, opts),
                getLocal: (key) => store.get(key),
                put: (key, value, opts) => coordinator.put(key, value, opts),
                delete: (key, opts) => coordinator.delete(key, opts),
                status: () => ref.node!.status(),
                metrics: () => ref.node!.metrics(),
                healthy: () => ref.node !== undefined && ref.node.stopping === undefined,
              },
            });

      const node = new ShoalNode(o, { id, store, membership, ring, coordinator, handoff, rpc, peers, udp, http, log });
      ref.node = node;
      await ring.open();
      if (http) await http.start();
      membership.on('alive', () => handoff.kick());
      membership.on('joined', () => {
        node.placementCache = undefined;
        handoff.kick();
      });
      membership.on('updated', () => {
        node.placementCache = undefined;
      });
      await membership.start();
      node.started.push(membership);
      if (http) membership.update({ httpPort: http.port });
      await handoff.start();
      node.started.push(handoff);
      if (http) node.started.push(http);
      log.info('node started', { host: o.host, port: rpc.port, http: http?.port, seeds: o.seeds });
      return node;
    } catch (err) {
      for (const c of cleanup.reverse()) await c().catch(() => undefined);
      throw err;
    }
  }

  /** The TCP/UDP port (resolved when the options asked for 0). */
  get port(): number {
    return this.rpc.port;
  }

  get address(): string {
    return `${this.options.host}:${this.rpc.port}`;
  }

  /**
   * Stops serving, flushes and closes. Without `leave`, the node stays in the ring
   * (its replicas are covered by hints until it returns); peers will see it dead.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of [...this.started].reverse()) await part.stop().catch((err: unknown) => this.log.warn('stop failed', { err }));
      await this.udp.stop().catch(() => undefined);
      await this.rpc.stop().catch(() => undefined);
      await this.peers.close().catch(() => undefined);
      await this.coordinator.drain();
      await this.store.close();
      this.log.info('node stopped');
    })();
    return this.stopping;
  }

  /** The current preference lists (recomputed after ring or placement changes). */
  placement(): PreferenceLists {
    if (this.placementCache === undefined) {
      const ring = this.ring.ring;
      if (ring === undefined) throw new UnavailableError('this node has not learned the ring yet');
      this.placementCache = new PreferenceLists(ring, this.coordinator.n, (mid) => {
        const m = this.membership.member(mid);
        return m ? { dc: m.dc, rack: m.rack } : undefined;
      });
    }
    return this.placementCache;
  }

  status(): object {
    const ring = this.ring.ring;
    return {
      id: this.id,
      address: this.address,
      members: this.membership.members().map((m) => ({
        id: m.id,
        address: `${m.host}:${m.port}`,
        status: statusName(m.status),
        incarnation: m.incarnation,
        dc: m.dc,
        rack: m.rack,
        httpPort: m.httpPort,
      })),
      membershipChecksum: this.membership.checksum(),
      ring: ring
        ? {
            version: ring.version,
            partitions: ring.partitions,
            checksum: ringChecksum(ring).toString(16).padStart(16, '0'),
            nodes: ring.nodes,
            owned: ownership(ring).get(this.id) ?? 0,
          }
        : null,
      hints: { pending: this.store.hintCount(), ...this.handoff.stats },
      coordinator: this.coordinator.stats,
      storage: this.store.stats,
    };
  }

  metrics(): string {
    const lines: string[] = [];
    const put = (name: string, value: number, help: string) => {
      lines.push(`# HELP shoal_${name} ${help}`, `# TYPE shoal_${name} counter`, `shoal_${name} ${value}`);
    };
    const c = this.coordinator.stats;
    put('gets_total', c.gets, 'get requests coordinated');
    put('puts_total', c.puts, 'put requests coordinated');
    put('deletes_total', c.deletes, 'delete requests coordinated');
    put('forwarded_total', c.forwarded, 'writes forwarded to a replica of the key');
    put('fallback_writes_total', c.fallbackWrites, 'writes sent to a fallback with a hint');
    put('read_repairs_total', c.readRepairs, 'replicas repaired after a read');
    put('quorum_failures_total', c.quorumFailures, 'requests that could not reach R or W replicas');
    put('timeouts_total', c.timeouts, 'requests past their deadline');
    put('hints_delivered_total', this.handoff.stats.delivered, 'hints delivered to their owner');
    put('hints_expired_total', this.handoff.stats.expired, 'hints dropped past their maximum age');
    lines.push('# TYPE shoal_hints_pending gauge', `shoal_hints_pending ${this.store.hintCount()}`);
    const m = this.membership.stats();
    put('gossip_dropped_unauthenticated_total', m.droppedUnauthenticated, 'datagrams no key opened');
    put('gossip_dropped_malformed_total', m.droppedMalformed, 'datagrams that did not decode');
    const r = this.rpc.stats();
    put('rpc_unauthorized_total', r.errors.unauthorized, 'connections closed for a failed or missing handshake');
    put('rpc_malformed_total', r.errors.malformed, 'connections closed for a frame that did not decode');
    put('rpc_oversize_total', r.errors.oversize, 'connections closed for a frame over the limit');
    put('rpc_unknown_message_total', r.errors.unknownMessage, 'requests of a kind this node does not know');
    return lines.join('\n') + '\n';
  }

  /** Sends a changed ring to every member that is up (best effort; push-pull heals the rest). */
  private publishRing(bytes: Uint8Array): void {
    const state = toRingState(decodeRing(bytes));
    for (const m of this.membership.members()) {
      if (m.id === this.id || m.status !== MemberStatus.ALIVE) continue;
      this.peers.request(m.host, m.port, { kind: 'ringPush', value: state }, { timeoutMs: 2000 }).catch(() => undefined);
    }
  }

  private async handle(req: Body): Promise<Body> {
    switch (req.kind) {
      case 'clientGet': {
        const out = await this.coordinator.get(Buffer.from(req.value.key), { r: req.value.r });
        return { kind: 'clientGetReply', value: out };
      }
      case 'clientPut': {
        const v = req.value;
        const out = await this.coordinator.put(Buffer.from(v.key), Buffer.from(v.value), {
          context: v.context,
          ttlMs: v.ttlMs,
          w: v.w,
          forwarded: v.forwarded,
        });
        return { kind: 'clientPutReply', value: out };
      }
      case 'clientDelete': {
        const v = req.value;
        await this.coordinator.delete(Buffer.from(v.key), { context: v.context, w: v.w, forwarded: v.forwarded });
        return { kind: 'clientDeleteReply', value: {} };
      }
      case 'replicaWrite': {
        const v = req.value;
        const set = checkSiblingSet(v.set, this.store.maxValueBytes);
        await this.coordinator.replicaWrite(checkedKey(v.key, this.store.maxKeyBytes), set, v.hintFor);
        return { kind: 'replicaWriteReply', value: {} };
      }
      case 'replicaRead': {
        const set = await this.coordinator.replicaRead(checkedKey(req.value.key, this.store.maxKeyBytes), req.value.readFor);
        return { kind: 'replicaReadReply', value: { found: set !== undefined, set: set ?? null } };
      }
      case 'ringRequest':
        return { kind: 'ringReply', value: this.ringReply() };
      case 'ringPush':
        await offerRing(this.ring, req.value);
        return { kind: 'ringPushReply', value: {} };
      case 'pushPull': {
        await offerRing(this.ring, req.value.ring);
        const mine = this.membership.handlePushPull(req.value);
        return { kind: 'pushPullReply', value: withRing(mine, this.ring) };
      }
      default:
        throw new UnknownMessageError(`a node does not serve ${req.kind} requests`);
    }
  }

  private ringReply() {
    const ring = this.ring.ring;
    return {
      partitions: ring?.partitions ?? 0,
      checksum: ring ? u64be(ringChecksum(ring)) : Buffer.alloc(0),
      members: this.membership.members(),
      owners: [],
      n: this.coordinator.n,
      ring: ring ? toRingState(ring) : null,
    };
  }
}

async function nodeIdOf(store: Store, wanted: string | undefined): Promise<string> {
  const stored = (await store.getMeta(META_NODE_ID))?.toString('utf8');
  if (stored !== undefined && wanted !== undefined && stored !== wanted) {
    throw new BadRequestError(`the data folder belongs to node "${stored}", not "${wanted}"`);
  }
  const id = wanted ?? stored ?? `node-${randomBytes(4).toString('hex')}`;
  if (stored === undefined) await store.putMeta(META_NODE_ID, Buffer.from(id, 'utf8'));
  return id;
}

function withRing(state: PushPull, keeper: RingKeeper): PushPull {
  const ring = keeper.ring;
  return ring ? { ...state, ring: toRingState(ring) } : state;
}

/** Offers a ring from a peer to the keeper, which validates it and keeps the newer. */
async function offerRing(keeper: RingKeeper, state: RingState | null | undefined): Promise<void> {
  if (state === undefined || state === null || state.partitions === 0) return;
  await keeper.offer(RingStateCodec.encode(state));
}

function checkedKey(key: Uint8Array, max: number): Buffer {
  if (key.length === 0 || key.length > max) throw new BadRequestError(`key must be 1 to ${max} bytes`);
  return Buffer.from(key);
}

function u64be(x: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(x);
  return b;
}

function statusName(s: MemberStatus): string {
  return ['alive', 'suspect', 'dead', 'left'][s] ?? 'unknown';
}
