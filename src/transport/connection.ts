// One authenticated, framed TCP connection, either side. It owns the socket, the
// frame decoder, the outbox and the handshake; what the frames mean after the
// handshake is its owner's business (rpc-server.ts, rpc-peers.ts).
import type { Socket } from 'node:net';
import { WireErrorCode, errorFromWire } from '../codec/index.js';
import type { Hello, HelloProof, WireError } from '../codec/index.js';
import type { ShoalError } from '../errors.js';
import { UnauthorizedError, UnavailableError } from '../errors.js';
import type { Keyring } from './keyring.js';
import type { TransportCounters, TransportErrors } from './counters.js';
import { FrameDecoder } from './framing.js';
import type { FrameSink } from './framing.js';
import { FrameOutbox } from './outbox.js';
import { decodeEnvelope, encodeEnvelope } from './body.js';
import type { Body, DecodedEnvelope } from './body.js';
import {
  HANDSHAKE_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  helloPayload,
  helloProblem,
  proofPayload,
  proofValid,
} from './handshake.js';
import type { Role } from './handshake.js';

const KEEPALIVE_MS = 15_000;
/** How long a closing connection waits for its last frame to leave before destroying. */
const LINGER_MS = 1_000;

export interface ConnectionOptions {
  role: Role;
  keyring: Keyring;
  nodeId: string;
  maxFrameBytes: number;
  /** From construction to a completed handshake (TCP connect included for clients). */
  handshakeTimeoutMs: number;
  /** Names the other end in messages, e.g. "10.0.0.7:7400". */
  remote: string;
  /** Client side, holding a token: its name (`keyring` then holds the token's key). */
  clientName?: string;
  /** Server side: whether a token name has been revoked. */
  isRevoked?: (clientName: string) => boolean;
}

export interface ConnectionOwner {
  /** The handshake completed; frames may be sent. */
  ready(): void;
  /**
   * A frame after the handshake (a farewell `error` with id 0 is handled here
   * instead). `frame` is reused for the next one: read it before returning.
   */
  envelope(frame: DecodedEnvelope): void;
  /** Called once, when the connection closes for any reason. */
  closed(err: ShoalError): void;
}

type State = 'hello' | 'proof' | 'ready' | 'closed';

export class Connection implements FrameSink {
  readonly outbox: FrameOutbox;
  /** The other side's node id ('' for clients), known once its Hello arrived. */
  peerNodeId = '';
  /** The protocol version both sides speak: min(ours, theirs). */
  protocol = PROTOCOL_VERSION;
  /** Server side: the client token the other end proved ('' when it proved a cluster key). */
  peerClient = '';
  /** The keyring proofs are made and checked with: the cluster's, or one client's key. */
  private keyring: Keyring;
  private state: State = 'hello';
  private readonly decoder: FrameDecoder;
  private readonly ownHello: Uint8Array;
  private peerHello: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private socketClosed = false;
  private readonly closeWaiters: (() => void)[] = [];
  private readonly decoded: DecodedEnvelope = { id: 0, kind: undefined, value: undefined };

  constructor(
    readonly socket: Socket,
    private readonly opts: ConnectionOptions,
    private readonly counters: TransportCounters,
    private readonly owner: ConnectionOwner,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.decoder = new FrameDecoder(this, HANDSHAKE_MAX_FRAME_BYTES);
    this.outbox = new FrameOutbox(socket, (frames, bytes) => {
      counters.writes++;
      counters.framesOut += frames;
      counters.bytesOut += bytes;
    });
    socket.on('data', (chunk: Buffer) => {
      counters.bytesIn += chunk.length;
      this.decoder.push(chunk);
    });
    socket.on('error', (err) => this.lost(`connection to ${opts.remote} failed: ${err.message}`, err));
    socket.on('end', () => this.lost(`${opts.remote} closed the connection`));
    socket.on('close', () => {
      this.socketClosed = true;
      this.lost(`connection to ${opts.remote} closed`);
      for (const w of this.closeWaiters.splice(0)) w();
    });
    this.timer = setTimeout(() => {
      if (opts.role === 'server') this.fail('unauthorized', 'handshake not completed in time');
      else this.close(new UnavailableError(`no handshake with ${opts.remote} within ${opts.handshakeTimeoutMs} ms`));
    }, opts.handshakeTimeoutMs);
    this.keyring = opts.keyring;
    this.ownHello = opts.clientName === undefined ? helloPayload(opts.nodeId) : helloPayload(opts.nodeId, { name: opts.clientName, keyId: opts.keyring.primaryKeyId });
    this.outbox.push(this.ownHello, true);
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get remote(): string {
    return this.opts.remote;
  }

  /** Stops delivering frames (even the rest of a chunk being read) and reading the socket. */
  pauseReading(): void {
    this.decoder.pause();
    this.socket.pause();
  }

  /** Delivers frames kept while paused, then reads the socket again unless paused anew. */
  resumeReading(): void {
    if (this.state === 'closed') return;
    this.decoder.resume();
    if (!this.decoder.isPaused && !this.isClosed) this.socket.resume();
  }

  /** Queues one encoded Envelope; ignored once closed. */
  send(payload: Uint8Array): void {
    if (this.state !== 'closed') this.outbox.push(payload);
  }

  /**
   * Encodes and queues one Envelope (see FrameOutbox.pushBody); returns its payload
   * size. A payload over `limit`, or anything once closed, is not queued.
   */
  sendBody(id: number, body: Body, limit: number): number {
    return this.outbox.pushBody(id, body, limit);
  }

  /** Resolves once the socket has closed (after close(), or on its own). */
  whenClosed(): Promise<void> {
    if (this.socketClosed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /**
   * Closes the connection and tells the owner `err`. With `farewell`, an `error`
   * frame (id 0) is sent first so the other side learns why; the socket then lingers
   * briefly for it to leave.
   */
  close(err: ShoalError, farewell?: WireError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    this.decoder.stop();
    const socket = this.socket;
    if (farewell !== undefined && !socket.destroyed && socket.writable) {
      this.outbox.push(encodeEnvelope(0, { kind: 'error', value: farewell }));
      this.outbox.flush(true);
      this.outbox.close();
      socket.end();
      socket.resume(); // read (and drop) until the peer's FIN, so the socket closes promptly
      const linger = setTimeout(() => socket.destroy(), LINGER_MS);
      socket.once('close', () => clearTimeout(linger));
    } else {
      this.outbox.close();
      socket.destroy();
    }
    this.owner.closed(err);
  }

  // ---- FrameSink

  frame(payload: Buffer): void {
    this.counters.framesIn++;
    const d = this.decoded;
    try {
      decodeEnvelope(payload, d);
    } catch {
      this.fail('malformed', 'a frame does not decode');
      return;
    }
    if (this.state === 'ready') {
      if (d.id === 0 && d.kind === 'error') {
        this.close(errorFromWire(d.value as WireError));
        return;
      }
      this.owner.envelope(d);
      return;
    }
    this.handshake(d, payload);
  }

  oversize(length: number): void {
    this.fail('oversize', `a frame of ${length} bytes exceeds the limit of ${this.decoder.limit}`);
  }

  // ---- handshake

  private handshake(d: DecodedEnvelope, payload: Buffer): void {
    const role = this.opts.role;
    if (role === 'client' && d.kind === 'error' && d.id === 0) {
      // The server's reason for turning us away.
      this.close(errorFromWire(d.value as WireError));
      return;
    }
    if (this.state === 'hello') {
      if (d.kind !== 'hello' || d.id !== 0) return this.fail('unauthorized', 'expected a hello');
      const hello = d.value as Hello;
      const problem = helloProblem(hello);
      if (problem !== undefined) return this.fail('unauthorized', problem);
      this.peerHello = payload;
      this.peerNodeId = hello.nodeId;
      this.protocol = Math.min(PROTOCOL_VERSION, hello.protocol);
      if (role === 'server' && hello.client !== undefined && hello.client !== '') {
        // A token holder: both proofs use the key its name derives from a cluster key.
        if (this.opts.isRevoked?.(hello.client) === true) return this.fail('unauthorized', `client ${hello.client} is revoked`);
        const ring = this.opts.keyring.clientRing(hello.client, hello.clientKeyId!);
        if (ring === undefined) return this.fail('unauthorized', `client ${hello.client} has a token of no key of this cluster`);
        this.keyring = ring;
        this.peerClient = hello.client;
      }
      // The server proves first; a client proves only to a server that proved itself,
      // so a server without the key learns nothing from a client.
      if (role === 'server') this.outbox.push(proofPayload(this.keyring, 'server', payload, this.ownHello), true);
      this.state = 'proof';
      return;
    }
    // state 'proof'
    if (d.kind !== 'helloProof' || d.id !== 0) return this.fail('unauthorized', 'expected a hello proof');
    const theirRole = role === 'server' ? 'client' : 'server';
    if (!proofValid(this.keyring, d.value as HelloProof, theirRole, this.ownHello, this.peerHello!)) {
      return this.fail('unauthorized', `${this.opts.remote} did not prove a cluster key`);
    }
    if (role === 'client') this.outbox.push(proofPayload(this.keyring, 'client', this.peerHello!, this.ownHello), true);
    this.state = 'ready';
    this.decoder.limit = this.opts.maxFrameBytes;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.peerHello = undefined;
    this.owner.ready();
  }

  /** The socket ended or failed. A server counts a client lost mid-handshake as unauthorized. */
  private lost(message: string, cause?: Error): void {
    if (this.state === 'closed') return;
    if (this.opts.role === 'server' && this.state !== 'ready') {
      this.fail('unauthorized', `closed during the handshake: ${message}`);
      return;
    }
    this.close(new UnavailableError(message, { cause }));
  }

  /** Closes for cause and counts it; a server tells the client why, in one word. */
  private fail(kind: keyof TransportErrors, message: string): void {
    if (this.state === 'closed') return;
    this.counters.errors[kind]++;
    const err = kind === 'unauthorized' ? new UnauthorizedError(message) : new UnavailableError(message);
    if (this.opts.role === 'server' && kind === 'unauthorized') {
      this.close(err, { code: WireErrorCode.UNAUTHORIZED, message: 'unauthorized' });
    } else {
      this.close(err);
    }
  }
}
