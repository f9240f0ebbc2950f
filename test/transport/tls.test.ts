// TLS on the framed TCP port: what it hides, and what it refuses. Real sockets on
// 127.0.0.1; the certificates are test fixtures (test/fixtures/tls/README.md).
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Keyring, RpcPeers, RpcServer } from '../../src/transport/index.js';
import type { Body, ClientTls, NodeTls } from '../../src/transport/index.js';
import { UnauthorizedError } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';
import { waitFor } from './helpers.js';

const fixture = (name: string) => readFileSync(join(packageRoot(), 'test/fixtures/tls', name));
const nodeTls: NodeTls = { cert: fixture('node.pem'), key: fixture('node.key'), ca: fixture('ca.pem') };
const keyring = new Keyring(randomBytes(32));
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Echoes the key of a clientGet back as its value. */
const echo = (req: Body): Body => {
  if (req.kind !== 'clientGet') throw new Error('unexpected');
  return { kind: 'clientGetReply', value: { values: [Buffer.from(req.value.key)], context: Buffer.alloc(0) } };
};

async function server(tls: NodeTls | undefined, ring = keyring): Promise<RpcServer> {
  const s = new RpcServer({ host: '127.0.0.1', port: 0, keyring: ring, nodeId: 's', handler: echo, handshakeTimeoutMs: 2000, ...(tls ? { tls } : {}) });
  await s.start();
  cleanups.push(() => s.stop());
  return s;
}

function peers(tls: ClientTls | NodeTls | undefined, ring = keyring): RpcPeers {
  const p = new RpcPeers({ keyring: ring, nodeId: '', backoff: { minMs: 1, maxMs: 2 }, connectTimeoutMs: 2000, ...(tls ? { tls } : {}) });
  cleanups.push(() => p.close());
  return p;
}

async function ask(p: RpcPeers, port: number, text: string): Promise<string> {
  const reply = await p.request('127.0.0.1', port, { kind: 'clientGet', value: { key: Buffer.from(text), r: 0 } }, { timeoutMs: 3000 });
  if (reply.kind !== 'clientGetReply') throw new Error(`unexpected ${reply.kind}`);
  return Buffer.from(reply.value.values[0]!).toString();
}

/** A TCP relay to `port` that records every byte it passes, both ways. */
async function tap(port: number): Promise<{ port: number; seen: () => Buffer }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const relay: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
    }
    inbound.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
    outbound.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => relay.close(() => r()));
  });
  return { port: (relay.address() as { port: number }).port, seen: () => Buffer.concat(chunks) };
}

describe('TLS on the TCP port', () => {
  it('carries requests, and what crosses the wire no longer shows them (it does without TLS)', async () => {
    const secret = `session-${randomBytes(12).toString('hex')}`;
    for (const tls of [false, true]) {
      const s = await server(tls ? nodeTls : undefined);
      const wire = await tap(s.port);
      const p = peers(tls ? { ca: nodeTls.ca } : undefined);
      expect(await ask(p, wire.port, secret)).toBe(secret);
      expect(wire.seen().includes(secret), `tls ${tls}`).toBe(!tls);
    }
  });

  it('refuses a plaintext client, a client that trusts another CA, and garbage, and keeps serving', async () => {
    const s = await server(nodeTls);
    await expect(ask(peers(undefined), s.port, 'x')).rejects.toMatchObject({ code: expect.stringMatching(/SHOAL_(UNAVAILABLE|TIMEOUT)/) });
    await expect(ask(peers({ ca: fixture('other-ca.pem') }), s.port, 'x')).rejects.toMatchObject({ code: 'SHOAL_UNAVAILABLE' });
    const raw = connect({ host: '127.0.0.1', port: s.port });
    raw.on('error', () => {});
    raw.write(randomBytes(4096));
    cleanups.push(async () => void raw.destroy());
    await waitFor(() => s.stats().tlsErrors >= 2, 'the failed handshakes to be counted');
    // A node's own material also works as a client's (nodes dial each other with it).
    expect(await ask(peers(nodeTls), s.port, 'still here')).toBe('still here');
    expect(s.stats().authenticated).toBe(1);
  });

  it('still checks the cluster key inside TLS', async () => {
    const s = await server(nodeTls);
    await expect(ask(peers({ ca: nodeTls.ca }, new Keyring(randomBytes(32))), s.port, 'x')).rejects.toThrow(UnauthorizedError);
    expect(await ask(peers({ ca: nodeTls.ca }), s.port, 'y')).toBe('y');
  });

  it('a TLS client fails plainly against a plaintext server, which keeps serving', async () => {
    const s = await server(undefined);
    await expect(ask(peers({ ca: nodeTls.ca }), s.port, 'x')).rejects.toMatchObject({ code: expect.stringMatching(/SHOAL_(UNAVAILABLE|TIMEOUT)/) });
    expect(await ask(peers(undefined), s.port, 'plain')).toBe('plain');
  });
});
