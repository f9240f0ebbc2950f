// `npm run bench:inprocess`: the cluster benchmark's work in one process, to see
// which part of a request costs what without four processes sharing two cores.
//   direct: three Coordinators over three real stores, peers wired by direct
//           calls (no transport, no membership, no anti-entropy).
//   tcp:    three real nodes (ShoalNode, fast profile) and the SDK, over loopback TCP.
// Both with 64 requests in flight, 200-byte values, new keys for puts. Prints
// rates, the process's CPU µs per request (LevelDB's threads included) and the
// stores' writes per LevelDB batch, which CPU per request follows closely.
// Options (env): SHOAL_BENCH_OPS (per phase, default 60000), SHOAL_BENCH_MODES
// (default direct,tcp).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastAntiEntropy } from '../src/antientropy/index.js';
import { Client } from '../src/client/index.js';
import { Coordinator, type ReplicaPeers } from '../src/coordinator/index.js';
import { ShoalNode } from '../src/node.js';
import { PreferenceLists, createRing, joinRing } from '../src/ring/index.js';
import { Store } from '../src/storage/index.js';
import { systemClock } from '../src/time.js';
import { Keyring } from '../src/transport/index.js';
import { closedLoop } from './closed-loop.js';

const OPS = Number(process.env['SHOAL_BENCH_OPS'] ?? 60_000);
const MODES = (process.env['SHOAL_BENCH_MODES'] ?? 'direct,tcp').split(',');
const INFLIGHT = 64;
const VALUE = randomBytes(200);

interface Row {
  mode: string;
  phase: string;
  'ops/s': string;
  'CPU µs/op': string;
  'writes/batch': string;
}

async function phases(mode: string, stores: Store[], ops: Record<string, (i: number) => Promise<unknown>>): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [phase, op] of Object.entries(ops)) {
    const before = stores.map((s) => ({ b: s.stats.batches, o: s.stats.batchOps }));
    const { seconds, cpuSeconds } = await closedLoop(INFLIGHT, OPS, op);
    const batches = stores.reduce((n, s, i) => n + s.stats.batches - before[i]!.b, 0);
    const writes = stores.reduce((n, s, i) => n + s.stats.batchOps - before[i]!.o, 0);
    rows.push({
      mode,
      phase,
      'ops/s': Math.round(OPS / seconds).toLocaleString('en-US'),
      'CPU µs/op': ((cpuSeconds * 1e6) / OPS).toFixed(0),
      'writes/batch': batches === 0 ? '-' : (writes / batches).toFixed(1),
    });
  }
  return rows;
}

async function direct(dir: string): Promise<Row[]> {
  const ids = ['n1', 'n2', 'n3'];
  let ring = createRing(256, ids[0]!);
  for (const id of ids.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, 3);
  const stores = new Map<string, Store>();
  for (const id of ids) stores.set(id, await Store.open({ path: join(dir, id), sweepIntervalMs: 0 }));
  const coords = new Map<string, Coordinator>();
  const peers: ReplicaPeers = {
    write: async (to, key, set, hintFor, _t, ringId) => void (await coords.get(to)!.replicaWrite(key, set, hintFor, ringId)),
    read: (to, key, readFor) => coords.get(to)!.replicaRead(key, readFor),
    forwardPut: () => Promise.reject(new Error('every put goes to a replica here')),
    forwardDelete: () => Promise.reject(new Error('every delete goes to a replica here')),
    forwardTouch: () => Promise.reject(new Error('every touch goes to a replica here')),
  };
  for (const id of ids) {
    coords.set(
      id,
      new Coordinator({
        nodeId: id,
        n: 3,
        r: 2,
        w: 2,
        requestTimeoutMs: 5000,
        replicaTimeoutMs: 1000,
        maxKeyBytes: 1024,
        maxValueBytes: 1024 * 1024,
        clock: systemClock,
        local: stores.get(id)!,
        peers,
        cluster: { placement: () => placement, isReachable: () => true },
      }),
    );
  }
  const keys = (prefix: string) => Array.from({ length: OPS }, (_, i) => Buffer.from(`${prefix}:${i}`));
  const coordinatorOf = (k: Buffer) => coords.get(placement.walk(placement.partitionOf(k))[0]!)!;
  const warm = keys('warm');
  const put = keys('key');
  try {
    return await phases('direct', [...stores.values()], {
      warm: (i) => coordinatorOf(warm[i]!).put(warm[i]!, VALUE),
      put: (i) => coordinatorOf(put[i]!).put(put[i]!, VALUE),
      get: (i) => {
        const k = put[(i * 7919) % OPS]!;
        return coordinatorOf(k).get(k);
      },
    });
  } finally {
    for (const c of coords.values()) await c.drain();
    for (const s of stores.values()) await s.close();
  }
}

async function tcp(dir: string): Promise<Row[]> {
  const key = randomBytes(32);
  const keyring = new Keyring(key);
  const nodes: ShoalNode[] = [];
  let client: Client | undefined;
  try {
    for (let i = 1; i <= 3; i++) {
      const seeds = nodes.length > 0 ? [`127.0.0.1:${nodes[0]!.rpc.port}`] : [];
      nodes.push(await ShoalNode.start({ id: `n${i}`, host: '127.0.0.1', port: 0, dataDir: join(dir, `n${i}`), seeds, keyring, profile: 'fast', partitions: 256 }));
    }
    client = await Client.connect({ seeds: [`127.0.0.1:${nodes[0]!.rpc.port}`], clusterKey: key });
    // Joins completed, then their handover grace (bench/cluster.ts says why).
    for (let tries = 0; ; tries++) {
      await client.refreshRing();
      if (client.ring.nodes.length === 3 && !client.ring.pending) break;
      if (tries > 600) throw new Error('the nodes did not converge');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, fastAntiEntropy.handoverGraceMs + 500));
    const c = client;
    return await phases(
      'tcp',
      nodes.map((n) => n.store),
      {
        warm: (i) => c.put(`warm:${i}`, VALUE),
        put: (i) => c.put(`key:${i}`, VALUE),
        get: (i) => c.get(`key:${(i * 7919) % OPS}`),
      },
    );
  } finally {
    await client?.close();
    for (const n of nodes) await n.stop();
  }
}

const rows: Row[] = [];
for (const mode of MODES) {
  const dir = await mkdtemp(join(tmpdir(), `shoal-inprocess-${mode}-`));
  try {
    if (mode === 'direct') rows.push(...(await direct(dir)));
    else if (mode === 'tcp') rows.push(...(await tcp(dir)));
    else throw new Error(`unknown mode ${mode} (direct, tcp)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(`3 replicas (N=3, R=W=2), ${INFLIGHT} requests in flight, 200-byte values, ${OPS.toLocaleString('en-US')} requests per phase, one process`);
console.table(rows);
