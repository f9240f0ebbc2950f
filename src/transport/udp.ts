// Datagrams for gossip: the transport contract, and its real implementation on a
// UDP socket. Bytes in, bytes out: authentication and decoding belong to the
// receiver (src/membership seals every datagram with the keyring).
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { FaultFilter } from './udp-filter.js';

/** Receives one datagram; `data` is owned by the handler. */
export type DatagramHandler = (data: Buffer, host: string, port: number) => void;

export interface DatagramCounters {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Received datagrams over the size limit, dropped unread. */
  oversize: number;
  /** Datagrams dropped by the fault filter (either direction). */
  filtered: number;
  /** Send failures and socket errors reported by the OS. */
  socketErrors: number;
  /** Exceptions thrown by the handler (caught: they never reach the socket). */
  handlerErrors: number;
}

/**
 * The inbound path both transports share: bound the size, apply the test filter,
 * count, and hand the datagram to the handler, whose exceptions are counted and
 * never reach the socket.
 */
export function deliverInbound(
  maxBytes: number,
  counters: DatagramCounters,
  filter: FaultFilter | undefined,
  handler: DatagramHandler | undefined,
  data: Buffer,
  host: string,
  port: number,
): void {
  if (data.length > maxBytes) {
    counters.oversize++;
    return;
  }
  if (filter !== undefined && filter.blocks(host, port)) {
    counters.filtered++;
    return;
  }
  counters.datagramsIn++;
  counters.bytesIn += data.length;
  if (handler === undefined) return;
  try {
    handler(data, host, port);
  } catch {
    counters.handlerErrors++;
  }
}

export function newDatagramCounters(): DatagramCounters {
  return { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, oversize: 0, filtered: 0, socketErrors: 0, handlerErrors: 0 };
}

/**
 * Unreliable, unordered datagrams between host:port addresses. start() binds;
 * `port` is the bound port after start (useful with port 0). send() never throws
 * for network reasons: a datagram may be lost, like any datagram. stop() is
 * idempotent and closes everything start() opened.
 */
export interface DatagramTransport {
  readonly host: string;
  readonly port: number;
  /** Largest datagram sent or accepted; bigger received ones are dropped and counted. */
  readonly maxDatagramBytes: number;
  readonly counters: DatagramCounters;
  /** Sets the single receiver (undefined: received datagrams are dropped). */
  onDatagram(handler: DatagramHandler | undefined): void;
  /** Queues one datagram; throws RangeError if it exceeds maxDatagramBytes. */
  send(host: string, port: number, data: Uint8Array): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface UdpTransportOptions {
  /** Address to bind and advertise; default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (default) picks a free one. */
  port?: number;
  /** Default 1400: under the common path MTU, so datagrams are not fragmented. */
  maxDatagramBytes?: number;
  /** Socket receive buffer; default 4 MiB (bursts of gossip at startup). */
  receiveBufferBytes?: number;
  /** Fault injection for tests; absent in production. */
  filter?: FaultFilter;
}

export const DEFAULT_MAX_DATAGRAM_BYTES = 1400;

function checkSize(n: number): number {
  if (!Number.isInteger(n) || n < 64 || n > 65507) throw new RangeError(`maxDatagramBytes must be an integer in 64..65507, got ${n}`);
  return n;
}

export class UdpTransport implements DatagramTransport {
  readonly host: string;
  readonly maxDatagramBytes: number;
  readonly counters = newDatagramCounters();
  private boundPort: number;
  private readonly receiveBufferBytes: number;
  private readonly filter: FaultFilter | undefined;
  private socket: Socket | undefined;
  private handler: DatagramHandler | undefined;
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(options: UdpTransportOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    if (!Number.isInteger(this.boundPort) || this.boundPort < 0 || this.boundPort > 65535) {
      throw new RangeError(`port must be an integer in 0..65535, got ${options.port}`);
    }
    this.maxDatagramBytes = checkSize(options.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES);
    this.receiveBufferBytes = options.receiveBufferBytes ?? 4 << 20;
    this.filter = options.filter;
  }

  get port(): number {
    return this.boundPort;
  }

  onDatagram(handler: DatagramHandler | undefined): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    if (this.socket !== undefined) return;
    const socket = createSocket({ type: isIPv6(this.host) ? 'udp6' : 'udp4' });
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address, rinfo.port));
    // An 'error' event without a listener would throw; errors are counted instead.
    socket.on('error', () => {
      this.counters.socketErrors++;
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      socket.once('error', fail);
      socket.bind(this.boundPort, this.host, () => {
        socket.off('error', fail);
        resolve();
      });
    }).catch((err: unknown) => {
      socket.close();
      throw err;
    });
    try {
      socket.setRecvBufferSize(this.receiveBufferBytes);
    } catch {
      // The OS may cap the buffer; the default still works.
    }
    this.boundPort = socket.address().port;
    this.socket = socket;
  }

  async stop(): Promise<void> {
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  send(host: string, port: number, data: Uint8Array): void {
    if (data.length > this.maxDatagramBytes) {
      throw new RangeError(`datagram of ${data.length} bytes exceeds the limit of ${this.maxDatagramBytes}`);
    }
    if (this.socket === undefined) return;
    const filter = this.filter;
    if (filter !== undefined) {
      if (filter.dropsOutgoing(host, port)) {
        this.counters.filtered++;
        return;
      }
      const delay = filter.delayFor(host, port);
      if (delay > 0) {
        const copy = Buffer.from(data);
        const t = setTimeout(() => {
          this.delayed.delete(t);
          this.transmit(host, port, copy);
        }, delay);
        this.delayed.add(t);
        return;
      }
    }
    this.transmit(host, port, data);
  }

  private transmit(host: string, port: number, data: Uint8Array): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.counters.datagramsOut++;
    this.counters.bytesOut += data.length;
    socket.send(data, port, host, (err) => {
      if (err) this.counters.socketErrors++;
    });
  }

  private receive(msg: Buffer, host: string, port: number): void {
    deliverInbound(this.maxDatagramBytes, this.counters, this.filter, this.handler, msg, host, port);
  }

}
