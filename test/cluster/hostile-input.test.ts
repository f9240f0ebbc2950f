// Garbage on every port and a wrong cluster key: counted, refused, and the nodes
// keep serving.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { Client } from '../../src/client/index.js';
import { WireErrorCode } from '../../src/codec/index.js';
import { Keyring, RpcPeers, parseKey } from '../../src/transport/index.js';
import { clusterPerFile, type ProcessCluster, replicaSet, waitFor } from '../support/cluster.js';

let cluster: ProcessCluster;
clusterPerFile({ nodes: 3 }, (c) => (cluster = c));

function tcpSend(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c);
      s.end();
    });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.setTimeout(3000, () => s.destroy());
    s.resume();
  });
}

async function rpcRefused(port: number): Promise<number> {
  return (await metric(port, 'rpc_unauthorized_total')) + (await metric(port, 'rpc_malformed_total')) + (await metric(port, 'rpc_oversize_total'));
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^shoal_${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('hostile input', () => {
  it('garbage on the TCP, UDP and HTTP ports leaves every node serving', async () => {
    const [a] = cluster.nodes;
    const udpBefore = await metric(a!.httpPort, 'gossip_dropped_unauthenticated_total');
    const tcpJunk: Buffer[][] = [
      [randomBytes(4096)],
      [Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(100)], // a 4 GiB length prefix
      [Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5])], // a frame that is not a Hello
      [Buffer.from('GET / HTTP/1.1\r\n\r\n')],
      [Buffer.from([0, 0, 0, 20])], // half a frame, then close
    ];
    const rpcBefore = await rpcRefused(a!.httpPort);
    for (const n of cluster.nodes) for (const chunks of tcpJunk) await tcpSend(n.port, chunks);
    await waitFor('TCP garbage to be counted', async () => (await rpcRefused(a!.httpPort)) >= rpcBefore + tcpJunk.length);
    const udp = createSocket('udp4');
    for (const n of cluster.nodes) for (let i = 0; i < 50; i++) udp.send(randomBytes(1 + (i * 37) % 1400), n.port, '127.0.0.1');
    for (const n of cluster.nodes) await tcpSend(n.httpPort, [Buffer.from('\x00\x01garbage\r\n\r\n'), randomBytes(2000)]);
    await waitFor('garbage datagrams to be counted', async () => (await metric(a!.httpPort, 'gossip_dropped_unauthenticated_total')) >= udpBefore + 50);
    udp.close();

    // Still alive and serving, with the same membership.
    for (const n of cluster.nodes) expect(n.child!.exitCode).toBeNull();
    const client = await cluster.client();
    await client.put('after-garbage', 'fine');
    expect((await client.get('after-garbage', { r: 3 })).values.map(String)).toEqual(['fine']);
    await cluster.waitConverged();
  });

  it('a client or a node with the wrong cluster key is refused and counted', async () => {
    const [a] = cluster.nodes;
    await expect(Client.connect({ seeds: [`127.0.0.1:${a!.port}`], clusterKey: randomBytes(32), requestTimeoutMs: 3000 })).rejects.toMatchObject({
      code: 'SHOAL_UNAUTHORIZED',
    });
    // A node with another key seeds itself to the cluster: its gossip is dropped and it never joins.
    const before = await metric(a!.httpPort, 'rpc_unauthorized_total');
    const stranger = { id: 'stranger', port: 0, httpPort: 0, dataDir: `${cluster.dir}/stranger`, child: undefined, stderr: [] as string[] };
    const { spawn } = await import('node:child_process');
    const { writeFile } = await import('node:fs/promises');
    const keyFile = `${cluster.dir}/other.key`;
    await writeFile(keyFile, randomBytes(32).toString('hex'));
    const child = spawn(process.execPath, [
      `${process.cwd()}/dist/src/cli/main.js`, 'start', '--id', stranger.id, '--port', '0', '--http-port', '0',
      '--data', stranger.dataDir, '--cluster-key-file', keyFile, '--profile', 'fast', '--log-level', 'silent', '--seeds', `127.0.0.1:${a!.port}`,
    ], { stdio: 'ignore' });
    try {
      await waitFor('the stranger to be refused', async () => (await metric(a!.httpPort, 'rpc_unauthorized_total')) > before, 20_000);
      const st = await cluster.status(a!);
      expect(st.members.map((m) => m.id)).not.toContain('stranger');
    } finally {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGKILL');
      });
    }
    const client = await cluster.client();
    await client.put('after-stranger', 'fine');
    expect((await client.get('after-stranger')).values.map(String)).toEqual(['fine']);
  });

  it('a peer with the key sending malformed replica writes gets a clear error, and nothing is stored', async () => {
    const [a] = cluster.nodes;
    const peers = new RpcPeers({ keyring: new Keyring(parseKey(cluster.key)), nodeId: 'peer', requestTimeoutMs: 5000 });
    try {
      const hintsBefore = (await cluster.status(a!)).hints.pending;
      const dot = Buffer.alloc(16, 1);
      const sets = [
        { clock: Buffer.from([9, 9]), siblings: [] }, // not a version vector
        { clock: Buffer.from([1, 0]), siblings: [{ dot: Buffer.alloc(3), value: Buffer.from('v'), tombstone: false, expiresAt: 0, writtenAt: 1 }] }, // a short dot
        { clock: Buffer.from([1, 0]), siblings: [{ dot, value: Buffer.alloc(2 * 1024 * 1024), tombstone: false, expiresAt: 0, writtenAt: 1 }] }, // over the value limit
        null, // no set at all
      ];
      for (const [i, set] of sets.entries()) {
        for (const hintFor of ['', 'n2']) {
          const key = Buffer.from(`malformed-${i}`);
          const sent = peers.request('127.0.0.1', a!.port, { kind: 'replicaWrite', value: { key, set: set as never, hintFor } });
          await expect(sent, `set ${i}, hintFor '${hintFor}'`).rejects.toMatchObject({ code: expect.stringMatching(/^SHOAL_(BAD_REQUEST|TOO_LARGE)$/) });
          expect((await fetch(`http://127.0.0.1:${a!.httpPort}/kv/malformed-${i}?local=true`)).status).toBe(404);
        }
      }
      expect((await cluster.status(a!)).hints.pending).toBe(hintsBefore);
      expect(a!.child!.exitCode).toBeNull();
    } finally {
      await peers.close();
    }
  });

  it('a batch of replica writes with malformed ones: those fail with clear errors, the others are applied; an oversized batch is refused whole', async () => {
    const [a] = cluster.nodes;
    const peers = new RpcPeers({ keyring: new Keyring(parseKey(cluster.key)), nodeId: 'peer', requestTimeoutMs: 5000 });
    try {
      // A well-formed set to copy: a real write's state, read back from a replica.
      const client = await cluster.client();
      await client.put('batch-source', 'good value');
      const good = await replicaSet(peers, a!.port, 'batch-source');
      const writes = [
        { key: Buffer.from('batch-good-0'), set: good, hintFor: '' },
        { key: Buffer.from('batch-bad-1'), set: { clock: Buffer.from([9, 9]), siblings: [] }, hintFor: '' }, // not a version vector
        { key: Buffer.alloc(0), set: good, hintFor: '' }, // no key
        { key: Buffer.from('batch-good-3'), set: good, hintFor: '' },
        { key: Buffer.from('batch-bad-4'), set: null, hintFor: '' }, // no set at all
      ];
      const reply = await peers.request('127.0.0.1', a!.port, { kind: 'replicaWrites', value: { writes } });
      expect(reply.kind).toBe('replicaWritesReply');
      if (reply.kind !== 'replicaWritesReply') return;
      expect(reply.value.failed).toEqual([1, 2, 4]);
      expect(reply.value.errors.map((e) => e.code)).toEqual([WireErrorCode.BAD_REQUEST, WireErrorCode.BAD_REQUEST, WireErrorCode.BAD_REQUEST]);
      for (const e of reply.value.errors) expect(e.message.length).toBeGreaterThan(0);
      for (const k of ['batch-good-0', 'batch-good-3']) {
        const res = await fetch(`http://127.0.0.1:${a!.httpPort}/kv/${k}?local=true`);
        expect(res.status, k).toBe(200);
        expect(await res.text()).toBe('good value');
      }
      for (const k of ['batch-bad-1', 'batch-bad-4']) expect((await fetch(`http://127.0.0.1:${a!.httpPort}/kv/${k}?local=true`)).status, k).toBe(404);

      const tooMany = Array.from({ length: 1025 }, (_, i) => ({ key: Buffer.from(`batch-over-${i}`), set: good, hintFor: '' }));
      await expect(peers.request('127.0.0.1', a!.port, { kind: 'replicaWrites', value: { writes: tooMany } })).rejects.toMatchObject({
        code: 'SHOAL_BAD_REQUEST',
        message: expect.stringContaining('at most 1024 writes'),
      });
      expect((await fetch(`http://127.0.0.1:${a!.httpPort}/kv/batch-over-0?local=true`)).status).toBe(404);
      expect(a!.child!.exitCode).toBeNull();
    } finally {
      await peers.close();
    }
  });
});
