// Anti-entropy: time and bytes to detect and repair 1%, 0.1% and 0.01% divergence
// between two replicas of 100K and 1M keys (real LevelDB, real RPC on loopback),
// and the time to transfer one partition to an empty node.
// AE_BENCH_KEYS=100000,1000000 (default) picks the sizes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AntiEntropy,
  ByteBudget,
  ExchangeResponder,
  PartitionTrees,
  RpcExchangePeer,
  fastAntiEntropy,
  runExchange,
} from '../src/antientropy/index.js';
import type { SiblingSet } from '../src/codec/index.js';
import { UnknownMessageError } from '../src/errors.js';
import { Store } from '../src/storage/index.js';
import { Keyring, RpcPeers, RpcServer } from '../src/transport/index.js';
import { native } from '../src/native.js';
import { EMPTY_CONTEXT, encodeDot } from '../src/version/index.js';

const Q = 256;
const SEGMENTS = 1024;
const FANOUT = 16;
const keyring = new Keyring(randomBytes(32));

interface Node {
  dir: string;
  store: Store;
  trees: PartitionTrees;
  server: RpcServer;
  client: RpcPeers;
}

async function open(name: string): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-ae-bench-'));
  const ref: { store?: Store } = {};
  const trees = new PartitionTrees({ segments: SEGMENTS, fanout: FANOUT, rebuildIntervalMs: 0, source: (p, q) => ref.store!.partitionDigests(p, q) });
  const store = await Store.open({ path: dir, sweepIntervalMs: 0, onDataChange: trees.onChange });
  ref.store = store;
  const responder = new ExchangeResponder({ trees, store, segments: SEGMENTS, fanout: FANOUT, maxMessageBytes: 1024 * 1024, maxInbound: 8, mayTransfer: () => true });
  const server = new RpcServer({
    host: '127.0.0.1',
    port: 0,
    keyring,
    nodeId: name,
    handler: (req, peer) => responder.serve(req, peer.nodeId) ?? Promise.reject(new UnknownMessageError(req.kind)),
  });
  await server.start();
  return { dir, store, trees, server, client: new RpcPeers({ keyring, nodeId: name, requestTimeoutMs: 60_000 }) };
}

async function close(n: Node): Promise<void> {
  await n.client.close();
  await n.server.stop();
  await n.trees.stop();
  await n.store.close();
  await rm(n.dir, { recursive: true, force: true });
}

const peer = (from: Node, to: Node) => new RpcExchangePeer(from.client, '127.0.0.1', to.server.port, 60_000);

/** One version of key i as some coordinator wrote it: identical on both replicas. */
function versionOf(i: number, actor: bigint, value: Buffer): SiblingSet {
  const counter = i + 1;
  const clock = native.vvEvent(EMPTY_CONTEXT, actor, counter);
  return { clock, siblings: [{ dot: encodeDot(actor, counter), value, tombstone: false, expiresAt: 0, writtenAt: 1_700_000_000_000 }] };
}

async function fill(nodes: Node[], count: number): Promise<void> {
  const actor = 0x1234_5678_9abc_def0n;
  const value = Buffer.alloc(100, 0x61);
  const inFlight = 512;
  for (let i = 0; i < count; i += inFlight) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(count, i + inFlight); j++) {
      const key = Buffer.from(`key-${j}`);
      const set = versionOf(j, actor, value);
      for (const n of nodes) batch.push(n.store.merge(key, set));
    }
    await Promise.all(batch);
  }
}

function allPartitions(): number[] {
  return Array.from({ length: Q }, (_, p) => p);
}

async function diverge(a: Node, count: number, keys: number, seed: number): Promise<void> {
  // New versions on a only, spread evenly over the key space.
  const step = Math.floor(keys / count);
  const batch: Array<Promise<unknown>> = [];
  for (let k = 0; k < count; k++) {
    const key = Buffer.from(`key-${(k * step + seed) % keys}`);
    batch.push(a.store.get(key).then(({ context }) => a.store.put(key, Buffer.from(`changed-${seed}`), { context })));
    if (batch.length >= 256) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

function roundsUntilEqual(a: Node, b: Node): boolean {
  for (let p = 0; p < Q; p++) if (a.trees.tree(p)!.root() !== b.trees.tree(p)!.root()) return false;
  return true;
}

const kb = (b: number) => (b / 1024).toFixed(1);

export async function run(): Promise<void> {
  const sizes = (process.env['AE_BENCH_KEYS'] ?? '100000,1000000').split(',').map(Number).filter((n) => n > 0);
  const rows: Array<Record<string, string | number>> = [];
  const setupRows: Array<Record<string, string | number>> = [];
  const transferRows: Array<Record<string, string | number>> = [];
  for (const keys of sizes) {
    const a = await open('a');
    const b = await open('b');
    const c = await open('c');
    try {
      let t = performance.now();
      await fill([a, b], keys);
      const fillMs = performance.now() - t;
      t = performance.now();
      for (const n of [a, b]) n.trees.hold(allPartitions(), Q);
      c.trees.hold(allPartitions(), Q);
      await Promise.all([a.trees.idle(), b.trees.idle(), c.trees.idle()]);
      const buildMs = performance.now() - t;
      setupRows.push({ 'keys per node': keys.toLocaleString('en-US'), 'load both (ms)': Math.round(fillMs), 'build 256 trees per node, both nodes (ms)': Math.round(buildMs) });
      if (!roundsUntilEqual(a, b)) throw new Error('replicas differ after loading');

      let seed = 1;
      for (const fraction of [0.01, 0.001, 0.0001]) {
        const count = Math.max(1, Math.round(keys * fraction));
        await diverge(a, count, keys, seed++);
        const ae = new AntiEntropy({
          config: { ...fastAntiEntropy, intervalMs: 0, partitionsPerRound: Q, bytesPerSec: Infinity },
          trees: a.trees,
          store: a.store,
          shared: () => new Map([['b', allPartitions()]]),
          peer: () => peer(a, b),
        });
        t = performance.now();
        // Detection alone: one message comparing every root.
        const roots = Buffer.allocUnsafe(Q * 8);
        allPartitions().forEach((p) => roots.writeBigUInt64LE(a.trees.tree(p)!.root(), p * 8));
        const reply = await peer(a, b).roots({ partitions: Q, segments: SEGMENTS, fanout: FANOUT, partition: allPartitions(), roots });
        const detectMs = performance.now() - t;
        t = performance.now();
        let rounds = 0;
        while (!roundsUntilEqual(a, b) && rounds < 10) {
          await ae.round();
          rounds++;
        }
        const repairMs = performance.now() - t;
        if (!roundsUntilEqual(a, b)) throw new Error('not repaired');
        const s = ae.stats;
        rows.push({
          'keys per node': keys.toLocaleString('en-US'),
          divergence: `${fraction * 100}%`,
          'keys differing': count,
          'partitions differing': reply.differing.length,
          'detect (ms)': detectMs.toFixed(1),
          'repair (ms)': Math.round(repairMs),
          rounds,
          'keys shipped': s.keysPushed + s.keysPulled,
          'keys listed': s.keysListed,
          'KiB sent': kb(s.bytesSent + Q * 10),
          'KiB received': kb(s.bytesReceived),
          'KiB data per node': kb(keys * 160),
        });
      }

      // One partition into an empty node (ownership transfer: pull-only exchange).
      const p = 7;
      t = performance.now();
      const tally = await runExchange({
        partition: p,
        partitions: Q,
        segments: SEGMENTS,
        fanout: FANOUT,
        mode: 'pull',
        transfer: true,
        tree: c.trees.tree(p)!,
        store: c.store,
        peer: peer(c, a),
        budget: new ByteBudget(Infinity),
        maxMessageBytes: 1024 * 1024,
      });
      const ms = performance.now() - t;
      transferRows.push({
        'keys per node': keys.toLocaleString('en-US'),
        'partition keys': tally.pulled,
        'transfer (ms)': Math.round(ms),
        'keys/s': Math.round((tally.pulled / ms) * 1000).toLocaleString('en-US'),
        'KiB received': kb(tally.bytesReceived),
        'MiB/s': (tally.bytesReceived / 1024 / 1024 / (ms / 1000)).toFixed(1),
      });
    } finally {
      for (const n of [a, b, c]) await close(n);
    }
  }
  console.log('Setup (two replicas loaded with identical versions, 100-byte values; Q=256, 1024 segments):');
  console.table(setupRows);
  console.log('Detect and repair divergence (new versions on one replica; one exchange per differing partition, no rate limit):');
  console.table(rows);
  console.log('Transfer one partition to an empty node (pull-only exchange, no rate limit):');
  console.table(transferRows);
}
