// ReplicaPeers over the RPC transport: other nodes addressed by id, their
// addresses looked up in membership's view at each call.
import { type Member, type SiblingSet, scopeCode } from '../codec/index.js';
import { UnavailableError } from '../errors.js';
import type { Body, ReplyHandler, RpcPeers } from '../transport/index.js';
import type { QuorumScope, ReplicaPeers, WriteOutcome } from './ports.js';

/** The coordinator's view of other nodes, over the RPC transport. */
export class PeerReplicas implements ReplicaPeers {
  /** writeTo's request options, kept while the timeout stays the same. */
  private options: { timeoutMs: number } | undefined;

  constructor(
    private readonly peers: RpcPeers,
    private readonly memberOf: (id: string) => Member | undefined,
  ) {}

  private addr(id: string): Member {
    const m = this.memberOf(id);
    if (m === undefined) throw new UnavailableError(`node ${id} is not a known member`);
    return m;
  }

  // Not async: this is on every replicated write, and a plain promise chain
  // costs less than an async function's.
  write(nodeId: string, key: Buffer, set: SiblingSet, hintFor: string, timeoutMs: number, ringId?: Uint8Array, relayTo?: readonly string[]): Promise<void> {
    const m = this.memberOf(nodeId);
    if (m === undefined) return Promise.reject(new UnavailableError(`node ${nodeId} is not a known member`));
    const value = relayTo === undefined ? { key, set, hintFor, ringId } : { key, set, hintFor, ringId, relayTo };
    return this.peers.request(m.host, m.port, { kind: 'replicaWrite', value }, { timeoutMs }).then(checkWriteReply);
  }

  writeTo(nodeId: string, key: Buffer, set: SiblingSet, hintFor: string, timeoutMs: number, ringId: Uint8Array | undefined, outcome: WriteOutcome): void {
    const m = this.memberOf(nodeId);
    if (m === undefined) return outcome.failed(new UnavailableError(`node ${nodeId} is not a known member`));
    if (this.options?.timeoutMs !== timeoutMs) this.options = { timeoutMs };
    this.peers.send(m.host, m.port, { kind: 'replicaWrite', value: { key, set, hintFor, ringId } }, this.options, new WriteReply(outcome));
  }

  /**
   * Several writes to one node in one request (ReplicaWrites; only to members at
   * protocol 3 or later). Resolves with the indexes of the writes that failed,
   * ascending; rejects when the request as a whole failed (none may have been applied).
   */
  async writeMany(nodeId: string, writes: ReadonlyArray<{ key: Buffer; set: SiblingSet }>, timeoutMs: number): Promise<number[]> {
    const m = this.addr(nodeId);
    const value = { writes: writes.map((w) => ({ key: w.key, set: w.set, hintFor: '' })) };
    const reply = await this.peers.request(m.host, m.port, { kind: 'replicaWrites', value }, { timeoutMs });
    if (reply.kind !== 'replicaWritesReply') throw new UnavailableError(`replica writes answered with ${reply.kind}`);
    const failed = reply.value.failed;
    for (let i = 0; i < failed.length; i++) {
      const f = failed[i]!;
      if (!(f < writes.length) || (i > 0 && f <= failed[i - 1]!)) throw new UnavailableError(`replica writes answered with a malformed failure list`);
    }
    return failed;
  }

  async read(nodeId: string, key: Buffer, readFor: string, timeoutMs: number): Promise<SiblingSet | undefined> {
    const m = this.addr(nodeId);
    const reply = await this.peers.request(m.host, m.port, { kind: 'replicaRead', value: { key, readFor } }, { timeoutMs });
    if (reply.kind !== 'replicaReadReply') throw new UnavailableError(`replica read answered with ${reply.kind}`);
    return reply.value.found && reply.value.set ? reply.value.set : undefined;
  }

  async forwardPut(
    nodeId: string,
    req: { key: Buffer; value: Buffer; context: Uint8Array; ttlMs: number; w: number; scope?: QuorumScope | undefined },
    timeoutMs: number,
  ): Promise<{ context: Buffer }> {
    const m = this.addr(nodeId);
    const value = { key: req.key, value: req.value, context: req.context, ttlMs: req.ttlMs, w: req.w, forwarded: true, scope: scopeCode(req.scope) };
    const reply = await this.peers.request(m.host, m.port, { kind: 'clientPut', value }, { timeoutMs });
    if (reply.kind !== 'clientPutReply') throw new UnavailableError(`forwarded put answered with ${reply.kind}`);
    return { context: Buffer.from(reply.value.context) };
  }

  async forwardDelete(nodeId: string, req: { key: Buffer; context: Uint8Array; w: number; scope?: QuorumScope | undefined }, timeoutMs: number): Promise<void> {
    const m = this.addr(nodeId);
    const value = { key: req.key, context: req.context, w: req.w, forwarded: true, scope: scopeCode(req.scope) };
    const reply = await this.peers.request(m.host, m.port, { kind: 'clientDelete', value }, { timeoutMs });
    if (reply.kind !== 'clientDeleteReply') throw new UnavailableError(`forwarded delete answered with ${reply.kind}`);
  }

  async forwardTouch(
    nodeId: string,
    req: { key: Buffer; ttlMs: number; r: number; w: number; scope?: QuorumScope | undefined },
    timeoutMs: number,
  ): Promise<{ touched: boolean; context: Buffer }> {
    const m = this.addr(nodeId);
    const value = { key: req.key, ttlMs: req.ttlMs, r: req.r, w: req.w, forwarded: true, scope: scopeCode(req.scope) };
    const reply = await this.peers.request(m.host, m.port, { kind: 'clientTouch', value }, { timeoutMs });
    if (reply.kind !== 'clientTouchReply') throw new UnavailableError(`forwarded touch answered with ${reply.kind}`);
    return { touched: reply.value.touched, context: Buffer.from(reply.value.context) };
  }
}

/** A replica write's reply, to its outcome. */
class WriteReply implements ReplyHandler {
  constructor(private readonly outcome: WriteOutcome) {}

  reply(body: Body): void {
    const wrong = writeReplyError(body);
    if (wrong !== undefined) this.outcome.failed(wrong);
    else this.outcome.written();
  }

  fail(err: Error): void {
    this.outcome.failed(err);
  }
}

/** What is wrong with a replica write's reply, if anything. */
function writeReplyError(reply: Body): UnavailableError | undefined {
  return reply.kind === 'replicaWriteReply' ? undefined : new UnavailableError(`replica write answered with ${reply.kind}`);
}

function checkWriteReply(reply: Body): void {
  const wrong = writeReplyError(reply);
  if (wrong !== undefined) throw wrong;
}
