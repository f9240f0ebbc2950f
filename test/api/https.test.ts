// --http-tls: a node's HTTP API over HTTPS with its TLS certificate, and
// `shoal status` reaching it with --tls-ca. A real node in this process, real
// sockets; the certificates are test fixtures (test/fixtures/tls/README.md).
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, ShoalNode } from '../../src/index.js';
import { packageRoot } from '../../src/paths.js';
import { runShoal } from '../support/cluster.js';

const fixtures = join(packageRoot(), 'test/fixtures/tls');
const ca = readFileSync(join(fixtures, 'ca.pem'));
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function httpsNode(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-https-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const tls = { cert: readFileSync(join(fixtures, 'node.pem')), key: readFileSync(join(fixtures, 'node.key')), ca };
  const node = await ShoalNode.start({ host: '127.0.0.1', port: 0, httpPort: 0, dataDir: dir, seeds: [], keyring: new Keyring(randomBytes(32)), n: 1, r: 1, w: 1, profile: 'fast', tls, httpTls: true });
  cleanup.push(() => node.stop());
  return node.http!.port;
}

/** GET a path; resolves with the status, or with the error's message when the request fails. */
function get(url: string, o: { ca?: Buffer } = {}): Promise<number | string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { ...(o.ca ? { ca: o.ca } : {}), timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}

function shoalStatus(args: string[]) {
  return runShoal(['status', ...args]);
}

describe('the HTTP API with --http-tls', () => {
  it('answers HTTPS to a client that trusts the cluster CA, and nothing useful to plain HTTP', async () => {
    const port = await httpsNode();
    expect(await get(`https://127.0.0.1:${port}/health`, { ca })).toBe(200);
    expect(await get(`https://127.0.0.1:${port}/kv/absent`, { ca })).toBe(404);
    expect(await get(`https://127.0.0.1:${port}/health`)).toMatch(/self.signed|unable to verify|certificate/i);
    expect(await get(`http://127.0.0.1:${port}/health`)).not.toBe(200);
  });

  it('shoal status reaches it with --http https://… and --tls-ca, and says why it cannot without', async () => {
    const port = await httpsNode();
    const ok = await shoalStatus(['--http', `https://127.0.0.1:${port}`, '--tls-ca', join(fixtures, 'ca.pem')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^node \S+ \(127\.0\.0\.1:\d+\)/);
    const untrusted = await shoalStatus(['--http', `https://127.0.0.1:${port}`]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+\/status: .*(self.signed|certificate)/i);
  });
});
