// The RPC client side: one authenticated connection per peer address, many requests
// in flight on it, replies matched by id. After a failed connection attempt a peer is
// left alone for a jittered, exponentially growing delay; meanwhile requests to it
// fail fast instead of piling up.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ShoalError } from '../errors.js';
import {
  BadRequestError,
  ClosedError,
  OverloadedError,
  TimeoutError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  UnknownMessageError,
} from '../errors.js';
import type { Keyring } from './keyring.js';
import { encodeEnvelope } from './body.js';
import type { Body, DecodedEnvelope } from './body.js';
import { Connection } from './connection.js';
import { PendingTable } from './pending-table.js';
import type { ConnectionOwner } from './connection.js';
import { copyCounters, newCounters } from './counters.js';
import type { TransportCounters } from './counters.js';
import { DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import type { FaultFilter } from './udp-filter.js';
import { DEFAULT_MAX_FRAME_BYTES, positiveInt } from './limits.js';
import { type ClientTls, type NodeTls, tlsConnect } from './tls.js';
import { errorFromWire } from '../codec/index.js';
import type { WireError } from '../codec/index.js';

/** How often pending requests are checked for their deadline (ms): timeouts fire up to this late. */
const SWEEP_MS = 10;

export interface RpcPeersOptions {
  keyring: Keyring;
  /** This node's id, sent in the Hello; '' for clients. */
  nodeId: string;
  /** Largest frame sent or accepted (default 4 MiB). */
  maxFrameBytes?: number;
  /** TCP connect plus handshake (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Default per-request timeout (default 10000 ms). */
  requestTimeoutMs?: number;
  /**
   * Bytes of requests waiting to be sent to one peer (held during the handshake,
   * queued for the socket) beyond which new requests fail fast with
   * OverloadedError (default 16 MiB).
   */
  maxQueuedBytes?: number;
  backoff?: BackoffOptions;
  /**
   * Test-only fault injection. A request to a peer the filter blocks, or one its loss
   * probability picks, is never sent and fails by its timeout (TimeoutError), as a
   * lost frame would; its delay to the peer (one way) holds each request back that
   * long before sending and each reply that long after it arrives.
   */
  faultFilter?: FaultFilter;
  /**
   * How long a peer that let a request time out counts as unresponsive
   * (isUnresponsive()), unless a frame from it arrives sooner (default: twice the
   * request timeout).
   */
  unresponsiveMs?: number;
  /** Holding a client token: its name (`keyring` then holds the token's key, client-token.ts). */
  clientName?: string;
  /** Dial TLS (the cluster's nodes serve it: RpcServerOptions.tls); undefined: plain TCP. */
  tls?: ClientTls | NodeTls;
}

export interface RequestOptions {
  timeoutMs?: number;
}

export interface RpcPeersStats extends TransportCounters {
  /** Connections open or opening now. */
  connections: number;
  /** Connection attempts since creation. */
  connects: number;
  /** Attempts that never completed a handshake, or were refused after it. */
  connectFailures: number;
  requests: number;
  timeouts: number;
  /** Requests refused because too much was queued for the peer. */
  overloaded: number;
  /** Requests refused because the peer was in backoff. */
  fastFailures: number;
  /** Replies that matched no pending request (late, after a timeout). */
  unmatched: number;
  /** Requests waiting for a reply now. */
  pending: number;
  /** Bytes of requests not yet taken by the kernel, all peers. */
  queuedBytes: number;
}

/**
 * Where a reply goes, for callers that want no promise per request (the SDK's
 * direct reads): exactly one of the two is called, once, possibly before send()
 * returns (a request refused at once).
 */
export interface ReplyHandler {
  reply(body: Body): void;
  fail(err: Error): void;
}

interface Pending {
  id: number;
  handler: ReplyHandler;
  deadline: number;
}

/** request()'s handler: settles its promise. */
class Settle implements ReplyHandler {
  constructor(
    readonly reply: (b: Body) => void,
    readonly fail: (e: Error) => void,
  ) {}
}

export class RpcPeers {
  readonly maxFrameBytes: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxQueuedBytes: number;
  readonly backoff: BackoffOptions;
  readonly unresponsiveMs: number;
  /** Changes whenever a peer becomes unresponsive or stops being so (see isUnresponsive()). */
  unresponsiveEpoch = 0;
  /** @internal counters shared with links */
  readonly counters = newCounters();
  /** @internal */
  readonly tally = {
    connects: 0,
    connectFailures: 0,
    requests: 0,
    timeouts: 0,
    overloaded: 0,
    fastFailures: 0,
    unmatched: 0,
  };
  /** By host, then port. */
  private readonly slots = new Map<string, Map<number, PeerSlot>>();
  /** Requests the fault filter dropped, waiting for their timeout. */
  private readonly dropped = new Map<NodeJS.Timeout, ReplyHandler>();
  private closed = false;

  constructor(readonly options: RpcPeersOptions) {
    this.maxFrameBytes = positiveInt(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
    this.connectTimeoutMs = positiveInt(options.connectTimeoutMs ?? 5_000, 'connectTimeoutMs');
    this.requestTimeoutMs = positiveInt(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs');
    this.maxQueuedBytes = positiveInt(options.maxQueuedBytes ?? 16 * 1024 * 1024, 'maxQueuedBytes');
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.unresponsiveMs = positiveInt(options.unresponsiveMs ?? 2 * this.requestTimeoutMs, 'unresponsiveMs');
  }

  /**
   * A peer let a request on an open connection time out within the last
   * `unresponsiveMs` and has sent nothing since: stopped, stalled, or cut off
   * without the connection breaking. Callers with a choice of peers try it last.
   */
  isUnresponsive(host: string, port: number): boolean {
    return this.slots.get(host)?.get(port)?.unresponsive === true;
  }

  /** @internal a request to `slot` timed out: unresponsive for unresponsiveMs from now. */
  markUnresponsive(slot: PeerSlot): void {
    clearTimeout(slot.unresponsiveTimer);
    slot.unresponsiveTimer = setTimeout(() => this.heardFrom(slot), this.unresponsiveMs);
    slot.unresponsiveTimer.unref();
    if (slot.unresponsive) return;
    slot.unresponsive = true;
    this.unresponsiveEpoch++;
  }

  /** @internal a frame arrived from `slot`'s peer (or its unresponsive period ended). */
  heardFrom(slot: PeerSlot): void {
    if (!slot.unresponsive) return;
    slot.unresponsive = false;
    clearTimeout(slot.unresponsiveTimer);
    slot.unresponsiveTimer = undefined;
    this.unresponsiveEpoch++;
  }

  /**
   * Sends `body` to host:port and resolves with the reply. Rejects with TimeoutError
   * (no reply in time), UnavailableError (cannot connect, connection lost, peer in
   * backoff), UnauthorizedError (the keys do not match), OverloadedError (too much
   * queued for the peer), TooLargeError, ClosedError (after close()), or the
   * ShoalError that the peer's handler answered with.
   */
  request(host: string, port: number, body: Body, options?: RequestOptions): Promise<Body> {
    return new Promise<Body>((resolve, reject) => this.send(host, port, body, options, new Settle(resolve, reject)));
  }

  /** As request(), with the outcome given to `handler` instead of a promise. */
  send(host: string, port: number, body: Body, options: RequestOptions | undefined, handler: ReplyHandler): void {
    if (this.closed) return handler.fail(new ClosedError('the RPC client is closed'));
    if (typeof host !== 'string' || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
      return handler.fail(new BadRequestError(`bad peer address ${String(host)}:${String(port)}`));
    }
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    if (!(timeoutMs > 0)) return handler.fail(new BadRequestError(`timeoutMs must be positive, got ${timeoutMs}`));
    const filter = this.options.faultFilter;
    if (filter !== undefined && filter.dropsOutgoing(host, port)) return this.drop(host, port, timeoutMs, handler);
    // By host, then port: no address string to build and hash per request.
    let ports = this.slots.get(host);
    if (ports === undefined) {
      ports = new Map();
      this.slots.set(host, ports);
    }
    let slot = ports.get(port);
    if (slot === undefined) {
      slot = new PeerSlot(host, port);
      ports.set(port, slot);
    }
    let link = slot.link;
    if (link === undefined) {
      if (performance.now() < slot.retryAt) {
        this.tally.fastFailures++;
        return handler.fail(slot.fastFailure());
      }
      link = new PeerLink(this, slot);
      slot.link = link;
    }
    link.send(body, timeoutMs, handler);
  }

  /** Closes every connection; pending requests reject with ClosedError. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const waits: Promise<void>[] = [];
    for (const slot of this.allSlots()) {
      clearTimeout(slot.unresponsiveTimer);
      const link = slot.link;
      if (link !== undefined) {
        link.conn.close(new ClosedError('the RPC client is closed'));
        waits.push(link.conn.whenClosed());
      }
    }
    this.slots.clear();
    for (const [timer, handler] of this.dropped) {
      clearTimeout(timer);
      handler.fail(new ClosedError('the RPC client is closed'));
    }
    this.dropped.clear();
    await Promise.all(waits);
  }

  /** A request lost on the way (fault injection): it times out. */
  private drop(host: string, port: number, timeoutMs: number, handler: ReplyHandler): void {
    this.tally.requests++;
    const timer = setTimeout(() => {
      this.dropped.delete(timer);
      this.tally.timeouts++;
      handler.fail(new TimeoutError(`no reply from ${host}:${port} within the request timeout`));
    }, timeoutMs);
    this.dropped.set(timer, handler);
  }

  private *allSlots(): IterableIterator<PeerSlot> {
    for (const ports of this.slots.values()) yield* ports.values();
  }

  stats(): RpcPeersStats {
    let connections = 0;
    let pending = 0;
    let queuedBytes = 0;
    for (const slot of this.allSlots()) {
      const link = slot.link;
      if (link === undefined) continue;
      connections++;
      pending += link.pendingCount;
      queuedBytes += link.queuedBytes;
    }
    return { ...copyCounters(this.counters), ...this.tally, connections, pending, queuedBytes };
  }
}

function tooLarge(size: number, limit: number): TooLargeError {
  return new TooLargeError(`request of ${size} bytes exceeds the frame limit of ${limit}`);
}

/** What the pool remembers about one address across connections. */
class PeerSlot {
  link: PeerLink | undefined;
  failures = 0;
  retryAt = 0;
  lastError: ShoalError | undefined;
  /** A request timed out and nothing has come from the peer since (for unresponsiveMs at most). */
  unresponsive = false;
  unresponsiveTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  fastFailure(): ShoalError {
    const wait = Math.max(0, Math.ceil(this.retryAt - performance.now()));
    const where = `${this.host}:${this.port}`;
    if (this.lastError instanceof UnauthorizedError) return new UnauthorizedError(this.lastError.message);
    return new UnavailableError(`${where} is unreachable; next attempt in ${wait} ms`, { cause: this.lastError });
  }
}

/** One connection to one peer and the requests waiting on it. */
class PeerLink implements ConnectionOwner {
  readonly conn: Connection;
  private readonly pending = new PendingTable<Pending>();
  /** Requests encoded before the handshake completed, sent right after it. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** A frame arrived after the handshake: the peer accepted us. */
  private confirmed = false;
  private sweep: NodeJS.Timeout | undefined;
  /** Requests and replies held back by the fault filter's delay. */
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(
    private readonly pool: RpcPeers,
    private readonly slot: PeerSlot,
  ) {
    pool.tally.connects++;
    const remote = `${slot.host}:${slot.port}`;
    const tls = pool.options.tls;
    const socket = tls === undefined ? connect({ host: slot.host, port: slot.port }) : tlsConnect(slot.host, slot.port, tls);
    this.conn = new Connection(
      socket,
      {
        role: 'client',
        keyring: pool.options.keyring,
        nodeId: pool.options.nodeId,
        maxFrameBytes: pool.maxFrameBytes,
        handshakeTimeoutMs: pool.connectTimeoutMs,
        remote,
        ...(pool.options.clientName !== undefined ? { clientName: pool.options.clientName } : {}),
      },
      pool.counters,
      this,
    );
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get queuedBytes(): number {
    return this.heldBytes + this.conn.outbox.queuedBytes;
  }

  send(body: Body, timeoutMs: number, handler: ReplyHandler): void {
    const pool = this.pool;
    if (this.queuedBytes > pool.maxQueuedBytes) {
      pool.tally.overloaded++;
      return handler.fail(new OverloadedError(`more than ${pool.maxQueuedBytes} bytes queued for ${this.conn.remote}`));
    }
    // In the table before the frame is handed over: should the connection close
    // meanwhile, the entry fails with it, once.
    const id = this.pending.add({ id: 0, handler, deadline: performance.now() + timeoutMs });
    const delay = pool.options.faultFilter?.delayFor(this.slot.host, this.slot.port) ?? 0;
    let payload: Uint8Array | undefined;
    let refused: Error | undefined;
    try {
      if (this.conn.isReady && delay === 0) {
        // The usual case: encoded straight into the connection's outbox.
        const size = this.conn.sendBody(id, body, pool.maxFrameBytes);
        if (size > pool.maxFrameBytes) refused = tooLarge(size, pool.maxFrameBytes);
      } else {
        payload = encodeEnvelope(id, body);
        if (payload.length > pool.maxFrameBytes) refused = tooLarge(payload.length, pool.maxFrameBytes);
      }
    } catch (err) {
      refused = err instanceof Error ? err : new TypeError(String(err));
    }
    if (refused !== undefined) {
      if (this.pending.take(id) !== undefined) handler.fail(refused);
      return;
    }
    pool.tally.requests++;
    if (this.sweep === undefined) this.sweep = setInterval(() => this.expire(), SWEEP_MS);
    if (payload === undefined) return;
    if (delay > 0) {
      const p = payload;
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        if (this.pending.has(id)) this.transmit(p);
      }, delay);
      this.delayed.add(timer);
    } else {
      this.transmit(payload);
    }
  }

  private transmit(payload: Uint8Array): void {
    if (this.conn.isReady) {
      this.conn.send(payload);
    } else {
      this.held.push(payload);
      this.heldBytes += payload.length;
    }
  }

  ready(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const p of held) this.conn.send(p);
  }

  envelope(frame: DecodedEnvelope): void {
    this.confirmed = true;
    this.pool.heardFrom(this.slot);
    const delay = this.pool.options.faultFilter?.delayFor(this.slot.host, this.slot.port) ?? 0;
    if (delay > 0) {
      const held: DecodedEnvelope = { id: frame.id, kind: frame.kind, value: frame.value }; // `frame` is reused for the next one
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        this.settle(held);
      }, delay);
      this.delayed.add(timer);
      return;
    }
    this.settle(frame);
  }

  /** Answers the request a reply is for (one that timed out meanwhile is unmatched). */
  private settle(frame: DecodedEnvelope): void {
    const p = this.pending.take(frame.id);
    if (p === undefined) {
      this.pool.tally.unmatched++;
      return;
    }
    const kind = frame.kind;
    if (kind === 'error') {
      p.handler.fail(errorFromWire(frame.value as WireError));
    } else if (kind === undefined) {
      this.pool.counters.errors.unknownMessage++;
      p.handler.fail(new UnknownMessageError(`${this.conn.remote} replied with an unknown message kind`));
    } else {
      p.handler.reply({ kind, value: frame.value } as Body);
    }
  }

  closed(err: ShoalError): void {
    const slot = this.slot;
    if (slot.link === this) slot.link = undefined;
    if (this.confirmed) {
      slot.failures = 0;
      slot.retryAt = 0;
    } else if (!(err instanceof ClosedError)) {
      this.pool.tally.connectFailures++;
      slot.failures++;
      slot.retryAt = performance.now() + backoffDelay(slot.failures, this.pool.backoff);
    }
    slot.lastError = err;
    clearInterval(this.sweep);
    this.sweep = undefined;
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    this.held = [];
    this.heldBytes = 0;
    for (const p of this.pending.drain()) p.handler.fail(err);
  }

  /** Rejects requests past their deadline; stops checking when none are left. */
  private expire(): void {
    if (this.pending.size === 0) {
      clearInterval(this.sweep);
      this.sweep = undefined;
      return;
    }
    const now = performance.now();
    const expired = this.pending.removeWhere((e) => e.deadline <= now);
    if (expired.length > 0) this.pool.markUnresponsive(this.slot);
    for (const p of expired) {
      this.pool.tally.timeouts++;
      p.handler.fail(new TimeoutError(`no reply from ${this.conn.remote} within the request timeout`));
    }
  }
}
