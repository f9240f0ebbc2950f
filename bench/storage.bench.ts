// Storage engine throughput: put and get, one awaited at a time and with 64
// concurrent callers, 200-byte values on random keys over a 100K keyspace.
// Writers overwrite with the context of their previous write to the key (as a
// client that reads before it writes would), so sibling sets stay small.
// SHOAL_BENCH_QUICK=1 runs a tenth of the operations; SHOAL_BENCH_AB=<rounds>
// compares the store's options in alternating rounds instead, or with
// SHOAL_BENCH_AB_BUILDS=<dist>,<dist> two compiled trees' stores (see alternate()).
// Then what the TTL sweep reclaims per second. Last, what a restart costs with 1M
// keys (100K quick): with the saved key filter, and without.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { PartitionTrees } from '../src/antientropy/index.js';
import { FILTER_FILE, Store } from '../src/storage/index.js';
import type { StoreOptions } from '../src/storage/index.js';
import { closedLoop } from './closed-loop.js';

const KEYSPACE = 100_000;
const VALUE = randomBytes(200);
const keys = Array.from({ length: KEYSPACE }, (_, i) => Buffer.from(`user:${i.toString().padStart(8, '0')}`));

interface Row {
  task: string;
  'ops/s': string;
  'mean µs/op': string;
  'CPU µs/op': string;
  notes: string;
}

/** CPU time (all threads: LevelDB's included) of the last drive(), and of its main thread, in seconds. */
let lastCpu = 0;
let lastMainCpu = 0;

/** Runs `concurrency` callers, each doing op() in a loop, until `total` ops are done; returns the seconds taken. */
async function drive(concurrency: number, total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const r = await closedLoop(concurrency, total, op);
  lastCpu = r.cpuSeconds;
  lastMainCpu = r.mainCpuSeconds;
  return r.seconds;
}

/**
 * One table row. 'mean µs/op' is the latency of one call; 'CPU µs/op' the process
 * CPU time per operation, steadier than rates when other work shares the cores.
 */
function row(task: string, ops: number, seconds: number, concurrency: number, notes = ''): Row {
  return {
    task,
    'ops/s': Math.round(ops / seconds).toLocaleString('en-US'),
    'mean µs/op': ((seconds * 1e6 * concurrency) / ops).toFixed(1),
    'CPU µs/op': ((lastCpu * 1e6) / ops).toFixed(1),
    notes,
  };
}

async function withStore<T>(options: Partial<StoreOptions>, fn: (s: Store) => Promise<T>): Promise<T> {
  return withOpened((path) => Store.open({ sweepIntervalMs: 0, ...options, path }), fn);
}

/** fn on a store that open() makes in a new temporary folder, removed afterwards. */
async function withOpened<T>(open: (path: string) => Promise<Store>, fn: (s: Store) => Promise<T>): Promise<T> {
  const path = await mkdtemp(join(tmpdir(), 'shoal-bench-'));
  const s = await open(path);
  try {
    return await fn(s);
  } finally {
    await s.close();
    await rm(path, { recursive: true, force: true });
  }
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % KEYSPACE;
  };
}

function shuffled(n: number, seed: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  const pick = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = pick() % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function puts(s: Store, concurrency: number, total: number, seed: number): Promise<number> {
  // An array, not a Map: the harness's own lookups were a tenth of the main thread's time.
  const contexts: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(KEYSPACE).fill(undefined);
  const pick = rng(seed);
  return drive(concurrency, total, async () => {
    const k = pick();
    const set = await s.put(keys[k]!, VALUE, { context: contexts[k] });
    contexts[k] = set.clock;
  });
}

/** Raw classic-level under the same load: 64 writers, one chained batch per turn, records of the same size. */
async function rawBaseline(total: number): Promise<number> {
  const path = await mkdtemp(join(tmpdir(), 'shoal-bench-raw-'));
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const record = randomBytes(250);
  const dbKeys = keys.map((k) => Buffer.concat([Buffer.from('d'), randomBytes(8), k]));
  let batch: ReturnType<typeof db.batch> | undefined;
  let waiters: (() => void)[] = [];
  const put = (k: Buffer): Promise<void> => {
    if (batch === undefined) {
      batch = db.batch();
      setImmediate(() => {
        const b = batch!;
        const w = waiters;
        batch = undefined;
        waiters = [];
        void b.write().then(() => w.forEach((f) => f()));
      });
    }
    batch.put(k, Buffer.from(record));
    return new Promise((resolve) => waiters.push(resolve));
  };
  try {
    const pick = rng(9);
    return await drive(64, total, () => put(dbKeys[pick()]!));
  } finally {
    await db.close();
    await rm(path, { recursive: true, force: true });
  }
}

/** What alternate() compares: a name, and how to open a fresh store in a folder. */
interface Variant {
  name: string;
  open: (path: string) => Promise<Store>;
}

function optionVariants(): Variant[] {
  const variants: [string, Partial<StoreOptions>][] = [
    ['default', {}],
    ['splitBatches: false', { splitBatches: false }],
    ['keyFilter: false', { keyFilter: false }],
  ];
  return variants.map(([name, options]) => ({ name, open: (path) => Store.open({ sweepIntervalMs: 0, ...options, path }) }));
}

/**
 * The default store of each compiled tree named (its dist folder: this tree's, and
 * a copy of another commit's), to compare builds in one process.
 */
async function buildVariants(dirs: string[]): Promise<Variant[]> {
  return Promise.all(
    dirs.map(async (dir) => {
      const mod = (await import(pathToFileURL(resolve(dir, 'src/storage/index.js')).href)) as { Store: typeof Store };
      return { name: dir, open: (path: string) => mod.Store.open({ sweepIntervalMs: 0, path }) };
    }),
  );
}

/**
 * SHOAL_BENCH_AB=<rounds>: instead of the table, alternates the default store with
 * splitBatches: false and keyFilter: false (or, with SHOAL_BENCH_AB_BUILDS, the
 * stores of the builds named), a fresh store each time (every key inserted in
 * random order, then overwritten with its context), and prints medians: rates, the
 * process's CPU and the event loop's per put. Alternating in one process is what
 * makes comparisons hold on a machine whose speed drifts.
 */
async function alternate(rounds: number): Promise<void> {
  const builds = process.env.SHOAL_BENCH_AB_BUILDS?.split(',').filter((d) => d !== '');
  const variants = builds !== undefined && builds.length > 0 ? await buildVariants(builds) : optionVariants();
  type Series = 'insert' | 'insertCpu' | 'insertLoop' | 'overwrite' | 'overwriteCpu' | 'overwriteLoop';
  const results = new Map<string, Record<Series, number[]>>();
  for (const { name } of variants) results.set(name, { insert: [], insertCpu: [], insertLoop: [], overwrite: [], overwriteCpu: [], overwriteLoop: [] });
  const record = (out: Record<Series, number[]>, kind: 'insert' | 'overwrite', secs: number): void => {
    out[kind].push(KEYSPACE / secs);
    out[`${kind}Cpu`].push((lastCpu * 1e6) / KEYSPACE);
    out[`${kind}Loop`].push((lastMainCpu * 1e6) / KEYSPACE);
  };
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so that no variant always runs first.
    for (let v = 0; v < variants.length; v++) {
      const variant = variants[(v + r) % variants.length]!;
      const out = results.get(variant.name)!;
      await withOpened(variant.open, async (s) => {
        const order = shuffled(KEYSPACE, r + 11);
        record(out, 'insert', await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE)));
        const contexts: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(KEYSPACE).fill(undefined);
        const secs = await drive(64, KEYSPACE, async (i) => {
          const k = order[i]!;
          contexts[k] = (await s.put(keys[k]!, VALUE, { context: contexts[k] })).clock;
        });
        record(out, 'overwrite', secs);
      });
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const us = (a: number[]) => (Number.isNaN(median(a)) ? 'n/a' : median(a).toFixed(1));
  console.table(
    [...results].map(([name, x]) => ({
      store: name,
      'inserts/s': Math.round(median(x.insert)).toLocaleString('en-US'),
      'insert CPU µs': us(x.insertCpu),
      'event loop µs': us(x.insertLoop),
      'overwrites/s': Math.round(median(x.overwrite)).toLocaleString('en-US'),
      'overwrite CPU µs': us(x.overwriteCpu),
      'event loop µs ': us(x.overwriteLoop),
    })),
  );
  console.log(`medians of ${rounds} alternating rounds, ${KEYSPACE.toLocaleString('en-US')} keys, 64 writers`);
}

export async function run(): Promise<void> {
  const ab = Number(process.env.SHOAL_BENCH_AB ?? 0);
  if (ab > 0) return alternate(ab);
  const rows: Row[] = [];
  // SHOAL_BENCH_QUICK=1: a tenth of the operations (the keyspace stays 100K).
  const quick = process.env.SHOAL_BENCH_QUICK === '1';
  const n = (x: number) => (quick ? Math.ceil(x / 10) : x);

  rows.push(row('baseline: raw classic-level, 64 writers, batch per turn', n(100_000), await rawBaseline(n(100_000)), 64, 'no versioning'));

  // Warm-up on a throwaway store, so that the first measured rows do not carry
  // the JIT's compilation of the write path (in quick mode it was a third of them).
  await withStore({}, async (s) => {
    const order = shuffled(KEYSPACE, 6);
    await drive(64, 20_000, (i) => s.put(keys[order[i]!]!, VALUE));
    await puts(s, 64, 20_000, 6);
  });

  await withStore({}, async (s) => {
    // Every key once, in random order: each put reads (and misses) before it writes.
    const order = shuffled(KEYSPACE, 1);
    let secs = await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE));
    rows.push(row('put, 64 concurrent, new keys (insert)', KEYSPACE, secs, 64, `${s.stats.keysRead} LevelDB reads, ${s.stats.keyFilter?.skips ?? 0} skipped (key filter)`));
    const b0 = s.stats.batches;
    const l0 = s.stats.loads;
    secs = await puts(s, 64, n(150_000), 2);
    rows.push(
      row('put, 64 concurrent, warm (overwrites)', n(150_000), secs, 64, `${Math.round(n(150_000) / (s.stats.batches - b0))} puts/batch, ${s.stats.loads - l0} reads`),
    );
    secs = await puts(s, 1, n(10_000), 3);
    rows.push(row('put, one at a time', n(10_000), secs, 1));
    const pick = rng(4);
    secs = await drive(64, n(150_000), () => s.get(keys[pick()]!));
    rows.push(row('get, 64 concurrent', n(150_000), secs, 64, 'record cache hits'));
    s.dropCache();
    const r0 = s.stats.readCalls;
    secs = await drive(64, n(100_000), () => s.get(keys[pick()]!));
    rows.push(row('get, 64 concurrent, from LevelDB', n(100_000), secs, 64, `${s.stats.readCalls - r0} synchronous reads`));
    secs = await drive(1, n(10_000), () => s.get(keys[pick()]!));
    rows.push(row('get, one at a time, from LevelDB', n(10_000), secs, 1));
  });

  // A node's store also keeps anti-entropy's Merkle trees current on every write: here
  // all 256 partitions are held, as on each node of a 3-node cluster with N=3.
  const treesFor: { store?: Store } = {};
  const trees = new PartitionTrees({ segments: 1024, fanout: 16, rebuildIntervalMs: 0, source: (p, q) => treesFor.store!.partitionDigests(p, q) });
  await withStore({ onDataChange: trees.onChange }, async (s) => {
    treesFor.store = s;
    trees.hold(Array.from({ length: 256 }, (_, p) => p), 256);
    await trees.idle();
    const order = shuffled(KEYSPACE, 1);
    let secs = await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE));
    rows.push(row('put, 64 concurrent, new keys, with Merkle trees (as a node)', KEYSPACE, secs, 64, `${trees.stats.updates} tree updates`));
    secs = await puts(s, 64, n(150_000), 2);
    rows.push(row('put, 64 concurrent, overwrites, with Merkle trees (as a node)', n(150_000), secs, 64));
    await trees.stop();
  });

  // Batches split (the default, above) or one per turn: the same inserts and overwrites.
  await withStore({ splitBatches: false }, async (s) => {
    const order = shuffled(KEYSPACE, 1);
    let secs = await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE));
    rows.push(row('put, 64 concurrent, new keys, splitBatches: false', KEYSPACE, secs, 64));
    const b0 = s.stats.batches;
    secs = await puts(s, 64, n(150_000), 2);
    rows.push(row('put, 64 concurrent, overwrites, splitBatches: false', n(150_000), secs, 64, `${Math.round(n(150_000) / (s.stats.batches - b0))} puts/batch`));
  });

  // Without the key filter every insert reads (and misses) first.
  await withStore({ keyFilter: false }, async (s) => {
    const order = shuffled(KEYSPACE, 1);
    const secs = await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE));
    rows.push(row('put, 64 concurrent, new keys, keyFilter: false', KEYSPACE, secs, 64, `${s.stats.keysRead} LevelDB reads`));
  });

  // The two read modes under the same load (key filter off): inserts (each reads first), then
  // reads of stored keys with the record cache dropped.
  for (const reads of ['sync', 'batched'] as const) {
    await withStore({ reads, keyFilter: false }, async (s) => {
      const order = shuffled(KEYSPACE, 1);
      let secs = await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE));
      rows.push(row(`put, 64 concurrent, new keys, reads: '${reads}'`, KEYSPACE, secs, 64, `${s.stats.readCalls} LevelDB reads`));
      s.dropCache();
      const r0 = s.stats.readCalls;
      const pick = rng(5);
      secs = await drive(64, n(100_000), () => s.get(keys[pick()]!));
      rows.push(row(`get, 64 concurrent, from LevelDB, reads: '${reads}'`, n(100_000), secs, 64, `${s.stats.readCalls - r0} LevelDB reads`));
    });
  }

  await withStore({ sync: true }, async (s) => {
    let secs = await puts(s, 64, n(20_000), 7);
    rows.push(row('put sync:true, 64 concurrent', n(20_000), secs, 64, `${Math.round(n(20_000) / s.stats.batches)} puts/fsync`));
    secs = await puts(s, 1, n(300), 8);
    rows.push(row('put sync:true, one at a time', n(300), secs, 1));
  });

  // Expiry: every key written with a TTL and no longer cached (as a session is
  // when it expires), then the sweep's two steps: values emptied once expired,
  // records deleted after the tombstone grace period (1 h).
  await withStore({}, async (s) => {
    const order = shuffled(KEYSPACE, 9);
    await drive(64, KEYSPACE, (i) => s.put(keys[order[i]!]!, VALUE, { ttlMs: 60_000 }));
    s.dropCache();
    const t0 = Date.now();
    for (const [task, at] of [
      ['sweep: expired values emptied', t0 + 60_000 + 11_000],
      ['sweep: records deleted after the grace period', t0 + 60_000 + 3_600_000 + 11_000],
    ] as const) {
      const r0 = { calls: s.stats.readCalls, keys: s.stats.keysRead };
      const r = await closedLoop(1, 1, () => s.sweep(at));
      lastCpu = r.cpuSeconds;
      const reads = `${s.stats.keysRead - r0.keys} records read by ${s.stats.readCalls - r0.calls} getMany calls`;
      rows.push(row(task, KEYSPACE, r.seconds, 1, reads));
    }
  });

  console.table(rows);
  await restarts(n(1_000_000));
}

/**
 * What a restart costs the key filter: reopening after a clean close (the saved
 * filter taken back) against reopening without it (after a crash: a scan).
 */
async function restarts(count: number): Promise<void> {
  const path = await mkdtemp(join(tmpdir(), 'shoal-bench-'));
  try {
    let s = await Store.open({ sweepIntervalMs: 0, path });
    const value = VALUE.subarray(0, 100);
    for (let i = 0; i < count; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => s.put(Buffer.from(`session:${i + j}`), value)));
    }
    await s.keyFilterFilled();
    let t = performance.now();
    await s.close();
    const close = performance.now() - t;
    t = performance.now();
    s = await Store.open({ sweepIntervalMs: 0, path });
    const restored = performance.now() - t;
    const f = s.stats.keyFilter!;
    await s.close();
    await rm(join(path, FILTER_FILE));
    t = performance.now();
    s = await Store.open({ sweepIntervalMs: 0, path });
    const cpu0 = process.cpuUsage();
    await s.keyFilterFilled();
    const cpu = process.cpuUsage(cpu0);
    const scanned = performance.now() - t;
    await s.close();
    console.log(
      `restart with ${count.toLocaleString('en-US')} keys: close (saves the key filter, ${f.bytes.toLocaleString('en-US')} bytes) ${close.toFixed(0)} ms; ` +
        `open with it ${restored.toFixed(0)} ms (ready: ${f.ready}, restored: ${f.restored}); ` +
        `open without it (after a crash) until its scan ends ${scanned.toFixed(0)} ms, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`,
    );
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
