// In-process replicas for anti-entropy tests: a real Store in a temporary folder,
// its per-partition trees, the exchange responder behind a real RPC server on
// 127.0.0.1:0, and an RPC client to reach the others. Everything is closed after
// each test.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ExchangeResponder, PartitionTrees, RpcExchangePeer } from '../../src/antientropy/index.js';
import { BadRequestError, UnknownMessageError } from '../../src/errors.js';
import { Store } from '../../src/storage/index.js';
import { Keyring, RpcPeers, RpcServer } from '../../src/transport/index.js';

export const SEGMENTS = 1024;
export const FANOUT = 16;

export interface ReplicaOptions {
  q: number;
  mayTransfer?: (peer: string, partition: number) => boolean;
  maxMessageBytes?: number;
}

export class Replica {
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly store: Store,
    readonly trees: PartitionTrees,
    readonly responder: ExchangeResponder,
    readonly server: RpcServer,
    readonly client: RpcPeers,
  ) {}

  static async open(name: string, keyring: Keyring, o: ReplicaOptions): Promise<Replica> {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-ae-'));
    const ref: { store?: Store } = {};
    const trees = new PartitionTrees({ segments: SEGMENTS, fanout: FANOUT, rebuildIntervalMs: 0, source: (p, q) => ref.store!.partitionDigests(p, q) });
    const store = await Store.open({ path: dir, sweepIntervalMs: 0, onDataChange: trees.onChange });
    ref.store = store;
    const responder = new ExchangeResponder({
      trees,
      store,
      segments: SEGMENTS,
      fanout: FANOUT,
      maxMessageBytes: o.maxMessageBytes ?? 1024 * 1024,
      maxInbound: 8,
      mayTransfer: o.mayTransfer ?? (() => true),
    });
    const server = new RpcServer({
      host: '127.0.0.1',
      port: 0,
      keyring,
      nodeId: name,
      handler: (req, peer) => responder.serve(req, peer.nodeId) ?? Promise.reject(new UnknownMessageError(req.kind)),
    });
    await server.start();
    const client = new RpcPeers({ keyring, nodeId: name, requestTimeoutMs: 30_000 });
    const r = new Replica(name, dir, store, trees, responder, server, client);
    trees.hold(Array.from({ length: o.q }, (_, p) => p), o.q);
    await trees.idle();
    return r;
  }

  /** A channel from this replica to `other`. */
  peerTo(other: Replica): RpcExchangePeer {
    return new RpcExchangePeer(this.client, '127.0.0.1', other.server.port, 30_000);
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.server.stop();
    await this.trees.stop();
    await this.store.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Replicas opened in a test, closed after it. */
export function replicas() {
  const open: Replica[] = [];
  const keyring = new Keyring(randomBytes(32));
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close();
  });
  return {
    keyring,
    async open(name: string, o: ReplicaOptions): Promise<Replica> {
      const r = await Replica.open(name, keyring, o);
      open.push(r);
      return r;
    },
  };
}

/** Polls pred every few ms until it holds, or fails after timeoutMs. */
export async function waitFor(pred: () => boolean | Promise<boolean>, what = 'a condition', timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function isBadRequest(err: unknown): boolean {
  return err instanceof BadRequestError || (err as { code?: string }).code === 'SHOAL_BAD_REQUEST';
}
