// Client tokens with real `shoal start` processes: `shoal token` makes one, the SDK
// reads and writes with it (its gets read replicas directly), and the node refuses
// it everything else (replica writes, reads of hints, ring pushes, membership sync)
// and refuses a revoked name outright.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { Client } from '../../src/client/index.js';
import { UnauthorizedError } from '../../src/errors.js';
import { Keyring, RpcPeers, parseKey, parseToken } from '../../src/transport/index.js';
import { ProcessCluster, runShoal } from '../support/cluster.js';

let cluster: ProcessCluster;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  cluster = await ProcessCluster.start({ nodes: 3, extraArgs: ['--revoked-clients', 'fired'] });
}, 120_000);

afterAll(async () => {
  for (const c of closers) await c();
  await cluster?.stop();
});

async function shoalToken(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await runShoal(['token', ...args]);
  return { ...out, stdout: out.stdout.trim() };
}

const seeds = () => cluster.nodes.map((n) => `127.0.0.1:${n.port}`);

describe('client tokens on a running cluster', () => {
  it('shoal token prints one the SDK reads and writes with', async () => {
    const made = await shoalToken('web-1', '--cluster-key-file', cluster.keyFile);
    expect(made.code).toBe(0);
    expect(parseToken(made.stdout).name).toBe('web-1');
    const client = await Client.connect({ seeds: seeds(), token: made.stdout });
    closers.push(() => client.close());
    for (let i = 0; i < 20; i++) await client.put(`tok-${i}`, `v${i}`);
    for (let i = 0; i < 20; i++) expect((await client.get(`tok-${i}`)).values.map(String)).toEqual([`v${i}`]);
    expect(client.stats.direct).toBe(client.stats.requests);
    expect(client.stats.directReads).toBe(20);
    expect(client.stats.readFallbacks).toBe(0);
    const bad = await shoalToken('no good', '--cluster-key-file', cluster.keyFile);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the name must be 1 to 64 letters/);
  });

  it('refuses a token everything but keys and the ring; the cluster key may', async () => {
    const token = parseToken((await shoalToken('web-2', '--cluster-key-file', cluster.keyFile)).stdout);
    const asToken = new RpcPeers({ keyring: new Keyring(token.key), nodeId: '', clientName: token.name });
    const asNode = new RpcPeers({ keyring: new Keyring(parseKey(cluster.key)), nodeId: '' });
    closers.push(() => asToken.close(), () => asNode.close());
    const n = cluster.nodes[0]!;
    const send = (p: RpcPeers, body: Parameters<RpcPeers['request']>[2]) => p.request('127.0.0.1', n.port, body, { timeoutMs: 5000 });
    // A real replica state to write: what the node holds of a key written through it.
    await send(asToken, { kind: 'clientPut', value: { key: Buffer.from('source'), value: Buffer.from('s'), context: Buffer.alloc(0), ttlMs: 0, w: 3, forwarded: false } });
    const read = await send(asNode, { kind: 'replicaRead', value: { key: Buffer.from('source'), readFor: '' } });
    expect(read.kind === 'replicaReadReply' && read.value.found).toBe(true);
    const set = (read as { value: { set: SiblingSet } }).value.set;
    const write = (key: string) => ({ kind: 'replicaWrite', value: { key: Buffer.from(key), set, hintFor: '', ringId: Buffer.alloc(0) } }) as const;
    await expect(send(asToken, write('planted'))).rejects.toThrow(UnauthorizedError);
    // A token reads a key's replica (the SDK coordinates its gets so), but not the hints held for another node.
    const tokenRead = await send(asToken, { kind: 'replicaRead', value: { key: Buffer.from('source'), readFor: '' } });
    expect(tokenRead.kind === 'replicaReadReply' && tokenRead.value.found).toBe(true);
    await expect(send(asToken, { kind: 'replicaRead', value: { key: Buffer.from('source'), readFor: cluster.nodes[1]!.id } })).rejects.toThrow(UnauthorizedError);
    await expect(send(asToken, { kind: 'ringPush', value: { version: 99, partitions: 64, nodes: ['x'], owners: new Array<number>(64).fill(0) } })).rejects.toThrow(UnauthorizedError);
    expect(await cluster.localValues(n, 'planted')).toEqual([]);
    // The same replica write with the cluster key lands: the refusal was the token's.
    await send(asNode, write('planted'));
    expect(await cluster.localValues(n, 'planted')).toEqual(['s']);
    const ring = await send(asToken, { kind: 'ringRequest', value: {} });
    expect(ring.kind).toBe('ringReply');
  });

  it('refuses a revoked name at the handshake', async () => {
    const fired = (await shoalToken('fired', '--cluster-key-file', cluster.keyFile)).stdout;
    await expect(Client.connect({ seeds: seeds(), token: fired, requestTimeoutMs: 3000 })).rejects.toThrow(UnauthorizedError);
  });
});
