// Client tokens at the handshake: a token holder proves the key its name derives
// from a cluster key; anything else (another cluster's token, a renamed token, a
// revoked name, a token key presented as a cluster key) is refused, and the server
// keeps serving. Real sockets on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Keyring, RpcPeers, RpcServer, clientKey, formatToken, parseToken } from '../../src/transport/index.js';
import type { Body, PeerInfo } from '../../src/transport/index.js';
import { UnauthorizedError } from '../../src/errors.js';
import { helloProblem } from '../../src/transport/handshake.js';
import { waitFor } from './helpers.js';

const clusterKey = randomBytes(32);
const cleanups: (() => Promise<unknown>)[] = [];
const seen: PeerInfo[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  seen.length = 0;
});

const ringRequest: Body = { kind: 'ringRequest', value: {} };
const handler = (_req: Body, peer: PeerInfo): Body => {
  seen.push(peer);
  return { kind: 'ringReply', value: { partitions: 8, checksum: Buffer.alloc(0), members: [], owners: [], n: 3 } };
};

async function server(keyring = new Keyring(clusterKey), revoked?: string[]): Promise<RpcServer> {
  const s = new RpcServer({ host: '127.0.0.1', port: 0, keyring, nodeId: 's', handler, ...(revoked ? { revokedClients: new Set(revoked) } : {}) });
  await s.start();
  cleanups.push(() => s.stop());
  return s;
}

/** A client holding the token of `name` under `key` (as `shoal token` makes it), presented as `as`. */
function tokenPeers(key: Uint8Array, name: string, as = name): RpcPeers {
  const p = new RpcPeers({ keyring: new Keyring(clientKey(key, name)), nodeId: '', clientName: as, backoff: { minMs: 1, maxMs: 2 } });
  cleanups.push(() => p.close());
  return p;
}

const ask = (p: RpcPeers, s: RpcServer) => p.request('127.0.0.1', s.port, ringRequest, { timeoutMs: 3000 });

describe('client tokens', () => {
  it('print and parse as name:key, refusing bad names and keys', () => {
    const key = clientKey(clusterKey, 'web-1');
    const text = formatToken('web-1', key);
    expect(text).toMatch(/^web-1:[A-Za-z0-9_-]{43}$/);
    expect(parseToken(` ${text}\n`)).toEqual({ name: 'web-1', key });
    for (const bad of ['web-1', ':abc', 'a b:' + key.toString('base64url'), 'web:' + key.subarray(0, 16).toString('base64url'), 'x'.repeat(65) + ':' + key.toString('base64url')]) {
      expect(() => parseToken(bad), bad).toThrow(RangeError);
    }
    expect(() => formatToken('no:colons', key)).toThrow(RangeError);
    // Distinct names, distinct keys; the key is not the cluster key.
    expect(clientKey(clusterKey, 'web-2').equals(key)).toBe(false);
    expect(key.equals(clusterKey)).toBe(false);
  });

  it('authenticate a client by name, which the handler sees; a cluster-key holder has none', async () => {
    const s = await server();
    await ask(tokenPeers(clusterKey, 'web-1'), s);
    const keyHolder = new RpcPeers({ keyring: new Keyring(clusterKey), nodeId: 'n2' });
    cleanups.push(() => keyHolder.close());
    await ask(keyHolder, s);
    expect(seen.map((p) => [p.client, p.nodeId])).toEqual([
      ['web-1', ''],
      ['', 'n2'],
    ]);
  });

  it('refuses another cluster token, a renamed token, a revoked name and a token key used as a cluster key', async () => {
    const s = await server(new Keyring(clusterKey), ['fired']);
    await expect(ask(tokenPeers(randomBytes(32), 'web-1'), s)).rejects.toThrow(UnauthorizedError);
    await expect(ask(tokenPeers(clusterKey, 'web-1', 'admin'), s)).rejects.toThrow(UnauthorizedError);
    await expect(ask(tokenPeers(clusterKey, 'fired'), s)).rejects.toThrow(UnauthorizedError);
    const asClusterKey = new RpcPeers({ keyring: new Keyring(clientKey(clusterKey, 'web-1')), nodeId: '' });
    cleanups.push(() => asClusterKey.close());
    await expect(ask(asClusterKey, s)).rejects.toThrow(UnauthorizedError);
    // The last one is refused by the client (the server's proof names no key it has): the server counts it once the socket closes.
    await waitFor(() => s.stats().errors.unauthorized === 4, 'four refused handshakes to be counted');
    await ask(tokenPeers(clusterKey, 'web-1'), s);
    expect(seen.map((p) => p.client)).toEqual(['web-1']);
  });

  it('follow key rotation: a token of any accepted key works, and stops working when its key is dropped', async () => {
    const next = randomBytes(32);
    const ring = new Keyring(next, [clusterKey]);
    const s = await server(ring);
    await ask(tokenPeers(clusterKey, 'old'), s);
    await ask(tokenPeers(next, 'new'), s);
    ring.remove(clusterKey);
    await expect(ask(tokenPeers(clusterKey, 'old-again'), s)).rejects.toThrow(UnauthorizedError);
  });

  it('a hello names a node or a client, with a well-formed name and key id', () => {
    const base = { nonce: randomBytes(16), protocol: 1, nodeId: '' };
    expect(helloProblem({ ...base, client: 'web', clientKeyId: randomBytes(8) })).toBeUndefined();
    expect(helloProblem({ ...base, nodeId: 'n1', client: 'web', clientKeyId: randomBytes(8) })).toMatch(/not both/);
    expect(helloProblem({ ...base, client: 'we b', clientKeyId: randomBytes(8) })).toMatch(/client name/);
    expect(helloProblem({ ...base, client: 'web', clientKeyId: randomBytes(4) })).toMatch(/key id/);
  });
});
