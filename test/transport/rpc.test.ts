import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { FaultFilter, Keyring, RpcPeers, RpcServer } from '../../src/transport/index.js';
import type { Body, RpcPeersOptions, RpcServerOptions } from '../../src/transport/index.js';
import {
  BadContextError,
  ClosedError,
  InternalError,
  QuorumUnavailableError,
  TimeoutError,
  TooLargeError,
  UnavailableError,
  UnknownMessageError,
} from '../../src/errors.js';
import { EnvelopeCodec, WireErrorCode } from '../../src/codec/index.js';
import { RawClient, frame, waitFor } from './helpers.js';

const keyring = Keyring.random();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(opts: Partial<RpcServerOptions> & Pick<RpcServerOptions, 'handler'>): Promise<RpcServer> {
  const server = new RpcServer({ host: '127.0.0.1', port: 0, keyring, nodeId: 'server-1', ...opts });
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

function peers(opts: Partial<RpcPeersOptions> = {}): RpcPeers {
  const p = new RpcPeers({ keyring, nodeId: 'node-a', ...opts });
  cleanups.push(() => p.close());
  return p;
}

/** An echo server that counts the requests it handled. */
async function countingEchoServer(): Promise<{ server: RpcServer; handled: () => number }> {
  let handled = 0;
  const server = await startServer({
    handler: (req) => {
      handled++;
      return echo(req);
    },
  });
  return { server, handled: () => handled };
}

/** Answers clientGet with the key as the single value, clientPut with the value as the context. */
function echo(req: Body): Body {
  switch (req.kind) {
    case 'clientGet':
      return { kind: 'clientGetReply', value: { values: [req.value.key], context: Buffer.from('ctx') } };
    case 'clientPut':
      return { kind: 'clientPutReply', value: { context: req.value.value } };
    case 'replicaWrite':
      return { kind: 'replicaWriteReply', value: {} };
    case 'pushPull':
      return { kind: 'pushPullReply', value: { members: req.value.members, join: false } };
    case 'ringRequest':
      return { kind: 'ringReply', value: { partitions: 256, checksum: Buffer.alloc(8, 7), members: [], owners: [{ nodes: ['a', 'b'] }], n: 3 } };
    default:
      throw new UnknownMessageError(`no handler for ${req.kind}`);
  }
}

describe('RpcServer and RpcPeers', () => {
  it('round-trips several message kinds and tells the handler who asked', async () => {
    const seen: string[] = [];
    const server = await startServer({
      handler: (req, peer) => {
        seen.push(`${req.kind}@${peer.nodeId}`);
        return echo(req);
      },
    });
    const p = peers();
    const get = await p.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.from('k1'), r: 2 } });
    expect(get.kind).toBe('clientGetReply');
    if (get.kind !== 'clientGetReply') throw new Error();
    expect(Buffer.from(get.value.values[0]!).toString()).toBe('k1');
    expect(Buffer.from(get.value.context).toString()).toBe('ctx');

    const value = randomBytes(200);
    const put = await p.request('127.0.0.1', server.port, {
      kind: 'clientPut',
      value: { key: Buffer.from('k'), value, context: Buffer.alloc(0), ttlMs: 5000, w: 2, forwarded: false },
    });
    expect(put.kind === 'clientPutReply' && Buffer.from(put.value.context).equals(value)).toBe(true);

    const write = await p.request('127.0.0.1', server.port, {
      kind: 'replicaWrite',
      value: {
        key: Buffer.from('k'),
        set: { clock: Buffer.from([1, 0]), siblings: [{ dot: Buffer.alloc(16, 1), value, tombstone: false, expiresAt: 0, writtenAt: 1 }] },
        hintFor: '',
      },
    });
    expect(write.kind).toBe('replicaWriteReply');

    const member = { id: 'm1', host: '10.0.0.1', port: 7400, dc: 'dc1', rack: 'r1', capacity: 1, incarnation: 3, status: 0, ringStatus: 1, httpPort: 0, protocol: 1, statusAt: 12345 } as const;
    const pp = await p.request('127.0.0.1', server.port, { kind: 'pushPull', value: { members: [member], join: true } });
    expect(pp.kind).toBe('pushPullReply');
    if (pp.kind !== 'pushPullReply') throw new Error();
    expect(pp.value.members[0]).toMatchObject({ id: 'm1', incarnation: 3, statusAt: 12345, dc: 'dc1' });

    const ring = await p.request('127.0.0.1', server.port, { kind: 'ringRequest', value: {} });
    expect(ring.kind === 'ringReply' && ring.value.partitions === 256 && ring.value.owners[0]!.nodes).toEqual(['a', 'b']);

    expect(seen).toEqual(['clientGet@node-a', 'clientPut@node-a', 'replicaWrite@node-a', 'pushPull@node-a', 'ringRequest@node-a']);
    expect(p.stats().connects).toBe(1);
    const s = server.stats();
    expect(s.connections).toBe(1);
    expect(s.authenticated).toBe(1);
    expect(s.framesIn).toBe(2 + 5); // hello, proof, five requests
  });

  it('turns handler errors into typed errors on the caller', async () => {
    const causes: unknown[] = [];
    const server = await startServer({
      onInternalError: (err) => causes.push(err),
      handler: async (req) => {
        if (req.kind === 'clientGet') {
          const k = Buffer.from(req.value.key).toString();
          if (k === 'quorum') throw new QuorumUnavailableError('only 1 of 2 replicas');
          if (k === 'context') throw new BadContextError('bad context');
          if (k === 'secret') throw new Error('/var/lib/shoal: EACCES');
          if (k === 'nothing') return undefined as unknown as Body;
        }
        return echo(req);
      },
    });
    const p = peers();
    const get = (k: string) => p.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.from(k), r: 0 } });
    await expect(get('quorum')).rejects.toSatisfy((e) => e instanceof QuorumUnavailableError && e.message === 'only 1 of 2 replicas');
    await expect(get('context')).rejects.toBeInstanceOf(BadContextError);
    const internal = await get('secret').catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(InternalError);
    expect((internal as Error).message).not.toContain('EACCES'); // internals do not leak
    await expect(get('nothing')).rejects.toBeInstanceOf(InternalError);
    await expect(p.request('127.0.0.1', server.port, { kind: 'ringReply', value: { partitions: 1, checksum: Buffer.alloc(0), members: [], owners: [], n: 1 } })).rejects.toBeInstanceOf(UnknownMessageError);
    expect((await get('fine')).kind).toBe('clientGetReply');
    expect(server.stats().handlerErrors).toBe(5);
    expect(server.stats().handlerErrorCodes).toEqual({ SHOAL_QUORUM_UNAVAILABLE: 1, SHOAL_BAD_CONTEXT: 1, SHOAL_INTERNAL: 2, SHOAL_UNKNOWN_MESSAGE: 1 });
    // The two internal failures reach the server's owner with their causes (for its log).
    expect(causes.map((e) => (e as Error).message)).toEqual(['/var/lib/shoal: EACCES', 'the handler returned no message']);
  });

  it('keeps 1000 requests in flight on one connection and matches out-of-order replies', async () => {
    const held: (() => void)[] = [];
    const server = await startServer({
      handler: (req) => {
        if (req.kind !== 'clientGet') throw new Error('unexpected');
        const i = Buffer.from(req.value.key).readUInt32BE(0);
        if (i % 2 === 1) return echo(req);
        return new Promise<Body>((resolve) => held.push(() => resolve(echo(req))));
      },
    });
    const p = peers();
    const order: number[] = [];
    const all = Array.from({ length: 1000 }, (_, i) => {
      const key = Buffer.alloc(4);
      key.writeUInt32BE(i);
      return p.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key, r: 0 } }).then((reply) => {
        order.push(i);
        if (reply.kind !== 'clientGetReply') throw new Error('wrong kind');
        return Buffer.from(reply.value.values[0]!).readUInt32BE(0);
      });
    });
    await waitFor(() => held.length === 500 && p.stats().pending === 500, 'the odd replies, and the even requests held');
    for (const release of held.reverse()) release();
    const got = await Promise.all(all);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(order.slice(0, 500).every((i) => i % 2 === 1)).toBe(true); // odd ones first
    expect(order[500]).toBe(998); // then the even ones, last held first
    expect(p.stats().connects).toBe(1);
    expect(server.stats().accepted).toBe(1);
  });

  it('send() gives each outcome to its handler exactly once: replies, peer errors, refusals at once, timeouts and close', async () => {
    const server = await startServer({
      handler: (req) => {
        if (req.kind !== 'clientGet') throw new Error('unexpected');
        const k = Buffer.from(req.value.key).toString();
        if (k === 'bad') throw new BadContextError('no such context');
        if (k === 'never') return new Promise<Body>(() => {});
        return echo(req);
      },
    });
    const p = new RpcPeers({ keyring, nodeId: '' });
    const calls: string[][] = [];
    const handler = (name: string) => ({
      reply: (b: Body) => void calls.push([name, 'reply', b.kind === 'clientGetReply' ? Buffer.from(b.value.values[0]!).toString() : b.kind]),
      fail: (e: Error) => void calls.push([name, 'fail', e.constructor.name]),
    });
    const get = (key: string, name: string, timeoutMs?: number) =>
      p.send('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.from(key), r: 0 } }, timeoutMs === undefined ? undefined : { timeoutMs }, handler(name));
    for (let i = 0; i < 50; i++) get(`k${i}`, `ok${i}`);
    get('bad', 'bad');
    get('never', 'slow', 30);
    get('never', 'held');
    // Refused before anything is sent: the handler hears at once, during send().
    p.send('', 1, { kind: 'ringRequest', value: {} }, undefined, handler('address'));
    expect(calls).toEqual([['address', 'fail', 'BadRequestError']]);
    await waitFor(() => calls.length === 53, 'the replies, the peer error and the timeout');
    const byName = new Map(calls.map((c) => [c[0], c.slice(1)]));
    for (let i = 0; i < 50; i++) expect(byName.get(`ok${i}`)).toEqual(['reply', `k${i}`]);
    expect(byName.get('bad')).toEqual(['fail', 'BadContextError']);
    expect(byName.get('slow')).toEqual(['fail', 'TimeoutError']);
    expect(byName.has('held')).toBe(false);
    await p.close();
    expect(calls.length).toBe(54);
    expect(byName.size).toBe(53);
    expect(calls[53]).toEqual(['held', 'fail', 'ClosedError']);
    get('k', 'after');
    expect(calls[54]).toEqual(['after', 'fail', 'ClosedError']);
    expect(calls.length).toBe(55); // nothing answered twice
  });

  it('counts a peer unresponsive after a timeout, until it sends a frame or the period ends', async () => {
    let release: (() => void) | undefined;
    const server = await startServer({
      handler: (req) => {
        if (req.kind === 'clientGet' && Buffer.from(req.value.key).toString() === 'slow') return new Promise<Body>((resolve) => (release = () => resolve(echo(req))));
        return echo(req);
      },
    });
    const p = peers({ unresponsiveMs: 60_000 });
    const get = (key: string, timeoutMs?: number) => p.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.from(key), r: 0 } }, { timeoutMs });
    await get('fine');
    const e0 = p.unresponsiveEpoch;
    expect(p.isUnresponsive('127.0.0.1', server.port)).toBe(false);
    await expect(get('slow', 30)).rejects.toBeInstanceOf(TimeoutError);
    expect(p.isUnresponsive('127.0.0.1', server.port)).toBe(true);
    expect(p.isUnresponsive('127.0.0.1', server.port + 1)).toBe(false);
    expect(p.unresponsiveEpoch).not.toBe(e0);
    const e1 = p.unresponsiveEpoch;
    // The late reply is a frame from the peer: it answers again.
    release!();
    await waitFor(() => !p.isUnresponsive('127.0.0.1', server.port), 'the late reply to clear it');
    expect(p.unresponsiveEpoch).not.toBe(e1);
    expect(p.stats().unmatched).toBe(1);
    // With a short period and no frame, it ends by itself.
    const q = peers({ unresponsiveMs: 40 });
    await q.request('127.0.0.1', server.port, { kind: 'ringRequest', value: {} });
    await expect(q.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.from('slow'), r: 0 } }, { timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    expect(q.isUnresponsive('127.0.0.1', server.port)).toBe(true);
    const e2 = q.unresponsiveEpoch;
    await waitFor(() => !q.isUnresponsive('127.0.0.1', server.port) && q.unresponsiveEpoch !== e2, 'the period to end');
  });

  it('answers an unknown message kind with UNKNOWN_MESSAGE and keeps the connection', async () => {
    const server = await startServer({ handler: echo });
    const raw = await RawClient.authenticated(server.port, keyring);
    cleanups.push(() => raw.close());
    // id = 7 (field 1 varint), then field 99 (length-delimited) "hi": a body from a newer schema.
    raw.write(frame(Buffer.from([0x08, 0x07, 0x9a, 0x06, 0x02, 0x68, 0x69])));
    await waitFor(() => raw.frames.length >= 1, 'the error reply');
    expect(raw.frames[0]).toMatchObject({ id: 7, body: 'error', error: { code: WireErrorCode.UNKNOWN_MESSAGE } });
    raw.write(frame(EnvelopeCodec.encode({ id: 8, body: 'clientGet', clientGet: { key: Buffer.from('x'), r: 0 } })));
    await waitFor(() => raw.frames.length >= 2, 'the get reply');
    expect(raw.frames[1]).toMatchObject({ id: 8, body: 'clientGetReply' });
    expect(raw.closed).toBe(false);
    expect(server.stats().errors.unknownMessage).toBe(1);
  });

  it('fails pending requests with UnavailableError when the server stops', async () => {
    let arrived = 0;
    const server = await startServer({
      handler: () => {
        arrived++;
        return new Promise<Body>(() => {});
      },
    });
    const p = peers();
    const pending = Array.from({ length: 10 }, () =>
      p.request('127.0.0.1', server.port, { kind: 'ringRequest', value: {} }).catch((e: unknown) => e),
    );
    await waitFor(() => arrived === 10, 'requests to reach the handler');
    await server.stop();
    for (const e of await Promise.all(pending)) expect(e).toBeInstanceOf(UnavailableError);
    expect(server.stats().connections).toBe(0);
  });

  it('reconnects after the server restarts on the same port', async () => {
    const first = await startServer({ handler: echo });
    const port = first.port;
    const p = peers({ backoff: { minMs: 5, maxMs: 50 } });
    const ring = () => p.request('127.0.0.1', port, { kind: 'ringRequest', value: {} });
    expect((await ring()).kind).toBe('ringReply');
    await first.stop();
    await expect(ring()).rejects.toBeInstanceOf(UnavailableError);
    const second = await startServer({ handler: echo, port });
    let ok = false;
    const deadline = Date.now() + 10_000;
    while (!ok && Date.now() < deadline) {
      ok = await ring().then(
        (r) => r.kind === 'ringReply',
        () => false,
      );
      if (!ok) await new Promise((r) => setTimeout(r, 5));
    }
    expect(ok).toBe(true);
    expect(second.stats().authenticated).toBe(1);
    expect(p.stats().connects).toBeGreaterThanOrEqual(2);
  });

  it('fails fast while a dead peer is in backoff', async () => {
    // A port with nothing listening: bind one, learn it, close it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const p = peers({ backoff: { minMs: 60_000, maxMs: 60_000 } });
    const ring = () => p.request('127.0.0.1', port, { kind: 'ringRequest', value: {} });
    await expect(ring()).rejects.toBeInstanceOf(UnavailableError);
    await expect(ring()).rejects.toBeInstanceOf(UnavailableError);
    await expect(ring()).rejects.toBeInstanceOf(UnavailableError);
    const s = p.stats();
    expect(s.connects).toBe(1);
    expect(s.connectFailures).toBe(1);
    expect(s.fastFailures).toBe(2);
  });

  it('times out a request without a reply and keeps the connection for others', async () => {
    let late: (() => void) | undefined;
    const server = await startServer({
      handler: (req) => {
        if (req.kind === 'clientGet' && Buffer.from(req.value.key).toString() === 'slow') {
          return new Promise<Body>((resolve) => (late = () => resolve(echo(req))));
        }
        return echo(req);
      },
    });
    const p = peers();
    const get = (k: string, timeoutMs?: number) =>
      p.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.from(k), r: 0 } }, { timeoutMs });
    await expect(get('slow', 30)).rejects.toBeInstanceOf(TimeoutError);
    expect((await get('fast')).kind).toBe('clientGetReply');
    late!();
    await waitFor(() => p.stats().unmatched === 1, 'the late reply to arrive');
    expect(p.stats().timeouts).toBe(1);
    expect(p.stats().connects).toBe(1);
  });

  it('refuses frames over the limit with TooLargeError and nothing sent', async () => {
    // clientGet answers with its key twice, so a 3000-byte key makes a 6000-byte reply.
    const server = await startServer({
      maxFrameBytes: 4096,
      handler: (req) =>
        req.kind === 'clientGet' ? { kind: 'clientGetReply', value: { values: [req.value.key, req.value.key], context: Buffer.alloc(0) } } : echo(req),
    });
    const p = peers({ maxFrameBytes: 4096 });
    const put = (n: number) =>
      p.request('127.0.0.1', server.port, {
        kind: 'clientPut',
        value: { key: Buffer.from('k'), value: Buffer.alloc(n), context: Buffer.alloc(0), ttlMs: 0, w: 0, forwarded: false },
      });
    await expect(put(5000)).rejects.toBeInstanceOf(TooLargeError);
    expect((await put(1000)).kind).toBe('clientPutReply');
    // A reply over the server's limit becomes a TOO_LARGE error reply.
    const big = peers({ maxFrameBytes: 1 << 20 });
    const get = (n: number) => big.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key: Buffer.alloc(n), r: 0 } });
    await expect(get(3000)).rejects.toBeInstanceOf(TooLargeError);
    expect((await get(1000)).kind).toBe('clientGetReply'); // and the connection still works
    expect(server.stats().errors.oversize).toBe(0);
    expect(big.stats().connects).toBe(1);
  });

  it('rejects pending and later requests with ClosedError after close()', async () => {
    const server = await startServer({ handler: () => new Promise<Body>(() => {}) });
    const p = new RpcPeers({ keyring, nodeId: '' });
    const pending = p.request('127.0.0.1', server.port, { kind: 'ringRequest', value: {} }).catch((e: unknown) => e);
    await waitFor(() => server.stats().inFlight === 1, 'the request to arrive');
    await p.close();
    expect(await pending).toBeInstanceOf(ClosedError);
    await expect(p.request('127.0.0.1', server.port, { kind: 'ringRequest', value: {} })).rejects.toBeInstanceOf(ClosedError);
    await waitFor(() => server.stats().connections === 0, 'the server to see the close');
  });

  it('drops and delays requests through a test fault filter', async () => {
    const { server, handled } = await countingEchoServer();
    const filter = new FaultFilter();
    const p = peers({ faultFilter: filter });
    const ring = (timeoutMs?: number) => p.request('127.0.0.1', server.port, { kind: 'ringRequest', value: {} }, { timeoutMs });
    filter.block('127.0.0.1', server.port);
    await expect(ring(20)).rejects.toBeInstanceOf(TimeoutError);
    expect(p.stats().connects).toBe(0); // never sent: nothing reached the server
    filter.unblock('127.0.0.1', server.port);
    expect((await ring()).kind).toBe('ringReply');
    expect(handled()).toBe(1);
    // Held back longer than its timeout, a request times out and is never sent.
    filter.setDelay(100);
    await expect(ring(10)).rejects.toBeInstanceOf(TimeoutError);
    expect((await ring(5_000)).kind).toBe('ringReply'); // sent after the first one's delay ran out
    expect(handled()).toBe(2);
  });

  it('holds both the request and its reply by the delay a filter rule gives the peer', async () => {
    const { server, handled } = await countingEchoServer();
    const other = await startServer({ handler: echo });
    const filter = new FaultFilter();
    filter.setDelayRule((_host, port) => (port === server.port ? 300 : 0));
    const p = peers({ faultFilter: filter });
    const ring = (port: number, timeoutMs?: number) => p.request('127.0.0.1', port, { kind: 'ringRequest', value: {} }, { timeoutMs });
    // Sent after 300 ms and answered at once, the reply is held 300 ms more: past the
    // 400 ms timeout, although the server handled the request.
    await expect(ring(server.port, 400)).rejects.toBeInstanceOf(TimeoutError);
    await waitFor(() => handled() === 1, 'the delayed request to reach the server');
    expect((await ring(server.port, 5_000)).kind).toBe('ringReply');
    // The rule delays only the peer it names.
    expect(filter.delayFor('127.0.0.1', other.port)).toBe(0);
    expect((await ring(other.port, 250)).kind).toBe('ringReply');
    // Many replies held at once each answer their own request.
    filter.setDelayRule(() => 20);
    const unmatched = p.stats().unmatched; // the reply of the request that timed out
    const keys = Array.from({ length: 200 }, (_, i) => Buffer.from(`k${i}`));
    const got = await Promise.all(
      keys.map((key) =>
        p.request('127.0.0.1', server.port, { kind: 'clientGet', value: { key, r: 0 } }).then((reply) => (reply.kind === 'clientGetReply' ? Buffer.from(reply.value.values[0]!).toString() : reply.kind)),
      ),
    );
    expect(got).toEqual(keys.map((k) => k.toString()));
    expect(p.stats().unmatched).toBe(unmatched);
  });
});
