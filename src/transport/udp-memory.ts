// An in-memory network of datagram transports, for deterministic protocol tests and
// simulations: the same DatagramTransport contract as UDP, delivered through a
// caller-supplied scheduler (real timers, or a simulated clock).
import type { FaultFilter } from './udp-filter.js';
import { DEFAULT_MAX_DATAGRAM_BYTES, deliverInbound, newDatagramCounters } from './udp.js';
import type { DatagramCounters, DatagramHandler, DatagramTransport } from './udp.js';

/** Runs fn after delayMs on the network's notion of time. */
export type Schedule = (delayMs: number, fn: () => void) => void;

export interface MemoryNetworkOptions {
  /** Default: setTimeout. Pass a simulated clock's scheduler for deterministic runs. */
  schedule?: Schedule;
  /** One-way delivery latency in ms; default 0 (still asynchronous). */
  latencyMs?: number;
}

export interface MemoryTransportOptions {
  port?: number;
  maxDatagramBytes?: number;
  filter?: FaultFilter;
}

export class MemoryNetwork {
  readonly schedule: Schedule;
  readonly latencyMs: number;
  private readonly bound = new Map<string, MemoryTransport>();
  private nextPort = 20000;

  constructor(options: MemoryNetworkOptions = {}) {
    this.schedule = options.schedule ?? ((ms, fn) => void setTimeout(fn, ms));
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** A transport at host:port (port 0 or absent: the next free one); bound by start(). */
  transport(host = '127.0.0.1', options: MemoryTransportOptions = {}): MemoryTransport {
    let port = options.port ?? 0;
    if (port === 0) {
      while (this.bound.has(`${host}:${this.nextPort}`)) this.nextPort++;
      port = this.nextPort++;
    }
    return new MemoryTransport(this, host, port, options);
  }

  /** @internal */
  attach(t: MemoryTransport): void {
    const key = `${t.host}:${t.port}`;
    if (this.bound.has(key)) throw new Error(`address in use: ${key}`);
    this.bound.set(key, t);
  }

  /** @internal */
  detach(t: MemoryTransport): void {
    const key = `${t.host}:${t.port}`;
    if (this.bound.get(key) === t) this.bound.delete(key);
  }

  /** @internal Delivers after the latency (plus the sender's delay) if the receiver is bound then. */
  deliver(from: MemoryTransport, host: string, port: number, data: Buffer, extraDelayMs: number): void {
    this.schedule(this.latencyMs + extraDelayMs, () => {
      const to = this.bound.get(`${host}:${port}`);
      if (to !== undefined) to.receive(data, from.host, from.port);
    });
  }
}

export class MemoryTransport implements DatagramTransport {
  readonly host: string;
  readonly port: number;
  readonly maxDatagramBytes: number;
  readonly counters: DatagramCounters = newDatagramCounters();
  private readonly network: MemoryNetwork;
  private readonly filter: FaultFilter | undefined;
  private handler: DatagramHandler | undefined;
  private started = false;

  constructor(network: MemoryNetwork, host: string, port: number, options: MemoryTransportOptions) {
    this.network = network;
    this.host = host;
    this.port = port;
    this.maxDatagramBytes = options.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES;
    this.filter = options.filter;
  }

  onDatagram(handler: DatagramHandler | undefined): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.network.attach(this);
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.network.detach(this);
  }

  send(host: string, port: number, data: Uint8Array): void {
    if (data.length > this.maxDatagramBytes) {
      throw new RangeError(`datagram of ${data.length} bytes exceeds the limit of ${this.maxDatagramBytes}`);
    }
    if (!this.started) return;
    let delay = 0;
    if (this.filter !== undefined) {
      if (this.filter.dropsOutgoing(host, port)) {
        this.counters.filtered++;
        return;
      }
      delay = this.filter.delayFor(host, port);
    }
    this.counters.datagramsOut++;
    this.counters.bytesOut += data.length;
    this.network.deliver(this, host, port, Buffer.from(data), delay);
  }

  /** @internal */
  receive(data: Buffer, host: string, port: number): void {
    if (this.started) deliverInbound(this.maxDatagramBytes, this.counters, this.filter, this.handler, data, host, port);
  }

}
