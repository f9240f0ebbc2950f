// The full-state exchange, kept apart from how it travels: membership asks a
// PushPullChannel to carry its state to a peer and bring back the peer's, and
// answers peers through Membership.handlePushPull. src/node.ts wires the channel
// to the authenticated TCP RPC transport; MemoryPushPullNetwork serves simulations.
import { randomBytes } from 'node:crypto';
import { PushPullCodec } from '../codec/index.js';
import type { PushPull } from '../codec/index.js';
import { TimeoutError, UnauthorizedError, UnavailableError } from '../errors.js';
import type { FaultFilter, Keyring } from '../transport/index.js';

export interface PushPullChannel {
  /**
   * Sends `state` to the member at host:port and resolves with its state. Rejects
   * when the peer cannot be reached, does not authenticate, or takes longer than
   * timeoutMs. `state.members[0]` is the sender's own entry.
   */
  exchange(host: string, port: number, state: PushPull, timeoutMs: number): Promise<PushPull>;
}

/** The answering side: merges a peer's state and returns this member's. */
export interface PushPullResponder {
  handlePushPull(remote: PushPull): PushPull;
}

/** A channel that refuses peers the fault filter blocks, as a partitioned TCP network would (after timing out). */
export class FilteredPushPullChannel implements PushPullChannel {
  constructor(
    private readonly inner: PushPullChannel,
    private readonly filter: FaultFilter,
    private readonly wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async exchange(host: string, port: number, state: PushPull, timeoutMs: number): Promise<PushPull> {
    if (this.filter.blocks(host, port)) {
      await this.wait(Math.min(timeoutMs, 50));
      throw new TimeoutError(`push-pull to ${host}:${port} blocked by the fault filter`);
    }
    return this.inner.exchange(host, port, state, timeoutMs);
  }
}

type Schedule = (delayMs: number, fn: () => void) => void;

interface Registered {
  responder: PushPullResponder;
  keyring: Keyring;
}

/**
 * Push-pull between responders in one process. Each exchange is encoded and
 * decoded as on the wire, and the two keyrings must share a key (a proof over a
 * fresh nonce, as the TCP handshake does).
 */
export class MemoryPushPullNetwork {
  private readonly responders = new Map<string, Registered>();
  private readonly schedule: Schedule;
  readonly latencyMs: number;
  /** Exchanges attempted, and bytes carried both ways by those that completed. */
  exchanges = 0;
  bytes = 0;

  constructor(options: { schedule?: Schedule; latencyMs?: number } = {}) {
    this.schedule = options.schedule ?? ((ms, fn) => void setTimeout(fn, ms));
    this.latencyMs = options.latencyMs ?? 0;
  }

  register(host: string, port: number, responder: PushPullResponder, keyring: Keyring): void {
    this.responders.set(`${host}:${port}`, { responder, keyring });
  }

  unregister(host: string, port: number): void {
    this.responders.delete(`${host}:${port}`);
  }

  /** A channel whose exchanges authenticate with `keyring`, subject to `filter` if given. */
  channel(keyring: Keyring, filter?: FaultFilter): PushPullChannel {
    return {
      exchange: (host, port, state, timeoutMs) =>
        new Promise<PushPull>((resolve, reject) => {
          this.exchanges++;
          if (filter?.blocks(host, port)) {
            this.schedule(timeoutMs, () => reject(new TimeoutError(`push-pull to ${host}:${port} timed out`)));
            return;
          }
          const request = PushPullCodec.encode(state);
          this.schedule(this.latencyMs, () => {
            const peer = this.responders.get(`${host}:${port}`);
            if (peer === undefined) {
              reject(new UnavailableError(`${host}:${port} is unreachable`));
              return;
            }
            const nonce = randomBytes(16);
            const { keyId, proof } = keyring.proof(nonce);
            if (!peer.keyring.verify(keyId, nonce, proof)) {
              reject(new UnauthorizedError(`${host}:${port} does not share a cluster key`));
              return;
            }
            let reply: Uint8Array;
            try {
              reply = PushPullCodec.encode(peer.responder.handlePushPull(PushPullCodec.decode(request)));
            } catch (err) {
              reject(err as Error);
              return;
            }
            this.bytes += request.length + reply.length;
            this.schedule(this.latencyMs, () => resolve(PushPullCodec.decode(reply)));
          });
        }),
    };
  }
}
