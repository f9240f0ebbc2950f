// The HTTP API: /kv/{key} (GET, PUT, DELETE), /status, /health, /metrics, and
// /admin/* for membership changes (what `shoal admin` calls). Contexts travel
// base64url in X-Shoal-Context; errors are JSON with a stable code.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  BadContextError,
  BadRequestError,
  ErrorCodes,
  ShoalError,
  TooLargeError,
  UnauthorizedError,
  type ErrorCode,
} from '../errors.js';
import type { Startable } from '../time.js';
import type { KeyValueService, Scope } from './service.js';

const STATUS_OF: Record<ErrorCode, number> = {
  [ErrorCodes.QUORUM_UNAVAILABLE]: 503,
  [ErrorCodes.TIMEOUT]: 504,
  [ErrorCodes.TOO_LARGE]: 413,
  [ErrorCodes.BAD_CONTEXT]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.UNKNOWN_MESSAGE]: 400,
  [ErrorCodes.OVERLOADED]: 503,
  [ErrorCodes.INTERNAL]: 500,
  [ErrorCodes.UNAVAILABLE]: 503,
  [ErrorCodes.CLOSED]: 503,
  [ErrorCodes.STALE_RING]: 503,
};

export const CONTEXT_HEADER = 'x-shoal-context';
export const TTL_HEADER = 'x-shoal-ttl';

export interface HttpApiOptions {
  host: string;
  /** 0 picks an ephemeral port. */
  port: number;
  service: KeyValueService;
  /** Serve HTTPS with this certificate chain and key (PEM); undefined: plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export class HttpApi implements Startable {
  private server: Server | undefined;
  private boundPort = 0;

  constructor(private readonly options: HttpApiOptions) {}

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((err: unknown) => sendError(res, err));
    };
    const tls = this.options.tls;
    const server: Server = tls === undefined ? createServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler);
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://shoal');
    const svc = this.options.service;
    if (svc.authorize !== undefined && url.pathname !== '/health') {
      const local = url.searchParams.get('local');
      const scope = url.pathname.startsWith('/kv/') && local !== 'true' && local !== '1' ? 'kv' : 'node';
      const verdict = svc.authorize(bearer(req), scope);
      if (verdict === 'unauthenticated') {
        res.setHeader('www-authenticate', 'Bearer realm="shoal"');
        throw new UnauthorizedError('this node wants Authorization: Bearer <cluster key or client token>');
      }
      if (verdict === 'forbidden') throw new ForbiddenError(`a client token may only read and write /kv/ keys, not ${url.pathname}`);
    }
    if (url.pathname.startsWith('/kv/')) {
      const key = decodeKey(url.pathname.slice(4));
      switch (req.method) {
        case 'GET':
        case 'HEAD':
          return this.get(res, key, url, req.method === 'HEAD');
        case 'PUT':
        case 'POST':
          return this.put(req, res, key, url);
        case 'DELETE': {
          await svc.delete(key, { context: contextOf(req), w: quorumParam(url, 'w'), scope: scopeParam(url) });
          res.writeHead(204).end();
          return;
        }
        case 'PATCH':
          return this.touch(req, res, key, url);
        default:
          res.writeHead(405, { allow: 'GET, HEAD, PUT, POST, DELETE, PATCH' });
          res.end();
          return;
      }
    }
    if (url.pathname.startsWith('/admin/')) return this.admin(req, res, url.pathname.slice(7));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url.pathname) {
      case '/health': {
        const ok = svc.healthy();
        sendJson(res, ok ? 200 : 503, { ok });
        return;
      }
      case '/status':
        sendJson(res, 200, svc.status());
        return;
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(svc.metrics?.() ?? '');
        return;
      default:
        sendJson(res, 404, { error: { code: 'SHOAL_NOT_FOUND', message: `no route for ${url.pathname}` } });
    }
  }

  /** POST /admin/join {seed}, /admin/leave {id?}, /admin/remove {id}; GET /admin/partitions. */
  private async admin(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    const admin = this.options.service.admin;
    if (admin === undefined) {
      sendJson(res, 404, { error: { code: 'SHOAL_NOT_FOUND', message: 'this node serves no admin API' } });
      return;
    }
    if (action === 'partitions') {
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      sendJson(res, 200, await admin.partitions());
      return;
    }
    if (action !== 'join' && action !== 'leave' && action !== 'remove') {
      sendJson(res, 404, { error: { code: 'SHOAL_NOT_FOUND', message: `no admin action ${action}` } });
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const body = await readJson(req);
    const text = (name: string, required: boolean): string | undefined => {
      const v = body[name];
      if (v === undefined || v === '') {
        if (required) throw new BadRequestError(`"${name}" is required`);
        return undefined;
      }
      if (typeof v !== 'string' || v.length > 256) throw new BadRequestError(`"${name}" must be a string of at most 256 characters`);
      return v;
    };
    const out =
      action === 'join' ? await admin.join(text('seed', true)!) : action === 'leave' ? await admin.leave(text('id', false)) : await admin.remove(text('id', true)!);
    sendJson(res, 200, out);
  }

  private async get(res: ServerResponse, key: Buffer, url: URL, headOnly: boolean): Promise<void> {
    const local = url.searchParams.get('local');
    const { values, context } =
      local === 'true' || local === '1'
        ? await this.options.service.getLocal(key)
        : await this.options.service.get(key, { r: quorumParam(url, 'r'), scope: scopeParam(url) });
    const headers: Record<string, string> = {};
    if (context.length > 0) headers[CONTEXT_HEADER] = context.toString('base64url');
    if (values.length === 0) {
      res.writeHead(404, headers).end();
    } else if (values.length === 1) {
      res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': values[0]!.length });
      res.end(headOnly ? undefined : values[0]);
    } else {
      const body = JSON.stringify({ siblings: values.map((v) => v.toString('base64')), context: headers[CONTEXT_HEADER] ?? '' });
      res.writeHead(300, { ...headers, 'content-type': 'application/json' });
      res.end(headOnly ? undefined : body);
    }
  }

  /** PATCH /kv/{key} with X-Shoal-TTL (0: never expire): 204 with the new context, 404 when nothing is live. */
  private async touch(req: IncomingMessage, res: ServerResponse, key: Buffer, url: URL): Promise<void> {
    const ttlMs = ttlOf(req, true);
    if (ttlMs === undefined) throw new BadRequestError(`PATCH (touch) needs ${TTL_HEADER}: the new time to live in milliseconds (0: never expire)`);
    req.resume(); // a body, if any, means nothing here
    const out = await this.options.service.touch(key, ttlMs, { r: quorumParam(url, 'r'), w: quorumParam(url, 'w'), scope: scopeParam(url) });
    if (!out.touched) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(204, { [CONTEXT_HEADER]: out.context.toString('base64url') }).end();
  }

  private async put(req: IncomingMessage, res: ServerResponse, key: Buffer, url: URL): Promise<void> {
    const context = contextOf(req);
    const ttlMs = ttlOf(req, false);
    const w = quorumParam(url, 'w');
    const scope = scopeParam(url);
    const value = await readBody(req, this.options.service.maxValueBytes);
    const out = await this.options.service.put(key, value, { context, ttlMs, w, scope });
    res.writeHead(204, out.context.length > 0 ? { [CONTEXT_HEADER]: out.context.toString('base64url') } : {}).end();
  }
}

/** The credential of an `Authorization: Bearer …` header; undefined when there is none. */
function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = h === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m === null ? undefined : m[1];
}

/** A known credential asking for what it may not do: 403, with the usual error code. */
class ForbiddenError extends UnauthorizedError {}

/** The X-Shoal-TTL header as milliseconds: undefined when absent; `zero` allows 0 (no expiry). */
function ttlOf(req: IncomingMessage, zero: boolean): number | undefined {
  const ttl = req.headers[TTL_HEADER];
  if (ttl === undefined) return undefined;
  const ms = Number(ttl);
  if (!Number.isSafeInteger(ms) || ms < (zero ? 0 : 1)) throw new BadRequestError(`${TTL_HEADER} must be a ${zero ? 'non-negative' : 'positive'} whole number of milliseconds`);
  return ms;
}

function decodeKey(raw: string): Buffer {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError('the key is not valid percent-encoding');
  }
  if (key.length === 0) throw new BadRequestError('the key is empty');
  return Buffer.from(key, 'utf8');
}

function contextOf(req: IncomingMessage): Buffer | undefined {
  const h = req.headers[CONTEXT_HEADER];
  if (h === undefined || h === '') return undefined;
  if (Array.isArray(h) || !/^[A-Za-z0-9_-]*={0,2}$/.test(h)) throw new BadContextError(`${CONTEXT_HEADER} must be base64url`);
  return Buffer.from(h, 'base64url');
}

function quorumParam(url: URL, name: 'r' | 'w'): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new BadRequestError(`${name} must be a whole number from 1 to 64`);
  return n;
}

function scopeParam(url: URL): Scope {
  const v = url.searchParams.get('scope');
  if (v === null) return undefined;
  if (v !== 'local' && v !== 'global') throw new BadRequestError('scope must be local or global');
  return v;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    throw new TooLargeError(`the value is ${declared} bytes; the limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new TooLargeError(`the value is over the limit of ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** A small JSON object body (admin requests); an empty body is {}. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, 64 * 1024);
  if (raw.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestError('the body must be JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequestError('the body must be a JSON object');
  return v as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = err instanceof ShoalError ? err : undefined;
  const code = e?.code ?? ErrorCodes.INTERNAL;
  const message = e?.message ?? 'internal error';
  // The connection may carry an unread body (e.g. a refused oversized value): close it.
  res.setHeader('connection', 'close');
  sendJson(res, err instanceof ForbiddenError ? 403 : STATUS_OF[code], { error: { code, message } });
}
