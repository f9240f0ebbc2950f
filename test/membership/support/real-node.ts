// A member on real sockets, wired the way src/node.ts wires one: a UDP transport
// and a TCP RPC server on the same port number, push-pull over the RPC transport,
// and a fault filter on both paths for partition and loss tests.
import { FilteredPushPullChannel, Membership, MemoryIncarnationStore } from '../../../src/membership/index.js';
import type { IncarnationStore, MembershipConfig, PushPullChannel } from '../../../src/membership/index.js';
import { UnknownMessageError } from '../../../src/errors.js';
import { FaultFilter, RpcPeers, RpcServer, UdpTransport } from '../../../src/transport/index.js';
import type { Body, Keyring } from '../../../src/transport/index.js';

export interface RealNode {
  id: string;
  port: number;
  membership: Membership;
  udp: UdpTransport;
  rpc: RpcServer;
  peers: RpcPeers;
  filter: FaultFilter;
  incarnations: IncarnationStore;
  keyring: Keyring;
  running: boolean;
}

/** Push-pull as a request/reply on the RPC transport: the wiring src/node.ts needs. */
export function rpcPushPull(peers: RpcPeers): PushPullChannel {
  return {
    async exchange(host, port, state, timeoutMs) {
      const reply = await peers.request(host, port, { kind: 'pushPull', value: state }, { timeoutMs });
      if (reply.kind !== 'pushPullReply') throw new UnknownMessageError(`push-pull answered with ${reply.kind}`);
      return reply.value;
    },
  };
}

export interface NodeOptions {
  id: string;
  keyring: Keyring;
  seeds?: string[];
  config?: Partial<MembershipConfig>;
  incarnations?: IncarnationStore;
  /** Try this port first (a restart at the same address). */
  port?: number;
  filter?: FaultFilter;
}

export async function startNode(o: NodeOptions): Promise<RealNode> {
  const filter = o.filter ?? new FaultFilter();
  // The RPC server starts first (it must share the UDP port); it answers once the membership exists.
  const ref: { membership?: Membership } = {};
  const handler = (req: Body): Body => {
    if (req.kind !== 'pushPull' || ref.membership === undefined) throw new UnknownMessageError(`unexpected ${req.kind}`);
    return { kind: 'pushPullReply', value: ref.membership.handlePushPull(req.value) };
  };
  // UDP and TCP share the port number: bind UDP, then TCP on the same number; retry if taken.
  let udp: UdpTransport | undefined;
  let rpc: RpcServer | undefined;
  for (let attempt = 0; rpc === undefined; attempt++) {
    const want = attempt === 0 ? (o.port ?? 0) : 0;
    const u = new UdpTransport({ host: '127.0.0.1', port: want, filter });
    try {
      await u.start();
    } catch (err) {
      if (attempt > 20) throw err;
      continue;
    }
    const r = new RpcServer({ host: '127.0.0.1', port: u.port, keyring: o.keyring, nodeId: o.id, handler });
    try {
      await r.start();
      udp = u;
      rpc = r;
    } catch (err) {
      await u.stop();
      if (attempt > 20) throw err;
    }
  }
  const peers = new RpcPeers({ keyring: o.keyring, nodeId: o.id, connectTimeoutMs: 1000, backoff: { minMs: 50, maxMs: 500 } });
  const incarnations = o.incarnations ?? new MemoryIncarnationStore();
  const membership = new Membership({
    id: o.id,
    keyring: o.keyring,
    transport: udp!,
    pushPull: new FilteredPushPullChannel(rpcPushPull(peers), filter),
    seeds: o.seeds ?? [],
    profile: 'fast',
    config: o.config,
    incarnations,
  });
  ref.membership = membership;
  const node: RealNode = { id: o.id, port: udp!.port, membership, udp: udp!, rpc, peers, filter, incarnations, keyring: o.keyring, running: true };
  await membership.start();
  return node;
}

/** Stops a node without a word to the others (a crash, as far as they can tell). */
export async function killNode(n: RealNode): Promise<void> {
  if (!n.running) return;
  n.running = false;
  await n.membership.stop();
  await n.rpc.stop();
  await n.peers.close();
  await n.udp.stop();
}

/** A graceful departure, then the sockets close. */
export async function leaveNode(n: RealNode): Promise<void> {
  await n.membership.leave();
  await killNode(n);
}

/** Polls pred every few ms until it holds; throws after timeoutMs with `what`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts n nodes joining through the first; resolves when all hold identical views of all n. */
export async function startCluster(n: number, keyring: Keyring, config?: Partial<MembershipConfig>, prefix = 'n'): Promise<RealNode[]> {
  const first = await startNode({ id: `${prefix}00`, keyring, config });
  const nodes = [first];
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, (_, i) => startNode({ id: `${prefix}${String(i + 1).padStart(2, '0')}`, keyring, config, seeds: [`127.0.0.1:${first.port}`] })),
  );
  nodes.push(...rest);
  return nodes;
}

export function converged(nodes: readonly RealNode[], size = nodes.filter((x) => x.running).length): boolean {
  const live = nodes.filter((x) => x.running);
  const sum = live[0]?.membership.checksum();
  return live.every((x) => x.membership.checksum() === sum && x.membership.members().length === size);
}
