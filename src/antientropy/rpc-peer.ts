// The exchange requests over the RPC transport, to one peer address.
import type { AeKeys, AeKeysReply, AeRoots, AeRootsReply, AeSync, AeSyncReply, AeTree, AeTreeReply, EnvelopeBodies, EnvelopeKind } from '../codec/index.js';
import { UnavailableError } from '../errors.js';
import type { Body, RpcPeers } from '../transport/index.js';
import type { AntiEntropyPeer } from './anti-entropy.js';

export class RpcExchangePeer implements AntiEntropyPeer {
  constructor(
    private readonly peers: RpcPeers,
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  roots(req: AeRoots): Promise<AeRootsReply> {
    return this.call({ kind: 'aeRoots', value: req }, 'aeRootsReply');
  }

  tree(req: AeTree): Promise<AeTreeReply> {
    return this.call({ kind: 'aeTree', value: req }, 'aeTreeReply');
  }

  keys(req: AeKeys): Promise<AeKeysReply> {
    return this.call({ kind: 'aeKeys', value: req }, 'aeKeysReply');
  }

  sync(req: AeSync): Promise<AeSyncReply> {
    return this.call({ kind: 'aeSync', value: req }, 'aeSyncReply');
  }

  private async call<K extends EnvelopeKind>(body: Body, want: K): Promise<EnvelopeBodies[K]> {
    const reply = await this.peers.request(this.host, this.port, body, { timeoutMs: this.timeoutMs });
    if (reply.kind !== want) throw new UnavailableError(`${body.kind} answered with ${reply.kind}`);
    return reply.value as EnvelopeBodies[K];
  }
}
