// Merkle trees: native vs reference bulk builds (segments 1024, fanout 16), the
// incremental update rate, and diff of two 1024-segment trees.
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { native } from '../src/native.js';
import { RefMerkleTree, refMerkleBuild, refMerkleDiff } from '../src/reference/index.js';
import { printBench } from './table.js';

const SEGMENTS = 1024;
const FANOUT = 16;

function randomEntries(n: number): BigUint64Array {
  const entries = new BigUint64Array(2 * n);
  randomFillSync(entries);
  return entries;
}

interface BuildRow {
  task: string;
  builds: number;
  'ms/build': string;
  'entries/s': string;
  'main thread ms/build': string;
}

/** Times `runs` builds one after another; `sync` is the part that blocks the caller. */
async function timeBuilds(
  task: string,
  entries: number,
  runs: number,
  build: () => { sync: number; done: Promise<unknown> },
  warmUp = true,
): Promise<BuildRow> {
  if (warmUp) await build().done;
  let total = 0;
  let blocked = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const { sync, done } = build();
    await done;
    total += performance.now() - start;
    blocked += sync;
  }
  const ms = total / runs;
  return {
    task,
    builds: runs,
    'ms/build': ms.toFixed(1),
    'entries/s': Math.round((entries / ms) * 1000).toLocaleString('en-US'),
    'main thread ms/build': (blocked / runs).toFixed(1),
  };
}

function nativeBuild(entries: BigUint64Array): { sync: number; done: Promise<unknown> } {
  const start = performance.now();
  const done = native.merkleBuild(entries, SEGMENTS, FANOUT);
  return { sync: performance.now() - start, done };
}

function nativeAdds(entries: BigUint64Array): { sync: number; done: Promise<unknown> } {
  const start = performance.now();
  const tree = new native.MerkleTree(SEGMENTS, FANOUT);
  for (let i = 0; i < entries.length; i += 2) tree.add(entries[i]!, entries[i + 1]!);
  tree.root();
  return { sync: performance.now() - start, done: Promise.resolve() };
}

function referenceBuild(entries: BigUint64Array): { sync: number; done: Promise<unknown> } {
  const start = performance.now();
  const done = refMerkleBuild(entries, SEGMENTS, FANOUT); // synchronous inside
  return { sync: performance.now() - start, done };
}

async function builds(): Promise<void> {
  const small = randomEntries(100_000);
  const large = randomEntries(1_000_000);
  const rows: BuildRow[] = [
    await timeBuilds('native merkleBuild, 100K entries', 100_000, 20, () => nativeBuild(small)),
    await timeBuilds('native merkleBuild, 1M entries', 1_000_000, 10, () => nativeBuild(large)),
    await timeBuilds('native MerkleTree.add × 1M + root (main thread)', 1_000_000, 2, () => nativeAdds(large)),
    await timeBuilds('reference refMerkleBuild, 100K entries', 100_000, 3, () => referenceBuild(small)),
    await timeBuilds('reference refMerkleBuild, 1M entries', 1_000_000, 1, () => referenceBuild(large), false),
  ];
  console.table(rows);
}

async function incremental(): Promise<void> {
  const n = 100_000;
  const entries = randomEntries(n);
  const nativeTree = await native.merkleBuild(entries, SEGMENTS, FANOUT);
  const refTree = await refMerkleBuild(entries, SEGMENTS, FANOUT);
  const digests = entries.filter((_, i) => i % 2 === 1);
  let i = 0;
  // Each update moves one entry to a fresh digest, so the trees stay consistent.
  const step = (tree: { update(k: bigint, o: bigint, d: bigint): void }): void => {
    const j = i++ % n;
    const old = digests[j]!;
    const next = old + 1n;
    tree.update(entries[2 * j]!, old, next);
    digests[j] = next;
  };
  const bench = new Bench({ time: 300 });
  bench
    .add('native update', () => step(nativeTree))
    .add('native update + root()', () => {
      step(nativeTree);
      nativeTree.root();
    })
    .add('native 64 updates + root()', () => {
      for (let k = 0; k < 64; k++) step(nativeTree);
      nativeTree.root();
    })
    .add('reference update', () => step(refTree))
    .add('reference update + root() (full rehash)', () => {
      step(refTree);
      refTree.root();
    });
  await bench.run();
  printBench(bench, 1, 'calls');
}

/**
 * A node's write path: changes spread over 256 partitions' trees (round 12), one
 * addon call per change against merkleApply over a log of 4096.
 */
async function logged(): Promise<void> {
  const parts = 256;
  const trees = await Promise.all(Array.from({ length: parts }, () => native.merkleBuild(randomEntries(400), SEGMENTS, FANOUT)));
  const LOG = 4096;
  const meta = new Uint32Array(LOG);
  const words = new BigUint64Array(3 * LOG);
  const keys = randomEntries(LOG);
  for (let i = 0; i < LOG; i++) {
    meta[i] = (i % parts << 2) | 1; // adds; a remove or update costs the same
    words[3 * i] = keys[2 * i]!;
    words[3 * i + 2] = keys[2 * i + 1]!;
  }
  const bench = new Bench({ time: 300 });
  bench
    .add('native tree.add per change, 4096 over 256 trees', () => {
      for (let i = 0; i < LOG; i++) trees[i % parts]!.add(words[3 * i]!, words[3 * i + 2]!);
    })
    .add('native merkleApply, a log of 4096 over 256 trees', () => native.merkleApply(trees, meta, words, LOG));
  await bench.run();
  printBench(bench, LOG, 'changes');
}

async function diff(): Promise<void> {
  const entries = randomEntries(100_000);
  const a = (await native.merkleBuild(entries, SEGMENTS, FANOUT)).serialize();
  const changed = entries.slice();
  for (let k = 0; k < 10; k++) changed[2 * k * 997 + 1]! ^= 1n; // 10 entries with new digests
  const b = (await native.merkleBuild(changed, SEGMENTS, FANOUT)).serialize();
  const far = (await native.merkleBuild(randomEntries(100_000), SEGMENTS, FANOUT)).serialize();
  const tree = new RefMerkleTree(SEGMENTS, FANOUT);
  tree.add(1n, 2n);
  const nativeTree = await native.merkleBuild(entries, SEGMENTS, FANOUT);
  console.log(`diff: ${native.merkleDiff(a, b).length} of ${SEGMENTS} leaves differ; every leaf differs in the "all" case`);
  const bench = new Bench({ time: 300 });
  bench
    .add('native merkleDiff, 10 leaves differ', () => native.merkleDiff(a, b))
    .add('native merkleDiff, all leaves differ', () => native.merkleDiff(a, far))
    .add('native merkleDiff, equal trees', () => native.merkleDiff(a, a))
    .add('reference refMerkleDiff, 10 leaves differ', () => refMerkleDiff(a, b))
    .add('reference refMerkleDiff, all leaves differ', () => refMerkleDiff(a, far))
    .add('native serialize (1024 segments)', () => nativeTree.serialize())
    .add('reference serialize (1024 segments, clean)', () => tree.serialize());
  await bench.run();
  printBench(bench, 1, 'calls');
}

export async function run(): Promise<void> {
  await builds();
  await incremental();
  await logged();
  await diff();
}
