// Unit test of the HTTP layer alone: a real HTTP server on port 0 over an
// in-memory service that records what it was asked.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { HttpApi, type KeyValueService } from '../../src/api/index.js';
import { QuorumUnavailableError, TimeoutError, TooLargeError } from '../../src/errors.js';

interface Call {
  op: string;
  key: string;
  value?: string;
  context?: string;
  ttlMs?: number;
  r?: number;
  w?: number;
}

class FakeService implements KeyValueService {
  readonly maxValueBytes = 64;
  calls: Call[] = [];
  data = new Map<string, Buffer[]>();
  fail: Error | undefined;
  async get(key: Buffer, o: { r?: number }) {
    this.calls.push({ op: 'get', key: key.toString(), r: o.r });
    if (this.fail) throw this.fail;
    return { values: this.data.get(key.toString()) ?? [], context: Buffer.from([1, 0]) };
  }
  async getLocal(key: Buffer) {
    this.calls.push({ op: 'getLocal', key: key.toString() });
    return { values: this.data.get(key.toString()) ?? [], context: Buffer.alloc(0) };
  }
  async put(key: Buffer, value: Buffer, o: { context?: Buffer; ttlMs?: number; w?: number }) {
    this.calls.push({ op: 'put', key: key.toString(), value: value.toString(), context: o.context?.toString('hex'), ttlMs: o.ttlMs, w: o.w });
    if (this.fail) throw this.fail;
    this.data.set(key.toString(), [value]);
    return { context: Buffer.from([1, 1, 7]) };
  }
  async delete(key: Buffer, o: { context?: Buffer; w?: number }) {
    this.calls.push({ op: 'delete', key: key.toString(), context: o.context?.toString('hex'), w: o.w });
    this.data.delete(key.toString());
  }
  async touch(key: Buffer, ttlMs: number, o: { r?: number; w?: number }) {
    this.calls.push({ op: 'touch', key: key.toString(), ttlMs, r: o.r, w: o.w });
    return this.data.has(key.toString()) ? { touched: true, context: Buffer.from([1, 1, 9]) } : { touched: false, context: Buffer.alloc(0) };
  }
  status() {
    return { id: 'n1', members: [] };
  }
  healthy() {
    return true;
  }
}

let api: HttpApi;
let svc: FakeService;
let base: string;

beforeEach(async () => {
  svc = new FakeService();
  api = new HttpApi({ host: '127.0.0.1', port: 0, service: svc });
  await api.start();
  base = `http://127.0.0.1:${api.port}`;
});

afterEach(async () => {
  await api.stop();
});

describe('HTTP API', () => {
  it('GET answers 200 with the raw value and the context header, 404 when absent', async () => {
    svc.data.set('user:42', [Buffer.from('hello')]);
    const ok = await fetch(`${base}/kv/user%3A42?r=3`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('hello');
    expect(ok.headers.get('x-shoal-context')).toBe(Buffer.from([1, 0]).toString('base64url'));
    expect(svc.calls.at(-1)).toEqual({ op: 'get', key: 'user:42', r: 3 });
    const missing = await fetch(`${base}/kv/nope`);
    expect(missing.status).toBe(404);
    const local = await fetch(`${base}/kv/user%3A42?local=true`);
    expect(await local.text()).toBe('hello');
    expect(svc.calls.at(-1)).toEqual({ op: 'getLocal', key: 'user:42' });
  });

  it('GET answers 300 with every sibling when there are several', async () => {
    svc.data.set('k', [Buffer.from('a'), Buffer.from([0, 255])]);
    const res = await fetch(`${base}/kv/k`);
    expect(res.status).toBe(300);
    const body = (await res.json()) as { siblings: string[]; context: string };
    expect(body.siblings.map((s) => Buffer.from(s, 'base64'))).toEqual([Buffer.from('a'), Buffer.from([0, 255])]);
    expect(body.context).toBe(res.headers.get('x-shoal-context'));
  });

  it('PUT passes value, context, TTL and w through and answers 204 with the new context', async () => {
    const ctx = Buffer.from([1, 1, 9, 9]).toString('base64url');
    const res = await fetch(`${base}/kv/a%20b?w=1`, { method: 'PUT', body: 'v1', headers: { 'x-shoal-context': ctx, 'x-shoal-ttl': '1500' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-shoal-context')).toBe(Buffer.from([1, 1, 7]).toString('base64url'));
    expect(svc.calls.at(-1)).toEqual({ op: 'put', key: 'a b', value: 'v1', context: '01010909', ttlMs: 1500, w: 1 });
  });

  it('DELETE passes the context and answers 204', async () => {
    const res = await fetch(`${base}/kv/k`, { method: 'DELETE', headers: { 'x-shoal-context': 'AQA' } });
    expect(res.status).toBe(204);
    expect(svc.calls.at(-1)).toEqual({ op: 'delete', key: 'k', context: '0100', w: undefined });
  });

  it('PATCH touches with the TTL header: 204 with the new context, 404 when nothing is live, 400 without a TTL', async () => {
    svc.data.set('k', [Buffer.from('v')]);
    const res = await fetch(`${base}/kv/k?w=3`, { method: 'PATCH', headers: { 'x-shoal-ttl': '60000' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-shoal-context')).toBe('AQEJ');
    expect(svc.calls.at(-1)).toEqual({ op: 'touch', key: 'k', ttlMs: 60000, r: undefined, w: 3 });
    expect((await fetch(`${base}/kv/k`, { method: 'PATCH', headers: { 'x-shoal-ttl': '0' } })).status).toBe(204);
    expect((await fetch(`${base}/kv/absent`, { method: 'PATCH', headers: { 'x-shoal-ttl': '1000' } })).status).toBe(404);
    const calls = svc.calls.length;
    expect((await fetch(`${base}/kv/k`, { method: 'PATCH' })).status).toBe(400);
    expect((await fetch(`${base}/kv/k`, { method: 'PATCH', headers: { 'x-shoal-ttl': '-5' } })).status).toBe(400);
    expect(svc.calls.length).toBe(calls);
  });

  it('refuses an oversized value with 413 before storing anything (declared and streamed)', async () => {
    const big = Buffer.alloc(65, 1);
    const declared = await fetch(`${base}/kv/k`, { method: 'PUT', body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('SHOAL_TOO_LARGE');
    // Chunked, without a content-length.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/kv/k`, { method: 'PUT' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(Buffer.alloc(40));
      req.end(Buffer.alloc(40));
    });
    expect(status).toBe(413);
    expect(svc.calls.filter((c) => c.op === 'put')).toEqual([]);
  });

  it('maps bad input and errors to status codes with stable error codes', async () => {
    const cases: Array<[string, RequestInit | undefined, number, string]> = [
      ['/kv/k', { method: 'PUT', body: 'x', headers: { 'x-shoal-context': '***' } }, 400, 'SHOAL_BAD_CONTEXT'],
      ['/kv/k?w=0', { method: 'PUT', body: 'x' }, 400, 'SHOAL_BAD_REQUEST'],
      ['/kv/k?r=abc', undefined, 400, 'SHOAL_BAD_REQUEST'],
      ['/kv/k', { method: 'PUT', body: 'x', headers: { 'x-shoal-ttl': '-5' } }, 400, 'SHOAL_BAD_REQUEST'],
      ['/kv/%E0%A4%A', undefined, 400, 'SHOAL_BAD_REQUEST'],
      ['/kv/', undefined, 400, 'SHOAL_BAD_REQUEST'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await fetch(base + path, init);
      expect(res.status, path).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe(code);
    }
    expect(svc.calls.filter((c) => c.op === 'put')).toEqual([]);
    for (const [err, status] of [
      [new QuorumUnavailableError('2 of 3 down'), 503],
      [new TimeoutError('slow'), 504],
      [new TooLargeError('key'), 413],
      [new Error('boom'), 500],
    ] as const) {
      svc.fail = err;
      const res = await fetch(`${base}/kv/k`);
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      if (status === 500) expect(body.error).toEqual({ code: 'SHOAL_INTERNAL', message: 'internal error' });
    }
  });

  it('serves /status, /health and 404/405 for the rest', async () => {
    expect(await (await fetch(`${base}/status`)).json()).toEqual({ id: 'n1', members: [] });
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/kv/k`, { method: 'OPTIONS' })).status).toBe(405); // PATCH is touch
  });
});
