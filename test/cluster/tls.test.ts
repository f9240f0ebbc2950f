// `shoal start --tls-*` with real processes: a cluster whose TCP port speaks only
// TLS converges and serves an SDK that dials TLS, refuses one that does not, and a
// node given a key that is not its certificate's refuses to start.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/paths.js';
import { clusterPerFile, type ProcessCluster, runShoal } from '../support/cluster.js';

const fixtures = join(packageRoot(), 'test/fixtures/tls');
const tlsArgs = ['--tls-cert', join(fixtures, 'node.pem'), '--tls-key', join(fixtures, 'node.key'), '--tls-ca', join(fixtures, 'ca.pem')];
let cluster: ProcessCluster;
clusterPerFile({ nodes: 3, extraArgs: tlsArgs }, (c) => (cluster = c));

describe('a cluster with TLS on its TCP port', () => {
  it('converges over TLS and serves a client that dials TLS', async () => {
    const client = await cluster.client({ tls: { ca: readFileSync(join(fixtures, 'ca.pem')) } });
    for (let i = 0; i < 20; i++) await client.put(`tls-${i}`, `v${i}`, { w: 3 });
    for (let i = 0; i < 20; i++) expect((await client.get(`tls-${i}`, { r: 3 })).values.map(String)).toEqual([`v${i}`]);
    const st = (await cluster.status(cluster.nodes[0]!)) as unknown as { transport: { server: { authenticated: number } } };
    expect(st.transport.server.authenticated).toBeGreaterThan(0);
  });

  it('refuses a client that dials plain TCP, and keeps serving', async () => {
    const seeds = cluster.nodes.map((n) => `127.0.0.1:${n.port}`);
    await expect(Client.connect({ seeds, clusterKey: cluster.key, requestTimeoutMs: 2000 })).rejects.toMatchObject({
      code: expect.stringMatching(/SHOAL_(UNAVAILABLE|TIMEOUT)/),
    });
    const st = (await cluster.status(cluster.nodes[0]!)) as unknown as { transport: { server: { tlsErrors: number } } };
    expect(st.transport.server.tlsErrors).toBeGreaterThan(0);
    const client = await cluster.client({ tls: { ca: readFileSync(join(fixtures, 'ca.pem')) } });
    expect((await client.get('tls-0')).values.map(String)).toEqual(['v0']);
  });

  it('a node whose key is not its certificate refuses to start (exit code 2)', async () => {
    const args = ['start', '--cluster-key-file', cluster.keyFile, '--port', '0', '--http-port', '0', '--data', join(cluster.dir, 'never')];
    args.push('--tls-cert', join(fixtures, 'ca.pem'), '--tls-key', join(fixtures, 'node.key'), '--tls-ca', join(fixtures, 'ca.pem'));
    const refused = await runShoal(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--tls-cert \/ --tls-key \/ --tls-ca: .*key values mismatch/);
  });
});
