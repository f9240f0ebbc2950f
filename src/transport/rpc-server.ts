// The RPC server: accepts connections, authenticates them, hands each request to one
// handler and writes its reply under the request's id. Replies may leave in any
// order; a slow request does not hold up the others on its connection.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Startable } from '../time.js';
import { BadRequestError, InternalError, ShoalError, TooLargeError, UnavailableError, UnknownMessageError } from '../errors.js';
import { WireErrorCode, errorToWire } from '../codec/index.js';
import type { Keyring } from './keyring.js';
import { encodeEnvelope } from './body.js';
import type { Body, DecodedEnvelope } from './body.js';
import { Connection } from './connection.js';
import type { ConnectionOwner } from './connection.js';
import { copyCounters, newCounters } from './counters.js';
import type { TransportCounters } from './counters.js';
import { DEFAULT_MAX_FRAME_BYTES, positiveInt } from './limits.js';
import { type NodeTls, tlsServer } from './tls.js';

/** Who sent a request. */
export interface PeerInfo {
  /** The node id from the peer's Hello; '' for clients. Authenticated by the cluster key, not per node. */
  readonly nodeId: string;
  /** "address:port" of the other end. */
  readonly remote: string;
  /** The protocol version both sides speak. */
  readonly protocol: number;
  /**
   * The client token the connection proved, by name; '' when it proved a cluster
   * key (a node, or a tool or client trusted with the key).
   */
  readonly client: string;
}

/**
 * Answers one request. Throw (or reject with) a ShoalError to send that error; any
 * other exception is sent as INTERNAL. Decoded `bytes` fields are views of the
 * received frame: copy them if you keep them long after replying.
 */
export type RpcHandler = (req: Body, peer: PeerInfo) => Body | Promise<Body>;

export interface RpcServerOptions {
  host: string;
  /** 0 picks an ephemeral port; read `port` after start(). */
  port: number;
  keyring: Keyring;
  nodeId: string;
  handler: RpcHandler;
  /** Largest frame accepted or sent (default 4 MiB: a 1 MiB value and key with room to spare). */
  maxFrameBytes?: number;
  /** A connection that has not authenticated within this is closed (default 5000). */
  handshakeTimeoutMs?: number;
  /**
   * Requests of one connection being handled at once (default 4096). At the bound
   * the server stops reading from that connection until some finish, so a client
   * cannot queue unbounded work; TCP flow control pushes back on it.
   */
  maxInFlightPerConnection?: number;
  /**
   * Reply bytes of one connection not yet taken by the kernel (default 8 MiB). Past
   * this, or whenever the socket asks to wait for 'drain', the server stops reading
   * that connection, even mid-chunk, so a client that sends small requests for big
   * replies and does not read them cannot grow the server's memory.
   */
  maxQueuedBytesPerConnection?: number;
  /** Open connections beyond which new ones are refused at once (default 10000). */
  maxConnections?: number;
  /** Serve TLS (then every peer and client must dial TLS); undefined: plain TCP. */
  tls?: NodeTls;
  /** Client token names refused at the handshake. */
  revokedClients?: ReadonlySet<string>;
  /**
   * Told of a handler failure that was not a ShoalError (a bug): the caller gets only
   * "internal error", so this is where its cause can be logged.
   */
  onInternalError?: (err: unknown) => void;
}

export interface RpcServerStats extends TransportCounters {
  /** Connections open now. */
  connections: number;
  /** Connections accepted since start. */
  accepted: number;
  /** Connections that completed the handshake since start. */
  authenticated: number;
  /** Requests being handled now. */
  inFlight: number;
  /** Bytes of replies not yet taken by the kernel, all connections. */
  queuedBytes: number;
  /** Connections not being read now (backpressure). */
  paused: number;
  /** Handlers that threw (answered with an error reply). */
  handlerErrors: number;
  /**
   * The same by the error code answered: SHOAL_UNAVAILABLE during a ring change
   * ("retry after the ring change reaches this node") is expected, SHOAL_INTERNAL is not.
   */
  handlerErrorCodes: Record<string, number>;
  /** Connections whose TLS handshake failed (not TLS, a bad certificate, too slow). */
  tlsErrors: number;
}

export class RpcServer implements Startable {
  private server: Server | undefined;
  private readonly sessions = new Set<ServerSession>();
  private readonly counters = newCounters();
  private accepted = 0;
  private boundPort = 0;
  /** @internal shared with sessions */
  readonly tally = { authenticated: 0, handlerErrors: 0, tlsErrors: 0 };
  /** @internal shared with sessions: handler errors by code */
  readonly handlerErrorCodes = new Map<string, number>();
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly maxInFlight: number;
  readonly maxQueuedBytes: number;
  readonly maxConnections: number;

  constructor(readonly options: RpcServerOptions) {
    this.maxFrameBytes = positiveInt(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
    this.handshakeTimeoutMs = positiveInt(options.handshakeTimeoutMs ?? 5_000, 'handshakeTimeoutMs');
    this.maxInFlight = positiveInt(options.maxInFlightPerConnection ?? 4096, 'maxInFlightPerConnection');
    this.maxQueuedBytes = positiveInt(options.maxQueuedBytesPerConnection ?? 8 * 1024 * 1024, 'maxQueuedBytesPerConnection');
    this.maxConnections = positiveInt(options.maxConnections ?? 10_000, 'maxConnections');
    if (typeof options.handler !== 'function') throw new TypeError('RpcServer: handler must be a function');
  }

  /** The bound port (after start()). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const accept = (socket: Socket): void => this.accept(socket);
    const tls = this.options.tls;
    const server = tls === undefined ? createServer(accept) : tlsServer(tls, this.handshakeTimeoutMs, accept, () => this.tally.tlsErrors++);
    server.maxConnections = this.maxConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      this.server = undefined;
      throw err;
    });
    // Errors after listening (e.g. EMFILE on accept) must not crash the node.
    server.on('error', () => {});
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  /**
   * Stops listening and closes every connection; requests in flight on them fail on
   * the other side with UnavailableError. Resolves once every socket has closed.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const waits: Promise<void>[] = [];
    for (const s of this.sessions) {
      s.conn.close(new UnavailableError('server stopping'), { code: WireErrorCode.UNAVAILABLE, message: 'server stopping' });
      waits.push(s.conn.whenClosed());
    }
    await Promise.all(waits);
    await closed;
  }

  stats(): RpcServerStats {
    let inFlight = 0;
    let queuedBytes = 0;
    let paused = 0;
    for (const s of this.sessions) {
      inFlight += s.inFlight;
      queuedBytes += s.conn.outbox.queuedBytes;
      if (s.paused) paused++;
    }
    return {
      ...copyCounters(this.counters),
      connections: this.sessions.size,
      accepted: this.accepted,
      authenticated: this.tally.authenticated,
      inFlight,
      queuedBytes,
      paused,
      handlerErrors: this.tally.handlerErrors,
      handlerErrorCodes: Object.fromEntries(this.handlerErrorCodes),
      tlsErrors: this.tally.tlsErrors,
    };
  }

  private accept(socket: Socket): void {
    if (this.server === undefined) {
      socket.destroy();
      return;
    }
    this.accepted++;
    const session = new ServerSession(this, socket, this.counters, () => this.sessions.delete(session));
    this.sessions.add(session);
  }
}

/** One accepted connection's request loop and flow control. */
class ServerSession implements ConnectionOwner {
  readonly conn: Connection;
  inFlight = 0;
  paused = false;
  private peer: PeerInfo | undefined;

  constructor(
    private readonly server: RpcServer,
    socket: Socket,
    private readonly counters: TransportCounters,
    private readonly gone: () => void,
  ) {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.conn = new Connection(
      socket,
      {
        role: 'server',
        keyring: server.options.keyring,
        nodeId: server.options.nodeId,
        maxFrameBytes: server.maxFrameBytes,
        handshakeTimeoutMs: server.handshakeTimeoutMs,
        remote,
        ...(server.options.revokedClients ? { isRevoked: (name: string) => server.options.revokedClients!.has(name) } : {}),
      },
      counters,
      this,
    );
    this.conn.outbox.onWritable = () => {
      if (this.paused) this.flow();
    };
  }

  ready(): void {
    this.server.tally.authenticated++;
    this.peer = Object.freeze({ nodeId: this.conn.peerNodeId, remote: this.conn.remote, protocol: this.conn.protocol, client: this.conn.peerClient });
  }

  closed(): void {
    this.gone();
  }

  envelope(frame: DecodedEnvelope): void {
    const id = frame.id;
    const kind = frame.kind;
    if (kind === undefined) {
      this.counters.errors.unknownMessage++;
      this.replyError(id, new UnknownMessageError('unknown message kind'));
      return;
    }
    if (kind === 'error') return; // not a request; nothing to answer
    if (kind === 'hello' || kind === 'helloProof') {
      this.replyError(id, new BadRequestError('handshake message after the handshake'));
      return;
    }
    let result: Body | Promise<Body>;
    try {
      result = this.server.options.handler({ kind, value: frame.value } as Body, this.peer!);
    } catch (err) {
      this.handlerFailed(id, err);
      return;
    }
    if (typeof (result as Promise<Body> | undefined)?.then === 'function') {
      this.inFlight++;
      (result as Promise<Body>).then(
        (reply) => {
          this.inFlight--;
          this.reply(id, reply);
          this.flow();
        },
        (err: unknown) => {
          this.inFlight--;
          this.handlerFailed(id, err);
          this.flow();
        },
      );
      this.flow();
    } else {
      this.reply(id, result as Body);
      this.flow();
    }
  }

  /** Pauses reading while the connection has too much in flight or unsent; resumes after. */
  private flow(): void {
    if (this.conn.isClosed) return;
    const out = this.conn.outbox;
    const over = this.inFlight >= this.server.maxInFlight || out.isBlocked || out.queuedBytes > this.server.maxQueuedBytes;
    if (over && !this.paused) {
      this.paused = true;
      this.conn.pauseReading();
    } else if (!over && this.paused) {
      this.paused = false;
      this.conn.resumeReading();
    }
  }

  private reply(id: number, body: Body): void {
    if (id === 0 || this.conn.isClosed) return;
    let size: number;
    try {
      if (typeof body !== 'object' || body === null) throw new TypeError('the handler returned no message');
      size = this.conn.sendBody(id, body, this.server.maxFrameBytes);
    } catch (err) {
      this.handlerFailed(id, err);
      return;
    }
    if (size > this.server.maxFrameBytes) {
      this.replyError(id, new TooLargeError(`reply of ${size} bytes exceeds the frame limit`));
    }
  }

  private handlerFailed(id: number, err: unknown): void {
    this.server.tally.handlerErrors++;
    const answer = err instanceof ShoalError ? err : new InternalError('internal error', { cause: err });
    if (answer !== err) this.server.options.onInternalError?.(err);
    const codes = this.server.handlerErrorCodes;
    codes.set(answer.code, (codes.get(answer.code) ?? 0) + 1);
    this.replyError(id, answer);
  }

  private replyError(id: number, err: ShoalError): void {
    if (id === 0 || this.conn.isClosed) return;
    this.conn.send(encodeEnvelope(id, { kind: 'error', value: errorToWire(err) }));
  }
}
