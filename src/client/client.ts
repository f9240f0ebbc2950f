// The TypeScript SDK. It learns the ring from the cluster and sends each request
// straight to a replica of the key (client-driven coordination, which the Dynamo
// paper measured halving p99.9 latency), failing over along the ring walk. Gets
// it coordinates itself, reading R replicas (direct-read.ts).
import type { Member, RingReply } from '../codec/index.js';
import { MemberStatus, type QuorumScope, scopeCode, scopeOf } from '../codec/index.js';
import { LatencyWindow } from '../coordinator/index.js';
import { BadRequestError, ClosedError, ShoalError, UnavailableError } from '../errors.js';
import { PreferenceLists, fromRingState } from '../ring/index.js';
import { type ClientTls, Keyring, RpcPeers, parseKey, parseToken, type Body } from '../transport/index.js';
import { DirectRead, type DirectReadOwner, type GetResult, isRequestError } from './direct-read.js';

export interface ClientOptions {
  /** Nodes to learn the cluster from, as 'host:port'. */
  seeds: string[];
  /**
   * A client token (`name:key`, as `shoal token <name>` prints it): lets the
   * client get, put and delete keys and read the ring, nothing else. Give this or
   * `clusterKey`.
   */
  token?: string;
  /** The cluster key: 32 bytes, or their hex/base64 text. Prefer a token for applications. */
  clusterKey?: Uint8Array | string;
  /** Per-request deadline (default 5000 ms). */
  requestTimeoutMs?: number;
  /** How often the ring is re-read from the cluster (default 10 s; 0 = only on failures). */
  ringRefreshMs?: number;
  /**
   * The data centre this client runs in: a key's requests go to its replicas there
   * first, so they are coordinated (and, in local scope, answered) in this dc.
   * Default: none, the key's first replica on the ring wherever it is.
   */
  dc?: string;
  /**
   * Dial TLS, for a cluster whose nodes run with --tls-cert/--tls-key/--tls-ca:
   * `{ ca }` is the PEM of the CA that signed the nodes' certificates (default: the
   * system's CAs). The cluster key still authenticates both ends.
   */
  tls?: ClientTls;
  /**
   * Who coordinates a get. 'client' (default): the SDK asks R of the key's replicas
   * itself (in local scope, of those in its `dc`) and merges their answers, as the
   * Dynamo paper's client-driven reads do; it saves a hop and about half of a get's
   * CPU. A get it cannot settle alone (a replica down in its view of the cluster, a
   * stale ring, too few answers, local scope without `dc`) goes to a node as with
   * 'node'. 'node': every get goes to a replica node, which coordinates it.
   */
  readCoordination?: 'client' | 'node';
  /**
   * A node that let one of this client's requests time out is tried last, as if
   * it were down, for this long (default: twice requestTimeoutMs) or until it
   * answers anything: a stopped or stalled node costs one timeout, not one per
   * request, before the ring says it is down.
   */
  unresponsiveMs?: number;
}

/**
 * Which replicas r or w counts: any of the key's ('global'), or only those in the
 * coordinating node's data centre ('local'; with replicas per dc). Default: the
 * node's --quorum-scope.
 */
export type Scope = QuorumScope;

export interface GetOptions {
  /** Replies to wait for (default: the cluster's R). */
  r?: number;
  scope?: Scope;
}

export interface PutOptions {
  /** The context of an earlier get: the versions this write supersedes. */
  context?: Uint8Array;
  /** Expire the value after this many milliseconds. */
  ttlMs?: number;
  /** Acks to wait for (default: the cluster's W). */
  w?: number;
  scope?: Scope;
}

export interface TouchOptions {
  /** Replies the read that finds the live versions waits for (default: the cluster's R). */
  r?: number;
  /** Acks to wait for (default: the cluster's W). */
  w?: number;
  scope?: Scope;
}

export interface DeleteOptions {
  context?: Uint8Array;
  w?: number;
  scope?: Scope;
}

export interface ClientStats {
  requests: number;
  /** Requests answered by a replica of the key (no extra hop). */
  direct: number;
  /** Requests that had to go to a node outside the key's preference list. */
  indirect: number;
  /** Attempts that failed over to another node. */
  failovers: number;
  ringRefreshes: number;
  /** Gets the SDK coordinated itself (readCoordination 'client'); they also count as requests and direct. */
  directReads: number;
  /** Direct reads that could not settle and went to a coordinating node. */
  readFallbacks: number;
  /** Replica reads the SDK added because the ones asked were slow. */
  speculativeReads: number;
  /** Direct reads whose replicas disagreed, so the SDK asked a node to read all of them and repair. */
  readRepairs: number;
}

interface Address {
  host: string;
  port: number;
}

interface Routing {
  lists: PreferenceLists;
  /** The ring's checksum, sent with direct reads. */
  ringId: Uint8Array;
  /** The cluster's default R, when the nodes say (0: they do not; gets without r go to a node). */
  r: number;
  /** The nodes' default quorum scope; undefined when they do not say. */
  scope: QuorumScope | undefined;
  /** Replicas are placed per dc, so that local scope means the client's dc. */
  perDc: boolean;
  /** The client's dc ('' when not set). */
  dc: string;
  members: Map<string, Member>;
  /** Per partition, lazily: the nodes to try in order, and how many are replicas. */
  order: Array<Attempts | undefined>;
  /** The peers' unresponsiveEpoch that `order` was worked out under. */
  epoch: number;
}

interface Attempts {
  members: Member[];
  replicas: number;
  /** The key's replicas, in the order a direct read asks them (the client's dc first); undefined when one is not alive in the client's view. */
  readers: Member[] | undefined;
  /** With replicas per dc, those in the client's dc (a local-scope read); undefined when one is not alive, or the client has no dc. */
  localReaders: Member[] | undefined;
}

const RETRYABLE = new Set(['SHOAL_UNAVAILABLE', 'SHOAL_TIMEOUT', 'SHOAL_OVERLOADED', 'SHOAL_CLOSED']);

export class Client {
  readonly stats: ClientStats = {
    requests: 0,
    direct: 0,
    indirect: 0,
    failovers: 0,
    ringRefreshes: 0,
    directReads: 0,
    readFallbacks: 0,
    speculativeReads: 0,
    readRepairs: 0,
  };
  private routing: Routing | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private refreshing: Promise<void> | undefined;

  private readonly requestOptions: { timeoutMs: number };
  private readonly readOwner: DirectReadOwner | undefined;

  private constructor(
    private readonly peers: RpcPeers,
    private readonly seeds: Address[],
    private readonly timeoutMs: number,
    private readonly dc: string,
    readCoordination: 'client' | 'node',
  ) {
    this.requestOptions = { timeoutMs };
    if (readCoordination === 'client') {
      const stats = this.stats;
      this.readOwner = {
        send: (m, body, handler) => this.peers.send(m.host, m.port, body, this.requestOptions, handler),
        times: new LatencyWindow(99),
        repair: (key, replicas, scope) => {
          // A node reads every replica the direct read could ask and repairs those behind; the answer is not needed.
          stats.readRepairs++;
          this.send(key, { kind: 'clientGet', value: { key, r: replicas, scope } }).catch(() => undefined);
        },
        staleRing: () => void this.refreshRing().catch(() => undefined),
        speculated: () => stats.speculativeReads++,
      };
    }
  }

  /**
   * The ring the client routes by: its version, its members (joining ones
   * included) and whether an ownership change is still in progress (pending:
   * data is being handed over, and writes go to both the old and the new owners).
   */
  get ring(): { version: number; nodes: readonly string[]; pending: boolean } {
    const r = this.routing!.lists.ring;
    return { version: r.version, nodes: r.nodes, pending: r.next !== undefined };
  }

  /** Connects, learns the ring, and resolves when the client is ready. */
  static async connect(options: ClientOptions): Promise<Client> {
    if (!Array.isArray(options.seeds) || options.seeds.length === 0) throw new BadRequestError('seeds must list at least one host:port');
    const seeds = options.seeds.map(parseAddress);
    if ((options.token === undefined) === (options.clusterKey === undefined)) throw new BadRequestError('give either token or clusterKey');
    let key: Buffer;
    let clientName: string | undefined;
    try {
      if (options.token !== undefined) ({ name: clientName, key } = parseToken(options.token));
      else key = typeof options.clusterKey === 'string' ? parseKey(options.clusterKey) : Buffer.from(options.clusterKey!);
    } catch (err) {
      throw new BadRequestError((err as Error).message);
    }
    const timeoutMs = options.requestTimeoutMs ?? 5000;
    if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null)) throw new BadRequestError('tls must be an object like { ca }');
    const peers = new RpcPeers({
      keyring: new Keyring(key),
      nodeId: '',
      requestTimeoutMs: timeoutMs,
      connectTimeoutMs: Math.min(timeoutMs, 5000),
      ...(options.unresponsiveMs !== undefined ? { unresponsiveMs: options.unresponsiveMs } : {}),
      ...(clientName !== undefined ? { clientName } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
    if (options.dc !== undefined && typeof options.dc !== 'string') throw new BadRequestError('dc must be a string');
    const coordination = options.readCoordination ?? 'client';
    if (coordination !== 'client' && coordination !== 'node') throw new BadRequestError(`readCoordination must be 'client' or 'node'`);
    const client = new Client(peers, seeds, timeoutMs, options.dc ?? '', coordination);
    try {
      await client.refreshRing();
    } catch (err) {
      await peers.close();
      throw err;
    }
    const every = options.ringRefreshMs ?? 10_000;
    if (every > 0) {
      client.timer = setInterval(() => void client.refreshRing().catch(() => undefined), every);
      client.timer.unref();
    }
    return client;
  }

  // get, put and delete are plain promise chains, not async functions: one promise
  // and one microtask turn less per request, and the usual case (the first node
  // answers) skips send()'s failover loop.

  /** The key's live values (several when concurrent writes left siblings) and its context. */
  get(key: string | Uint8Array, options: GetOptions = {}): Promise<GetResult> {
    try {
      const k = toKey(key);
      if (this.readOwner !== undefined && !this.closed) {
        const read = this.directRead(k, options.r, options.scope);
        if (read !== undefined) return read.then(undefined, (err: unknown) => this.readFallback(k, options, err));
      }
      return this.send(k, getBody(k, options)).then(getResult);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** A get the SDK coordinates itself, or undefined when it cannot (see readCoordination). */
  private directRead(key: Buffer, r: number | undefined, scope: QuorumScope | undefined): Promise<GetResult> | undefined {
    const routing = this.routing!;
    const need = r ?? routing.r;
    if (!(need >= 1)) return undefined;
    // Local scope means the coordinator's dc, which is the client's (its requests go there first).
    const s = scope ?? routing.scope;
    if (routing.perDc && s === undefined) return undefined;
    const a = attemptsFor(routing, key, this.peers);
    const readers = routing.perDc && s === 'local' ? a.localReaders : a.readers;
    // Out-of-range r goes to a node too, which answers with the usual error.
    if (readers === undefined || !Number.isInteger(need) || need > readers.length) return undefined;
    this.stats.requests++;
    this.stats.direct++;
    this.stats.directReads++;
    return new DirectRead(this.readOwner!, key, need, readers, routing.ringId, scopeCode(s)).done;
  }

  private readFallback(key: Buffer, options: GetOptions, err: unknown): Promise<GetResult> {
    if (isRequestError(err)) return Promise.reject(err);
    this.stats.readFallbacks++;
    return this.send(key, getBody(key, options)).then(getResult);
  }

  /** Writes a value; with the context of a get, it replaces the versions that get saw. */
  put(key: string | Uint8Array, value: string | Uint8Array, options: PutOptions = {}): Promise<{ context: Buffer }> {
    try {
      const k = toKey(key);
      const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      if (!(v instanceof Uint8Array)) throw new BadRequestError('value must be a string, Buffer or Uint8Array');
      const body: Body = {
        kind: 'clientPut',
        value: { key: k, value: v, context: options.context ?? EMPTY, ttlMs: options.ttlMs ?? 0, w: options.w ?? 0, forwarded: false, scope: scopeCode(options.scope) },
      };
      return this.send(k, body).then(putResult);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Deletes the versions the context covers (all of them with a fresh get's context). */
  async delete(key: string | Uint8Array, options: DeleteOptions = {}): Promise<void> {
    const k = toKey(key);
    const reply = await this.send(k, {
      kind: 'clientDelete',
      value: { key: k, context: options.context ?? EMPTY, w: options.w ?? 0, forwarded: false, scope: scopeCode(options.scope) },
    });
    if (reply.kind !== 'clientDeleteReply') throw unexpected(reply);
  }

  /**
   * Gives the key's live values a new time to live, from now (0: never expire),
   * without sending them: a session store's sliding expiry. `touched` is false
   * when nothing was live (absent, deleted or expired); nothing is written then.
   * Siblings stay siblings; `context` covers the rewritten versions.
   */
  async touch(key: string | Uint8Array, ttlMs: number, options: TouchOptions = {}): Promise<{ touched: boolean; context: Buffer }> {
    const k = toKey(key);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new BadRequestError('ttlMs must be a non-negative integer');
    const reply = await this.send(k, {
      kind: 'clientTouch',
      value: { key: k, ttlMs, r: options.r ?? 0, w: options.w ?? 0, forwarded: false, scope: scopeCode(options.scope) },
    });
    if (reply.kind !== 'clientTouchReply') throw unexpected(reply);
    return { touched: reply.value.touched, context: Buffer.from(reply.value.context) };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.peers.close();
  }

  /** Re-reads the ring from any reachable node (seeds last). */
  async refreshRing(): Promise<void> {
    this.refreshing ??= this.fetchRing().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async fetchRing(): Promise<void> {
    // Nodes of the client's own dc first: during a cut between dcs the others time out.
    const known = this.routing ? [...this.routing.members.values()].filter((m) => m.status === MemberStatus.ALIVE) : [];
    known.sort((a, b) => Number(b.dc === this.dc) - Number(a.dc === this.dc));
    const candidates: Address[] = [...known.map((m) => ({ host: m.host, port: m.port })), ...this.seeds];
    let last: unknown;
    for (const a of candidates) {
      try {
        const reply = await this.peers.request(a.host, a.port, { kind: 'ringRequest', value: {} }, { timeoutMs: this.timeoutMs });
        if (reply.kind !== 'ringReply') throw unexpected(reply);
        this.routing = routingOf(reply.value, this.dc);
        this.stats.ringRefreshes++;
        return;
      } catch (err) {
        last = err;
        if (err instanceof ShoalError && err.code === 'SHOAL_UNAUTHORIZED') throw err;
      }
    }
    throw new UnavailableError(`no node answered among ${candidates.length} tried`, { cause: last });
  }

  /** Sends to the key's first node; on a retryable failure, fails over (failover()). */
  private send(key: Buffer, body: Body): Promise<Body> {
    if (this.closed) return Promise.reject(new ClosedError('the client is closed'));
    this.stats.requests++;
    const { members, replicas } = attemptsFor(this.routing!, key, this.peers);
    const m = members[0];
    if (m === undefined) return this.failover(key, body, 0, undefined);
    return this.peers.request(m.host, m.port, body, this.requestOptions).then(
      (reply) => {
        if (replicas > 0) this.stats.direct++;
        else this.stats.indirect++;
        return reply;
      },
      (err: unknown) => {
        if (!(err instanceof ShoalError) || !RETRYABLE.has(err.code)) throw err;
        this.stats.failovers++;
        return this.failover(key, body, 1, err);
      },
    );
  }

  /** The rest of send(): the key's other nodes from `from` on, then a ring refresh and all of them again. */
  private async failover(key: Buffer, body: Body, from: number, first: unknown): Promise<Body> {
    let last: unknown = first;
    for (let round = 0; round < 2; round++) {
      const { members, replicas } = attemptsFor(this.routing!, key, this.peers);
      for (let i = round === 0 ? from : 0; i < members.length; i++) {
        const m = members[i]!;
        try {
          const reply = await this.peers.request(m.host, m.port, body, this.requestOptions);
          if (i < replicas) this.stats.direct++;
          else this.stats.indirect++;
          return reply;
        } catch (err) {
          if (!(err instanceof ShoalError) || !RETRYABLE.has(err.code)) throw err;
          last = err;
          this.stats.failovers++;
        }
      }
      await this.refreshRing().catch(() => undefined);
    }
    throw last instanceof Error ? last : new UnavailableError('no node of the cluster answered');
  }
}

const EMPTY = Buffer.alloc(0);

function getBody(key: Buffer, options: GetOptions): Body {
  return { kind: 'clientGet', value: { key, r: options.r ?? 0, scope: scopeCode(options.scope) } };
}

/**
 * The nodes to send a key's request to, in order: its replicas (alive ones before
 * the others; among alive ones, those in the client's dc first), then the rest of
 * the ring walk (likewise). Worked out once per partition and routing table.
 */
function attemptsFor(routing: Routing, key: Buffer, peers: RpcPeers): Attempts {
  if (routing.epoch !== peers.unresponsiveEpoch) {
    // A node stopped answering, or answered again: work the orders out anew.
    routing.order.fill(undefined);
    routing.epoch = peers.unresponsiveEpoch;
  }
  const p = routing.lists.partitionOf(key);
  let a = routing.order[p];
  if (a === undefined) {
    const walk = routing.lists.walk(p);
    const n = routing.lists.replicas(p).length;
    let readers: Member[] | undefined = [];
    const members: Member[] = [];
    let replicas = 0;
    // [from, to, alive, near]: near undefined means either.
    for (const [from, to, alive, near] of [
      [0, n, true, true],
      [0, n, true, false],
      [0, n, false, undefined],
      [n, walk.length, true, true],
      [n, walk.length, true, false],
      [n, walk.length, false, undefined],
    ] as const) {
      for (let i = from; i < to; i++) {
        const m = routing.members.get(walk[i]!);
        if (m === undefined || (m.status === MemberStatus.ALIVE && !peers.isUnresponsive(m.host, m.port)) !== alive) continue;
        if (near !== undefined && (m.dc === routing.dc) !== near) continue;
        members.push(m);
        if (from === 0) replicas++;
        if (from === 0 && readers !== undefined) {
          if (alive) readers.push(m);
          else readers = undefined;
        }
      }
    }
    // A replica missing from the client's view (or not alive in it): the key's data
    // may be on a stand-in, which only a node's sloppy-quorum read finds.
    if (readers !== undefined && readers.length < n) readers = undefined;
    a = { members, replicas, readers, localReaders: routing.perDc && routing.dc !== '' ? localReaders(routing, p, peers) : undefined };
    routing.order[p] = a;
  }
  return a;
}

/** A partition's replicas in the client's dc, all alive in its view; undefined otherwise (or when it has none there). */
function localReaders(routing: Routing, p: number, peers: RpcPeers): Member[] | undefined {
  const out: Member[] = [];
  for (const id of routing.lists.replicas(p)) {
    const m = routing.members.get(id);
    if (m === undefined) return undefined;
    if (m.dc !== routing.dc) continue;
    if (m.status !== MemberStatus.ALIVE || peers.isUnresponsive(m.host, m.port)) return undefined;
    out.push(m);
  }
  return out.length > 0 ? out : undefined;
}

function routingOf(reply: RingReply, dc: string): Routing {
  if (!reply.ring) throw new UnavailableError('the node knows no ring yet');
  const ring = fromRingState(reply.ring);
  const members = new Map(reply.members.map((m) => [m.id, m]));
  const perDc = reply.replication ?? [];
  const replication = perDc.length === 0 ? Math.max(1, reply.n) : Object.fromEntries(perDc.map((r) => [r.dc, r.n]));
  const lists = new PreferenceLists(ring, replication, (id) => {
    const m = members.get(id);
    return m ? { dc: m.dc, rack: m.rack } : undefined;
  });
  return {
    lists,
    ringId: lists.ringId,
    r: reply.r ?? 0,
    scope: scopeOf(reply.scope),
    perDc: perDc.length > 0,
    dc,
    members,
    order: new Array<Attempts | undefined>(lists.partitions),
    epoch: -1,
  };
}


function toKey(key: string | Uint8Array): Buffer {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (key instanceof Uint8Array) return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  throw new BadRequestError('key must be a string, Buffer or Uint8Array');
}

function parseAddress(s: string): Address {
  const m = /^(.*):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || m[1] === '' || !(port > 0 && port < 65536)) throw new BadRequestError(`seed "${s}" is not host:port`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function getResult(reply: Body): GetResult {
  if (reply.kind !== 'clientGetReply') throw unexpected(reply);
  return { values: reply.value.values.map((v) => Buffer.from(v)), context: Buffer.from(reply.value.context) };
}

function putResult(reply: Body): { context: Buffer } {
  if (reply.kind !== 'clientPutReply') throw unexpected(reply);
  return { context: Buffer.from(reply.value.context) };
}

function unexpected(b: Body): Error {
  return new UnavailableError(`unexpected reply ${b.kind}`);
}
