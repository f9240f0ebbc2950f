// A small HTTP(S) client for `shoal admin` and `shoal status`: fetch cannot be
// told which CA to trust, and a node with --http-tls has the cluster's own CA.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How the CLI reaches a node's HTTP API: the Authorization header to send, and the CA for https. */
export interface HttpAccess {
  authorization?: string;
  ca?: Buffer;
}

/** Sends one request; resolves with the status and the body parsed as JSON (undefined when it is not JSON). */
export function requestJson(url: string, access: HttpAccess, o: { method?: string; body?: unknown; timeoutMs: number }): Promise<{ status: number; json: unknown }> {
  const u = new URL(url);
  const body = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  const headers: Record<string, string | number> = {};
  if (access.authorization !== undefined) headers['authorization'] = access.authorization;
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': body.length });
  const options = { method: o.method ?? 'GET', headers, timeout: o.timeoutMs, ...(u.protocol === 'https:' && access.ca ? { ca: access.ca } : {}) };
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
