// The composition root: builds a node's parts, wires them together, starts them
// bottom-up and stops them top-down. No protocol logic lives here.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type AntiEntropy,
  type AntiEntropyConfig,
  ByteBudget,
  type ExchangeResponder,
  type ForwardingReplica,
  type Handover,
  type PartitionDrop,
  PartitionTrees,
  type TransferReceiver,
  resolveAntiEntropy,
} from './antientropy/index.js';
import { HttpApi } from './api/index.js';
import type { Member, RingState, SiblingSet } from './codec/index.js';
import { MemberStatus } from './codec/index.js';
import { Coordinator, HintedHandoff, PeerReplicas, type ClusterView, type QuorumScope, type SpeculativeRetry } from './coordinator/index.js';
import { BadRequestError, UnavailableError } from './errors.js';
import { type Logger, silentLogger } from './log.js';
import { Membership, type MembershipConfig, type PushPullChannel } from './membership/index.js';
import { native } from './native.js';
import {
  type DcReplication,
  PreferenceLists,
  type Replication,
  RingKeeper,
  decodeRing,
  formatReplication,
  replicationTotal,
  toRingState,
} from './ring/index.js';
import { Store } from './storage/index.js';
import { type Clock, type Startable, systemClock } from './time.js';
import { type FaultFilter, type Keyring, type NodeTls, RpcPeers, RpcServer, UdpTransport, parseKey, parseToken } from './transport/index.js';
import { handleRequest, offerRing, withReplication, withRing } from './node-rpc.js';
import { buildOwnership, isUp } from './node-ownership.js';
import { nodeMetrics, nodeStatus, partitionReport } from './node-report.js';

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
  /** Replicas per data centre (e.g. { dc1: 3, dc2: 3 }); replaces n, which is then their sum. */
  replication?: DcReplication;
  /** Which replicas R and W count when a request does not say (CoordinatorOptions.scope; default 'global'). */
  quorumScope?: QuorumScope;
  r?: number;
  w?: number;
  partitions?: number;
  keyring: Keyring;
  /** TLS on the TCP port, for peers and clients alike (every node of a cluster, or none). */
  tls?: NodeTls;
  /** Client token names refused at the handshake (and by the HTTP API with httpAuth). */
  revokedClients?: ReadonlySet<string>;
  /** The HTTP API wants a bearer credential: a cluster key for everything, a client token for /kv/ (default false: open). */
  httpAuth?: boolean;
  /** The HTTP API speaks HTTPS with the `tls` certificate (default false: plain HTTP). */
  httpTls?: boolean;
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
  /** Hints this node holds at most (Store's maxHints). */
  maxHints?: number;
  /** Bytes per second of hint delivery from this node at most (default: no limit). */
  hintBytesPerSec?: number;
  /**
   * Hint batches yield to an owner that answers them this much later than its
   * fastest reply (HandoffOptions.pace; default 20 ms); 0: they never yield.
   */
  hintTargetDelayMs?: number;
  /** Riak's notfound_ok for reads this node coordinates (CoordinatorOptions.notFoundOk; default false). */
  notFoundOk?: boolean;
  /** Which replicas a get asks (CoordinatorOptions.readFanout; default 'all'). */
  readFanout?: 'all' | 'quorum';
  /** With readFanout 'quorum' (CoordinatorOptions.speculativeRetry; default 99th percentile). */
  speculativeRetry?: SpeculativeRetry;
  tombstoneGraceMs?: number;
  /**
   * Stage this node's join as soon as it learns the cluster's ring (default true).
   * False (--no-join): wait for `shoal admin join`. Only the first start decides;
   * afterwards the node's recorded intent (member, leaving, none) holds.
   */
  join?: boolean;
  /** Anti-entropy and ownership-transfer settings over the profile's. */
  antiEntropy?: Partial<AntiEntropyConfig>;
  /** Called once this node has left the cluster after `shoal admin leave` (the CLI then exits). */
  onLeft?: () => void;
  log?: Logger;
  clock?: Clock;
  /** Test-only fault injection on gossip datagrams. */
  udpFilter?: FaultFilter;
  /** Test-only fault injection on requests to peers (replication, push-pull, anti-entropy). */
  rpcFilter?: FaultFilter;
}

const META_NODE_ID = 'node.id';
const META_INCARNATION = 'node.incarnation';
const META_RING = 'node.ring';
/** Member.protocol from which a node passes relayed replica writes on (membership.ts). */
const RELAY_PROTOCOL = 2;
/** Member.protocol from which a node takes several replica writes per request (ReplicaWrites). */
const BATCH_PROTOCOL = 3;

export class ShoalNode {
  readonly id: string;
  readonly store: Store;
  readonly membership: Membership;
  readonly ring: RingKeeper;
  readonly coordinator: Coordinator;
  readonly handoff: HintedHandoff;
  readonly trees: PartitionTrees;
  readonly antiEntropy: AntiEntropy;
  readonly transfer: TransferReceiver;
  readonly handover: Handover;
  readonly forwarding: ForwardingReplica;
  readonly drop: PartitionDrop;
  readonly responder: ExchangeResponder;
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
      trees: PartitionTrees;
      antiEntropy: AntiEntropy;
      transfer: TransferReceiver;
      handover: Handover;
      forwarding: ForwardingReplica;
      drop: PartitionDrop;
      responder: ExchangeResponder;
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
    this.trees = parts.trees;
    this.antiEntropy = parts.antiEntropy;
    this.transfer = parts.transfer;
    this.handover = parts.handover;
    this.forwarding = parts.forwarding;
    this.drop = parts.drop;
    this.responder = parts.responder;
    this.rpc = parts.rpc;
    this.peers = parts.peers;
    this.udp = parts.udp;
    this.http = parts.http;
    this.log = parts.log;
  }

  /** Opens the data folder, starts every part and joins the cluster through the seeds. */
  static async start(o: NodeOptions): Promise<ShoalNode> {
    const clock = o.clock ?? systemClock;
    const replication: Replication = o.replication ?? o.n ?? 3;
    const n = replicationTotal(replication);
    const maxKeyBytes = o.maxKeyBytes ?? 1024;
    const maxValueBytes = o.maxValueBytes ?? 1024 * 1024;
    const ae = resolveAntiEntropy(o.antiEntropy, o.profile ?? 'lan');
    const storeRef: { store?: Store } = {};
    const trees = new PartitionTrees({
      segments: ae.segments,
      fanout: ae.fanout,
      rebuildIntervalMs: ae.rebuildIntervalMs,
      source: (p, q) => storeRef.store!.partitionDigests(p, q),
      onError: (err, p) => o.log?.warn('merkle tree build failed', { partition: p, err }),
    });
    const store = await Store.open({
      path: join(o.dataDir, 'db'),
      maxKeyBytes,
      maxValueBytes,
      sync: o.sync ?? false,
      clock,
      onDataChange: trees.onChange,
      ...(o.tombstoneGraceMs !== undefined ? { tombstoneGraceMs: o.tombstoneGraceMs } : {}),
      ...(o.maxHints !== undefined ? { maxHints: o.maxHints } : {}),
    });
    storeRef.store = store;
    const cleanup: Array<() => Promise<void>> = [() => store.close(), () => trees.stop()];
    try {
      const id = await nodeIdOf(store, o.id);
      const log = (o.log ?? silentLogger).child({ node: id });
      // Built before anything starts, so the RPC handler can route to every part.
      const ref: { node?: ShoalNode } = {};
      const peers = new RpcPeers({
        keyring: o.keyring,
        nodeId: id,
        requestTimeoutMs: o.requestTimeoutMs ?? 5000,
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.rpcFilter ? { faultFilter: o.rpcFilter } : {}),
      });
      cleanup.push(() => peers.close());
      const rpc = new RpcServer({
        host: o.host,
        port: o.port,
        keyring: o.keyring,
        nodeId: id,
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.revokedClients ? { revokedClients: o.revokedClients } : {}),
        onInternalError: (err) => log.error('a request failed inside the node (answered "internal error")', { err }),
        handler: (req, peer) => {
          if (ref.node === undefined) throw new UnavailableError('the node is starting');
          return handleRequest(ref.node, req, peer);
        },
      });
      await rpc.start();
      cleanup.push(() => rpc.stop());
      const udp = new UdpTransport({ host: o.host, port: rpc.port, ...(o.udpFilter ? { filter: o.udpFilter } : {}) });
      await udp.start();
      cleanup.push(() => udp.stop());

      const memberOf = (mid: string) => ref.node?.membership.member(mid);
      /** Whether the member speaks at least protocol `version` (unknown members do not). */
      const speaks = (mid: string, version: number) => (memberOf(mid)?.protocol ?? 0) >= version;
      const intentRef: { handover?: Handover } = {};
      const ring = new RingKeeper({
        nodeId: id,
        partitions: o.partitions ?? 256,
        persistence: {
          load: () => store.getMeta(META_RING),
          save: (b) => store.putMeta(META_RING, b),
        },
        capacityOf: (mid) => memberOf(mid)?.capacity || (mid === id ? (o.capacity ?? 1) : 1),
        canFound: o.seeds.length === 0 && o.join !== false,
        publish: (bytes) => ref.node?.publishRing(bytes),
        wantsMembership: () => intentRef.handover?.intent === 'member',
      });
      ring.on('changed', (r, prev) => {
        if (ref.node) ref.node.placementCache = undefined;
        log.info('ring changed', {
          version: r.version,
          nodes: r.nodes.length,
          from: prev?.version,
          ...(r.next ? { joining: r.next.joining, leaving: r.next.leaving, ready: r.next.ready } : {}),
        });
        intentRef.handover?.ringChanged(r, prev);
      });

      const pushPull: PushPullChannel = {
        exchange: async (host, port, state, timeoutMs) => {
          const sent = withReplication(withRing(state, ring), replication);
          const reply = await peers.request(host, port, { kind: 'pushPull', value: sent }, { timeoutMs });
          if (reply.kind !== 'pushPullReply') throw new UnavailableError(`push-pull answered with ${reply.kind}`);
          await offerRing(ring, reply.value.ring);
          const other = reply.value.members.find((m) => m.host === host && m.port === port);
          if (other !== undefined) ref.node?.checkReplication(other.id, reply.value.replication);
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
      const handoffRef: { handoff?: HintedHandoff } = {};
      const replicaPeers = new PeerReplicas(peers, (mid) => memberOf(mid));
      const { forwarding, antiEntropy, transfer, drop, handover, responder } = buildOwnership({
        id,
        n: replication,
        capacity: o.capacity ?? 1,
        ae,
        trees,
        store,
        ring,
        peers,
        membership,
        memberOf,
        replicaTimeoutMs,
        intentRef,
        log,
        onLeft: o.onLeft,
        onHint: (owner) => handoffRef.handoff?.hinted(owner),
      });
      const cluster: ClusterView = {
        placement: () => ref.node!.placement(),
        isReachable: (mid) => isUp(memberOf(mid)),
        canRelay: (mid) => speaks(mid, RELAY_PROTOCOL),
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
        local: forwarding,
        peers: replicaPeers,
        cluster,
        clock,
        notFoundOk: o.notFoundOk ?? false,
        readFanout: o.readFanout ?? 'all',
        dc: o.dc ?? 'dc1',
        scope: o.quorumScope ?? 'global',
        ...(o.speculativeRetry !== undefined ? { speculativeRetry: o.speculativeRetry } : {}),
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
        ...(o.hintBytesPerSec !== undefined ? { budget: new ByteBudget(o.hintBytesPerSec) } : {}),
        ...(o.hintTargetDelayMs !== undefined ? { pace: o.hintTargetDelayMs === 0 ? false : { targetMs: o.hintTargetDelayMs } } : {}),
        canBatch: (mid) => speaks(mid, BATCH_PROTOCOL),
        replicaTimeoutMs,
        redirect: (owner) => {
          const r = ring.ring;
          const h = intentRef.handover;
          if (r === undefined || h === undefined || r.nodes.includes(owner)) return undefined;
          return async (key: Buffer, set: SiblingSet) => {
            const replicas = h.replicasOf(native.partitionOf(key, r.partitions));
            const results = await Promise.allSettled(
              replicas.map((mid) => (mid === id ? forwarding.merge(key, set) : replicaPeers.write(mid, key, set, '', replicaTimeoutMs))),
            );
            if (!results.some((x) => x.status === 'fulfilled')) throw new UnavailableError('no current replica took the hint');
          };
        },
      });
      handoffRef.handoff = handoff;
      const http =
        o.httpPort === undefined
          ? undefined
          : new HttpApi({
              host: o.host,
              port: o.httpPort,
              ...(o.httpTls === true && o.tls ? { tls: { cert: o.tls.cert, key: o.tls.key } } : {}),
              service: {
                maxValueBytes,
                ...(o.httpAuth === true ? { authorize: httpAuthorizer(o.keyring, o.revokedClients) } : {}),
                get: (key, opts) => coordinator.get(key, opts),
                getLocal: (key) => store.get(key),
                admin: {
                  join: (seed) => ref.node!.adminJoin(seed),
                  leave: (mid) => ref.node!.adminLeave(mid),
                  remove: (mid) => ref.node!.adminRemove(mid),
                  partitions: () => ref.node!.partitionReport(),
                },
                put: (key, value, opts) => coordinator.put(key, value, opts),
                delete: (key, opts) => coordinator.delete(key, opts),
                touch: (key, ttlMs, opts) => coordinator.touch(key, ttlMs, opts),
                status: () => ref.node!.status(),
                metrics: () => ref.node!.metrics(),
                healthy: () => ref.node !== undefined && ref.node.stopping === undefined,
              },
            });

      const node = new ShoalNode(o, {
        id,
        store,
        membership,
        ring,
        coordinator,
        handoff,
        trees,
        antiEntropy,
        transfer,
        handover,
        forwarding,
        drop,
        responder,
        rpc,
        peers,
        udp,
        http,
        log,
      });
      ref.node = node;
      await handover.open(o.join !== false);
      await ring.open();
      if (http) await http.start();
      membership.on('alive', (m) => {
        handoff.kick();
        transfer.kick();
        node.pushRing(m);
      });
      membership.on('joined', (m) => {
        node.placementCache = undefined;
        handover.refresh();
        handoff.kick();
        // A change this node made before it knew the member reached nobody there: a
        // join is staged inside the first push-pull, before its members are merged,
        // and a peer whose view then equals ours would not push-pull for minutes.
        node.pushRing(m);
      });
      membership.on('updated', () => {
        node.placementCache = undefined;
        handover.refresh();
      });
      membership.on('dead', () => transfer.kick());
      membership.on('left', () => {
        transfer.kick();
        handoff.kick();
      });
      await membership.start();
      // A new cluster whose nodes all list the same seeds is founded by the first seed
      // (its address exactly as it advertises itself), once its first join round has
      // found no member that knows a ring.
      if (ring.ring === undefined && o.join !== false && o.seeds[0] === `${o.host}:${rpc.port}`) {
        if (await ring.found()) log.info('founded a new ring as the first seed');
      }
      node.started.push(membership);
      if (http) membership.update({ httpPort: http.port });
      handover.refresh();
      await handoff.start();
      node.started.push(handoff);
      await transfer.start();
      node.started.push(transfer);
      await antiEntropy.start();
      node.started.push(antiEntropy);
      await handover.start();
      node.started.push(handover);
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
      await this.trees.stop().catch(() => undefined);
      await this.udp.stop().catch(() => undefined);
      await this.rpc.stop().catch(() => undefined);
      await this.peers.close().catch(() => undefined);
      await this.coordinator.drain();
      await this.store.close();
      this.log.info('node stopped');
    })();
    return this.stopping;
  }

  /** Replicas: N in all, or per data centre (NodeOptions.replication). */
  get replication(): Replication {
    return this.options.replication ?? this.options.n ?? 3;
  }

  /** Members seen (in push-pull) with a replication other than this node's: id → theirs. */
  readonly replicationMismatches = new Map<string, string>();

  /**
   * Notes a peer's replication from a push-pull: nodes that disagree on it place
   * replicas differently, so reads miss writes. Logged once per peer and shown
   * in /status until the peer agrees again. '' (an older node) says nothing.
   */
  checkReplication(peerId: string, theirs: string | undefined): void {
    if (peerId === '' || theirs === undefined || theirs === '') return;
    const mine = formatReplication(this.replication);
    if (theirs === mine) {
      this.replicationMismatches.delete(peerId);
      return;
    }
    if (this.replicationMismatches.get(peerId) !== theirs) {
      this.log.warn('a member places replicas differently: every node needs the same --replication (or --n)', { member: peerId, theirs, mine });
    }
    this.replicationMismatches.set(peerId, theirs);
  }

  /** The current preference lists (recomputed after ring or placement changes). */
  placement(): PreferenceLists {
    if (this.placementCache === undefined) {
      const ring = this.ring.ring;
      if (ring === undefined) throw new UnavailableError('this node has not learned the ring yet');
      this.placementCache = new PreferenceLists(ring, this.replication, (mid) => {
        const m = this.membership.member(mid);
        return m ? { dc: m.dc, rack: m.rack } : undefined;
      });
    }
    return this.placementCache;
  }

  /** JSON for GET /status. */
  status(): object {
    return nodeStatus(this);
  }

  /** Per partition: held here, key count, Merkle root, data on disk (GET /admin/partitions). */
  partitionReport(): Promise<object> {
    return partitionReport(this);
  }

  /** Prometheus text for GET /metrics. */
  metrics(): string {
    return nodeMetrics(this);
  }

  /** `shoal admin join <seed>`: contact the cluster through `seed` and join its ring. */
  async adminJoin(seed: string): Promise<object> {
    if (typeof seed !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(seed)) throw new BadRequestError('seed must be host:port');
    const reached = await this.membership.join([seed]);
    if (reached === 0) throw new UnavailableError(`could not reach ${seed}`);
    await this.handover.requestJoin();
    return this.handover.status();
  }

  /** `shoal admin leave [id]`: this node (or `nodeId`) leaves after handing its partitions over. */
  async adminLeave(nodeId: string | undefined): Promise<object> {
    await this.handover.requestLeave(nodeId || this.id);
    return this.handover.status();
  }

  /** `shoal admin remove <id>`: a dead node that will never return. */
  async adminRemove(nodeId: string): Promise<object> {
    if (typeof nodeId !== 'string' || nodeId === '') throw new BadRequestError('the id of the node to remove is required');
    await this.handover.requestRemove(nodeId);
    return this.handover.status();
  }

  /** Sends a changed ring to every member that is up (best effort; push-pull heals the rest). */
  private publishRing(bytes: Uint8Array): void {
    const state = toRingState(decodeRing(bytes));
    for (const m of this.membership.members()) {
      if (m.id === this.id || m.status !== MemberStatus.ALIVE) continue;
      this.sendRing(m, state);
    }
  }

  /** Sends this node's ring to a member that has just appeared or come back (best effort). */
  pushRing(m: Member): void {
    const ring = this.ring.ring;
    if (ring === undefined || m.id === this.id) return;
    this.sendRing(m, toRingState(ring));
  }

  private sendRing(m: Member, state: RingState): void {
    this.peers.request(m.host, m.port, { kind: 'ringPush', value: state }, { timeoutMs: 2000 }).catch(() => undefined);
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

/** The HTTP API's check of a bearer credential: a key of the cluster's ring, or a client token (for /kv/ only). */
function httpAuthorizer(keyring: Keyring, revoked: ReadonlySet<string> | undefined) {
  return (credential: string | undefined, scope: 'kv' | 'node'): 'ok' | 'unauthenticated' | 'forbidden' => {
    if (credential === undefined) return 'unauthenticated';
    try {
      if (credential.includes(':')) {
        const { name, key } = parseToken(credential);
        if (revoked?.has(name) === true || !keyring.holdsClient(name, key)) return 'unauthenticated';
        return scope === 'kv' ? 'ok' : 'forbidden';
      }
      return keyring.holds(parseKey(credential)) ? 'ok' : 'unauthenticated';
    } catch {
      return 'unauthenticated';
    }
  };
}
