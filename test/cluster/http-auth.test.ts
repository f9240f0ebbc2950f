// `shoal start --http-auth` with real processes: the HTTP API wants a bearer
// credential — the cluster key for everything, a client token for /kv/ only —
// keeps /health open, and `shoal status` passes the key with --cluster-key-file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ProcessCluster, runShoal } from '../support/cluster.js';
import { clientKey, formatToken, parseKey } from '../../src/transport/index.js';

let cluster: ProcessCluster;
let base: string;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ nodes: 3, extraArgs: ['--http-auth', '--revoked-clients', 'fired'] });
  base = `http://127.0.0.1:${cluster.nodes[0]!.httpPort}`;
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const token = (name: string) => formatToken(name, clientKey(parseKey(cluster.key), name));
const as = (credential: string | undefined, init: RequestInit = {}): RequestInit => ({
  ...init,
  signal: AbortSignal.timeout(5000),
  ...(credential !== undefined ? { headers: { authorization: `Bearer ${credential}` } } : {}),
});

describe('an HTTP API with --http-auth', () => {
  it('refuses requests without a good credential, and keeps /health open', async () => {
    expect((await fetch(`${base}/health`, as(undefined))).status).toBe(200);
    for (const path of ['/status', '/metrics', '/kv/k', '/admin/partitions']) {
      const res = await fetch(base + path, as(undefined));
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="shoal"');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SHOAL_UNAUTHORIZED');
    }
    for (const bad of [randomBytes(32).toString('hex'), formatToken('web', randomBytes(32)), token('fired'), 'garbage']) {
      expect((await fetch(`${base}/kv/k`, as(bad))).status, bad).toBe(401);
    }
    // Nothing was written by the refused PUT.
    expect((await fetch(`${base}/kv/never`, as(undefined, { method: 'PUT', body: 'x' }))).status).toBe(401);
    expect((await fetch(`${base}/kv/never`, as(cluster.key))).status).toBe(404);
  });

  it('lets a client token read and write keys but nothing else', async () => {
    const t = token('web-1');
    expect((await fetch(`${base}/kv/tok`, as(t, { method: 'PUT', body: 'hello' }))).status).toBe(204);
    const got = await fetch(`${base}/kv/tok`, as(t));
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello');
    for (const path of ['/status', '/metrics', '/kv/tok?local=true', '/admin/partitions']) {
      expect((await fetch(base + path, as(t))).status, path).toBe(403);
    }
    expect((await fetch(`${base}/admin/remove`, as(t, { method: 'POST', body: JSON.stringify({ id: 'n2' }) }))).status).toBe(403);
    expect((await cluster.status(cluster.nodes[0]!)).ring?.nodes).toHaveLength(3);
  });

  it('lets the cluster key do everything, and shoal status send it', async () => {
    expect((await fetch(`${base}/status`, as(cluster.key))).status).toBe(200);
    expect((await fetch(`${base}/metrics`, as(cluster.key))).status).toBe(200);
    const shown = await cluster.cli(cluster.nodes[0]!, ['status']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^node n1 /);
    // Without the key file, shoal status says what is missing.
    const keyless = await runShoal(['status', '--http', `127.0.0.1:${cluster.nodes[0]!.httpPort}`]);
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/answered 401 \(the node wants --cluster-key-file\)/);
  });
});
