// Authentication and hostile input: wrong keys, rotation, garbage before and after
// the handshake. In every case the server keeps serving good clients.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Keyring, RpcPeers, RpcServer } from '../../src/transport/index.js';
import type { Body, RpcServerOptions } from '../../src/transport/index.js';
import { UnauthorizedError, UnavailableError } from '../../src/errors.js';
import { EnvelopeCodec, WireErrorCode } from '../../src/codec/index.js';
import { helloPayload } from '../../src/transport/handshake.js';
import { RawClient, frame, waitFor } from './helpers.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ring: Body = { kind: 'ringRequest', value: {} };
const handler = (): Body => ({ kind: 'ringReply', value: { partitions: 8, checksum: Buffer.alloc(0), members: [], owners: [], n: 3 } });

async function startServer(keyring: Keyring, opts: Partial<RpcServerOptions> = {}): Promise<RpcServer> {
  const server = new RpcServer({ host: '127.0.0.1', port: 0, keyring, nodeId: 's', handler, ...opts });
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

function peers(keyring: Keyring): RpcPeers {
  const p = new RpcPeers({ keyring, nodeId: '', backoff: { minMs: 1, maxMs: 2 } });
  cleanups.push(() => p.close());
  return p;
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  cleanups.push(() => c.close());
  return c;
}

/** The server still answers a client with the right key. */
async function stillServes(server: RpcServer, keyring: Keyring): Promise<void> {
  const p = peers(keyring);
  expect((await p.request('127.0.0.1', server.port, ring)).kind).toBe('ringReply');
}

function totalErrors(server: RpcServer): number {
  const e = server.stats().errors;
  return e.unauthorized + e.malformed + e.oversize;
}

describe('RPC authentication', () => {
  it('rejects a client whose key the server does not hold, and tells it so', async () => {
    const server = await startServer(new Keyring(keyA));
    // The client accepts the server's key A but proves with B, which the server lacks.
    const p = peers(new Keyring(keyB, [keyA]));
    const err = await p.request('127.0.0.1', server.port, ring).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    // In backoff, requests keep failing with the same clear error.
    await expect(p.request('127.0.0.1', server.port, ring)).rejects.toBeInstanceOf(UnauthorizedError);
    await waitFor(() => server.stats().errors.unauthorized >= 1, 'the server to count it');
    expect(server.stats().authenticated).toBe(0);
    await stillServes(server, new Keyring(keyA));
  });

  it('does not prove itself to a server with a wrong key', async () => {
    const server = await startServer(new Keyring(keyB));
    const p = peers(new Keyring(keyA));
    await expect(p.request('127.0.0.1', server.port, ring)).rejects.toBeInstanceOf(UnauthorizedError);
    await waitFor(() => server.stats().errors.unauthorized === 1, 'the server to count it');
    // The server saw the client's Hello and nothing else: no proof, no request.
    expect(server.stats().framesIn).toBe(1);
    expect(p.stats().errors.unauthorized).toBe(1);
    await stillServes(server, new Keyring(keyB));
  });

  it('rotates keys without downtime', async () => {
    // Step 1: the server holds both keys and still proves with the old one.
    const server = new RpcServer({ host: '127.0.0.1', port: 0, keyring: new Keyring(keyA, [keyB]), nodeId: 's', handler });
    await server.start();
    cleanups.push(() => server.stop());
    await stillServes(server, new Keyring(keyA)); // a client not yet rotated
    await stillServes(server, new Keyring(keyB, [keyA])); // a client proving with the new key
    // Step 2: everyone proves with the new key and still accepts the old one.
    const next = new RpcServer({ host: '127.0.0.1', port: 0, keyring: new Keyring(keyB, [keyA]), nodeId: 's2', handler });
    await next.start();
    cleanups.push(() => next.stop());
    await stillServes(next, new Keyring(keyA, [keyB]));
    await stillServes(next, new Keyring(keyB));
    expect(server.stats().errors.unauthorized + next.stats().errors.unauthorized).toBe(0);
  });
});

describe('RPC hostile input', () => {
  const good = new Keyring(keyA);

  it('closes and counts random bytes, a huge length and undecodable frames; others unaffected', async () => {
    const server = await startServer(good);
    const busy = peers(good);
    expect((await busy.request('127.0.0.1', server.port, ring)).kind).toBe('ringReply');

    const cases: Buffer[] = [
      randomBytes(4096),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      frame(Buffer.from([0xff, 0xff, 0xff])), // a valid length, bytes that do not decode
      frame(EnvelopeCodec.encode({ id: 1, body: 'ringRequest', ringRequest: {} })), // a request before the handshake
      frame(EnvelopeCodec.encode({ id: 0, body: 'hello', hello: { nonce: Buffer.alloc(3), protocol: 1, nodeId: '' } })), // a short nonce
    ];
    for (const [i, bytes] of cases.entries()) {
      const before = totalErrors(server);
      const c = await raw(server.port);
      c.write(bytes);
      await waitFor(() => c.closed, `case ${i} to be closed`);
      await waitFor(() => totalErrors(server) === before + 1, `case ${i} to be counted`);
      expect((await busy.request('127.0.0.1', server.port, ring)).kind).toBe('ringReply');
    }
    const e = server.stats().errors;
    expect(e.oversize).toBeGreaterThanOrEqual(1);
    expect(e.malformed).toBeGreaterThanOrEqual(1);
    expect(e.unauthorized).toBeGreaterThanOrEqual(2);
    expect(busy.stats().connects).toBe(1); // the good connection was never disturbed
  });

  it('closes a half handshake that goes silent', async () => {
    const server = await startServer(good, { handshakeTimeoutMs: 100 });
    const c = await raw(server.port);
    c.write(frame(helloPayload('')));
    await waitFor(() => c.frames.length >= 2, 'the server hello and proof');
    await waitFor(() => c.closed, 'the server to give up');
    expect(c.frames[2]).toMatchObject({ id: 0, body: 'error', error: { code: WireErrorCode.UNAUTHORIZED } });
    expect(server.stats().errors.unauthorized).toBe(1);
    // A connection that says nothing at all is closed too.
    const mute = await raw(server.port);
    await waitFor(() => mute.closed, 'the mute connection to be closed');
    expect(server.stats().errors.unauthorized).toBe(2);
    await stillServes(server, good);
  });

  it('closes an authenticated connection that sends garbage or an oversized frame', async () => {
    const server = await startServer(good, { maxFrameBytes: 1024 });
    const bad = await RawClient.authenticated(server.port, good);
    cleanups.push(() => bad.close());
    bad.write(frame(Buffer.from([0x0a, 0x7f, 0x00])));
    await waitFor(() => bad.closed, 'the malformed connection to close');
    expect(server.stats().errors.malformed).toBe(1);

    const big = await RawClient.authenticated(server.port, good);
    cleanups.push(() => big.close());
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    big.write(header);
    await waitFor(() => big.closed, 'the oversize connection to close');
    expect(server.stats().errors.oversize).toBe(1);

    // Deeply nested groups: protobuf decoders recurse on these.
    const deep = await RawClient.authenticated(server.port, good);
    cleanups.push(() => deep.close());
    deep.write(frame(Buffer.alloc(1000, 0x1b)));
    await waitFor(() => deep.closed, 'the nested-group connection to close');
    expect(server.stats().errors.malformed).toBe(2);
    await stillServes(server, good);
  });

  it('answers handshake frames after the handshake with an error, and ignores stray errors', async () => {
    const server = await startServer(good);
    const c = await RawClient.authenticated(server.port, good);
    cleanups.push(() => c.close());
    c.write(frame(helloPayload('')).subarray(0)); // id 0: no reply possible, but no crash
    c.write(frame(EnvelopeCodec.encode({ id: 5, body: 'hello', hello: { nonce: Buffer.alloc(16), protocol: 1, nodeId: '' } })));
    c.write(frame(EnvelopeCodec.encode({ id: 6, body: 'error', error: { code: 1, message: 'x' } })));
    c.write(frame(EnvelopeCodec.encode({ id: 7, body: 'ringRequest', ringRequest: {} })));
    await waitFor(() => c.frames.length >= 2, 'two replies');
    expect(c.frames[0]).toMatchObject({ id: 5, body: 'error', error: { code: WireErrorCode.BAD_REQUEST } });
    expect(c.frames[1]).toMatchObject({ id: 7, body: 'ringReply' });
    expect(c.closed).toBe(false);
  });

  it('gives a client a clear error when nothing listens or the peer is not Shoal', async () => {
    const { createServer } = await import('node:net');
    const http = createServer((s) => s.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => http.close(r)));
    const p = peers(good);
    const err = await p.request('127.0.0.1', (http.address() as { port: number }).port, ring).catch((e: unknown) => e);
    expect(err instanceof UnavailableError || err instanceof UnauthorizedError).toBe(true);
  });
});
