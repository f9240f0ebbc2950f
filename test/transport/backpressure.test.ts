// Memory stays bounded when one side sends faster than the other reads.
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, RpcPeers, RpcServer } from '../../src/transport/index.js';
import type { Body } from '../../src/transport/index.js';
import { ClosedError, OverloadedError } from '../../src/errors.js';
import { EnvelopeCodec } from '../../src/codec/index.js';
import { RawClient, frame, waitFor } from './helpers.js';

const keyring = Keyring.random();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const turn = () => new Promise((r) => setImmediate(r));

describe('RPC backpressure', () => {
  it('a client sending far more than the server reads gets OverloadedError, with bounded queues', async () => {
    const MAX_IN_FLIGHT = 64;
    const MAX_QUEUED = 1 << 20;
    let arrived = 0;
    const server = new RpcServer({
      host: '127.0.0.1',
      port: 0,
      keyring,
      nodeId: 's',
      maxInFlightPerConnection: MAX_IN_FLIGHT,
      handler: () => {
        arrived++;
        return new Promise<Body>(() => {}); // a server that never gets to the work
      },
    });
    await server.start();
    cleanups.push(() => server.stop());
    const p = new RpcPeers({ keyring, nodeId: 'c', maxQueuedBytes: MAX_QUEUED, requestTimeoutMs: 600_000 });
    cleanups.push(() => p.close());

    const value = Buffer.alloc(4096, 1);
    const outcomes: Promise<unknown>[] = [];
    let overloaded: unknown;
    let sent = 0;
    // Up to 100 MiB of requests, 64 per turn so that flushes reach the socket.
    for (let round = 0; round < 400 && overloaded === undefined; round++) {
      for (let i = 0; i < 64 && overloaded === undefined; i++) {
        const r = p.request('127.0.0.1', server.port, {
          kind: 'clientPut',
          value: { key: Buffer.from('k'), value, context: Buffer.alloc(0), ttlMs: 0, w: 0, forwarded: false },
        });
        outcomes.push(r.catch((e: unknown) => e));
        sent++;
        if (p.stats().overloaded > 0) overloaded = await r.catch((e: unknown) => e);
      }
      await turn();
    }
    expect(overloaded).toBeInstanceOf(OverloadedError);
    const s = p.stats();
    expect(s.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED + 4096 + 64);
    // The server stopped reading: its handlers saw a bounded share of what was sent.
    const ss = server.stats();
    expect(ss.paused).toBe(1);
    expect(ss.inFlight).toBe(MAX_IN_FLIGHT);
    expect(arrived).toBe(MAX_IN_FLIGHT);
    expect(sent).toBeGreaterThan(MAX_QUEUED / 4096); // kernel buffers took some before the bound
    await p.close();
    for (const e of await Promise.all(outcomes)) expect(e instanceof ClosedError || e instanceof OverloadedError).toBe(true);
  });

  it('a client that does not read its replies makes the server stop reading it', async () => {
    const MAX_QUEUED = 256 * 1024;
    const reply = Buffer.alloc(64 * 1024, 2);
    let handled = 0;
    const server = new RpcServer({
      host: '127.0.0.1',
      port: 0,
      keyring,
      nodeId: 's',
      maxQueuedBytesPerConnection: MAX_QUEUED,
      handler: () => {
        handled++;
        return { kind: 'clientGetReply', value: { values: [reply], context: Buffer.alloc(0) } };
      },
    });
    await server.start();
    cleanups.push(() => server.stop());
    const c = await RawClient.authenticated(server.port, keyring);
    cleanups.push(() => c.close());
    c.socket.pause(); // never read a reply
    c.keep = false;
    const N = 1500;
    // N small requests asking for 64 KiB each: 94 MiB of replies if nothing pushed back.
    const batch: Buffer[] = [];
    for (let id = 1; id <= N; id++) {
      batch.push(frame(EnvelopeCodec.encode({ id, body: 'clientGet', clientGet: { key: Buffer.from('k'), r: 0 } })));
    }
    c.write(Buffer.concat(batch));
    await waitFor(() => server.stats().paused === 1, 'the server to pause the connection');
    const s = server.stats();
    expect(s.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED + reply.length + 1024);
    expect(handled).toBeLessThan(N);
    expect(s.connections).toBe(1);
    // Reading again lets everything through: the connection was paused, not broken.
    const before = handled;
    c.socket.resume();
    await waitFor(() => c.count === N, 'every reply to arrive', 30_000);
    expect(handled).toBe(N);
    expect(before).toBeLessThan(N);
  });
});
