import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import type { MerkleTree } from '../../src/native.js';
import { RefMerkleTree, refMerkleApply, refMerkleBuild, refMerkleDiff, refMerkleEntryHash } from '../../src/reference/index.js';

const U64_MAX = (1n << 64n) - 1n;

/** mulberry32: a small seeded generator, so a failing case can be replayed by its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomU64(next: () => number): bigint {
  return (BigInt(next()) << 32n) | BigInt(next());
}

/** n random (keyHash, digest) pairs, interleaved. */
function randomEntries(next: () => number, n: number): BigUint64Array {
  const entries = new BigUint64Array(2 * n);
  const words = new Uint32Array(entries.buffer);
  for (let i = 0; i < words.length; i++) words[i] = next();
  return entries;
}

function nativeByAdds(entries: BigUint64Array, segments: number, fanout: number): MerkleTree {
  const tree = new native.MerkleTree(segments, fanout);
  for (let i = 0; i < entries.length; i += 2) tree.add(entries[i]!, entries[i + 1]!);
  return tree;
}

function le16(a: bigint, b: bigint): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64LE(a, 0);
  buf.writeBigUInt64LE(b, 8);
  return buf;
}

/** Level sizes root first, per docs/architecture.md. */
function levelsTopDown(segments: number, fanout: number): number[] {
  const sizes = [segments];
  while (sizes[0]! > 1) sizes.unshift(Math.ceil(sizes[0]! / fanout));
  return sizes;
}

/** Byte offset of node `index` of level `level` (0 = root level) in a serialization. */
function nodeOffset(sizes: number[], level: number, index: number): number {
  let at = 8;
  for (let k = 0; k < level; k++) at += 8 * sizes[k]!;
  return at + 8 * index;
}

function leafBytes(serialized: Buffer, segments: number): Buffer {
  return serialized.subarray(serialized.length - 8 * segments);
}

/** Leaves whose hashes differ, found by comparing every leaf. */
function differingLeaves(a: Buffer, b: Buffer, segments: number): number[] {
  const la = leafBytes(a, segments);
  const lb = leafBytes(b, segments);
  const out: number[] = [];
  for (let s = 0; s < segments; s++) if (la.compare(lb, 8 * s, 8 * s + 8, 8 * s, 8 * s + 8) !== 0) out.push(s);
  return out;
}

const SHAPES: Array<[segments: number, fanout: number, entries: number]> = [];
for (const segments of [1, 2, 16, 1024, 4096]) {
  for (const fanout of [2, 4, 16, 256]) SHAPES.push([segments, fanout, segments === 1 ? 50 : 3000]);
}
SHAPES.push([2048, 16, 3000], [1 << 20, 16, 20], [1 << 20, 4, 5], [1 << 20, 256, 20]);

describe('merkleEntryHash', () => {
  it('is XXH64 of keyHash LE || digest LE, as hash64 and the reference compute it', () => {
    const next = rng(1);
    const cases: Array<[bigint, bigint]> = [
      [0n, 0n],
      [U64_MAX, U64_MAX],
      [1n, U64_MAX],
    ];
    for (let i = 0; i < 1000; i++) cases.push([randomU64(next), randomU64(next)]);
    for (const [k, d] of cases) {
      const h = native.merkleEntryHash(k, d);
      expect(h).toBe(native.hash64(le16(k, d)));
      expect(h).toBe(refMerkleEntryHash(k, d));
    }
  });
});

describe('native MerkleTree layout', () => {
  it('has the documented level sizes and serialized length for each shape', () => {
    const expected: Array<[number, number, number[]]> = [
      [1, 2, [1]],
      [2, 256, [1, 2]],
      [16, 4, [1, 4, 16]],
      [1024, 16, [1, 4, 64, 1024]],
      [1024, 256, [1, 4, 1024]],
      [2048, 16, [1, 8, 128, 2048]],
      [4096, 16, [1, 16, 256, 4096]],
    ];
    for (const [s, f, sizes] of expected) {
      expect(levelsTopDown(s, f)).toEqual(sizes);
      const bytes = new native.MerkleTree(s, f).serialize();
      expect(bytes.length).toBe(8 + 8 * sizes.reduce((a, b) => a + b, 0));
      expect(bytes.readUInt32LE(0)).toBe(s);
      expect(bytes.readUInt32LE(4)).toBe(f);
    }
    expect(new native.MerkleTree(1 << 20, 2).serialize().length).toBe(8 + 8 * ((1 << 21) - 1));
  });

  it('an empty tree has zero leaves; with one segment its root is 0', () => {
    expect(new native.MerkleTree(1, 16).root()).toBe(0n);
    expect(new native.MerkleTree(2, 2).root()).toBe(native.hash64(Buffer.alloc(16)));
    const t = new native.MerkleTree(1024, 16);
    expect(leafBytes(t.serialize(), 1024).equals(Buffer.alloc(8 * 1024))).toBe(true);
    expect(t.segments).toBe(1024);
    expect(t.fanout).toBe(16);
  });

  it('leaves are wrapping sums of entry hashes and each node hashes its children (checked with hash64)', () => {
    for (const [s, f] of [
      [16, 4],
      [1024, 256],
      [2048, 16],
      [1, 2],
      [64, 2],
    ] as const) {
      const entries = randomEntries(rng(s + f), 500);
      const bytes = nativeByAdds(entries, s, f).serialize();
      const sizes = levelsTopDown(s, f);
      const leaves = new Array<bigint>(s).fill(0n);
      for (let i = 0; i < entries.length; i += 2) {
        const seg = Number(entries[i]! & BigInt(s - 1));
        leaves[seg] = BigInt.asUintN(64, leaves[seg]! + native.hash64(le16(entries[i]!, entries[i + 1]!)));
      }
      const leafLevel = sizes.length - 1;
      for (let j = 0; j < s; j++) expect(bytes.readBigUInt64LE(nodeOffset(sizes, leafLevel, j))).toBe(leaves[j]);
      for (let level = 0; level < leafLevel; level++) {
        for (let j = 0; j < sizes[level]!; j++) {
          const first = nodeOffset(sizes, level + 1, j * f);
          const end = nodeOffset(sizes, level + 1, Math.min((j + 1) * f, sizes[level + 1]!));
          expect(bytes.readBigUInt64LE(nodeOffset(sizes, level, j))).toBe(native.hash64(bytes.subarray(first, end)));
        }
      }
    }
  });
});

describe('native MerkleTree agrees with the reference', () => {
  it.each(SHAPES)('segments %i, fanout %i: adds, merkleBuild and the reference give one tree', async (s, f, n) => {
    const entries = randomEntries(rng(s * 31 + f), n);
    const ref = await refMerkleBuild(entries, s, f);
    const expected = ref.serialize();
    const byAdds = nativeByAdds(entries, s, f);
    expect(byAdds.root()).toBe(ref.root());
    expect(byAdds.serialize().equals(expected)).toBe(true);
    const built = await native.merkleBuild(entries, s, f);
    expect(built.segments).toBe(s);
    expect(built.fanout).toBe(f);
    expect(built.serialize().equals(expected)).toBe(true);
    expect(built.root()).toBe(ref.root());
  });

  it('an empty build equals a new tree', async () => {
    const built = await native.merkleBuild(new BigUint64Array(0), 1024, 16);
    expect(built.serialize().equals(new native.MerkleTree(1024, 16).serialize())).toBe(true);
    expect(built.serialize().equals(new RefMerkleTree(1024, 16).serialize())).toBe(true);
  });

  it('is independent of the order entries arrive in', async () => {
    const next = rng(7);
    for (const [s, f] of [
      [1, 4],
      [16, 2],
      [1024, 16],
    ] as const) {
      const entries = randomEntries(next, 2000);
      const shuffled = new BigUint64Array(entries.length);
      const order = Array.from({ length: entries.length / 2 }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      order.forEach((from, to) => {
        shuffled[2 * to] = entries[2 * from]!;
        shuffled[2 * to + 1] = entries[2 * from + 1]!;
      });
      const a = (await native.merkleBuild(entries, s, f)).serialize();
      expect((await native.merkleBuild(shuffled, s, f)).serialize().equals(a)).toBe(true);
      expect(nativeByAdds(shuffled, s, f).serialize().equals(a)).toBe(true);
    }
  });

  it.each([
    [1, 2],
    [16, 4],
    [1024, 16],
    [1024, 256],
    [4096, 2],
  ])('segments %i, fanout %i: add/remove/update sequences equal a fresh build', async (s, f) => {
    const next = rng(s ^ (f << 8));
    const live = new Map<bigint, bigint>(); // keyHash -> digest
    const initial = randomEntries(next, 300);
    for (let i = 0; i < initial.length; i += 2) live.set(initial[i]!, initial[i + 1]!);
    // Start from an off-thread build, so mutations of an adopted tree are covered too.
    const tree = await native.merkleBuild(initial, s, f);
    const ref = new RefMerkleTree(s, f);
    for (const [k, d] of live) ref.add(k, d);
    for (let round = 0; round < 30; round++) {
      // Batches from 1 op to several thousand cross the native full-rehash threshold.
      const ops = 1 + (next() % (round % 3 === 0 ? 4000 : 40));
      for (let i = 0; i < ops; i++) {
        const keys = [...live.keys()];
        const choice = next() % 3;
        if (choice === 0 || keys.length === 0) {
          const k = randomU64(next);
          const d = randomU64(next);
          if (live.has(k)) continue;
          live.set(k, d);
          tree.add(k, d);
          ref.add(k, d);
        } else if (choice === 1) {
          const k = keys[next() % keys.length]!;
          const d = randomU64(next);
          tree.update(k, live.get(k)!, d);
          ref.update(k, live.get(k)!, d);
          live.set(k, d);
        } else {
          const k = keys[next() % keys.length]!;
          tree.remove(k, live.get(k)!);
          ref.remove(k, live.get(k)!);
          live.delete(k);
        }
        if (next() % 50 === 0) tree.root(); // rehash mid-batch sometimes
      }
      const fresh = new BigUint64Array(2 * live.size);
      let i = 0;
      for (const [k, d] of live) {
        fresh[i++] = k;
        fresh[i++] = d;
      }
      const expected = (await native.merkleBuild(fresh, s, f)).serialize();
      expect(tree.serialize().equals(expected), `round ${round}`).toBe(true);
      expect(ref.serialize().equals(expected), `round ${round}`).toBe(true);
      expect(tree.root()).toBe(expected.readBigUInt64LE(8));
    }
  });

  it('remove undoes add and update undoes itself, also across 64-bit wrap-around', () => {
    const t = new native.MerkleTree(1, 2);
    t.add(U64_MAX, U64_MAX);
    t.add(3n, 4n);
    t.update(3n, 4n, 5n);
    t.update(3n, 5n, 4n);
    t.remove(U64_MAX, U64_MAX);
    const only = new native.MerkleTree(1, 2);
    only.add(3n, 4n);
    expect(t.root()).toBe(only.root());
    t.remove(3n, 4n);
    expect(t.root()).toBe(0n);
  });
});

describe('merkleDiff', () => {
  const DIFF_SHAPES: Array<[number, number]> = [
    [1, 2],
    [2, 2],
    [16, 4],
    [1024, 16],
    [1024, 256],
    [4096, 4],
    [1 << 20, 16],
  ];

  it.each(DIFF_SHAPES)('segments %i, fanout %i: returns exactly the leaves that differ', async (s, f) => {
    const next = rng(s + 3 * f);
    for (let trial = 0; trial < 8; trial++) {
      const base = randomEntries(next, s >= 1 << 20 ? 50 : 2000);
      const changed = base.slice();
      const changes = trial === 0 ? 0 : 1 + (next() % (trial * 10));
      for (let c = 0; c < changes; c++) {
        const i = next() % (base.length / 2);
        changed[2 * i + 1] = randomU64(next); // a new digest for an existing key
      }
      const extra = trial % 2 === 0 ? randomEntries(next, trial) : new BigUint64Array(0);
      const withExtra = new BigUint64Array(changed.length + extra.length);
      withExtra.set(changed);
      withExtra.set(extra, changed.length);
      const a = (await native.merkleBuild(base, s, f)).serialize();
      const b = (await native.merkleBuild(withExtra, s, f)).serialize();
      const expected = differingLeaves(a, b, s);
      expect(Array.from(native.merkleDiff(a, b))).toEqual(expected);
      expect(Array.from(native.merkleDiff(b, a))).toEqual(expected);
      expect(Array.from(refMerkleDiff(a, b))).toEqual(expected);
      expect(native.merkleDiff(a, a).length).toBe(0);
      if (trial > 0) expect(expected.length).toBeGreaterThan(0);
    }
  });

  it('descends only into children whose parents differ', () => {
    const s = 1024;
    const f = 16;
    const sizes = levelsTopDown(s, f); // [1, 4, 64, 1024]
    const a = nativeByAdds(randomEntries(rng(99), 5000), s, f).serialize();
    const flip = (buf: Buffer, level: number, index: number): void => {
      buf[nodeOffset(sizes, level, index)]! ^= 0xff;
    };
    const path = (leaf: number): Array<[number, number]> => [
      [3, leaf],
      [2, leaf >> 4],
      [1, leaf >> 8],
      [0, 0],
    ];
    const cases: Array<[Array<[number, number]>, number[]]> = [
      [[[3, 100]], []], // a leaf alone: the root matches, so nothing is visited
      [path(100).slice(0, 3), []], // broken just below the root
      [path(100), [100]],
      [[[0, 0]], []], // the root alone differs: no child differs
      [[...path(100), [2, 3]], [100]], // a visited internal node over equal leaves
      [[...path(100), ...path(1000)], [100, 1000]],
      [[...path(1000), [3, 999], [3, 5]], [999, 1000]], // leaf 5's parent matches
    ];
    for (const [flips, expected] of cases) {
      const b = Buffer.from(a);
      const distinct = new Set(flips.map(([level, index]) => `${level}:${index}`));
      for (const node of distinct) {
        const [level, index] = node.split(':').map(Number);
        flip(b, level!, index!);
      }
      expect(Array.from(native.merkleDiff(a, b))).toEqual(expected);
      expect(Array.from(refMerkleDiff(a, b))).toEqual(expected);
    }
  });

  it('reads Uint8Array views at an offset', () => {
    const a = nativeByAdds(randomEntries(rng(5), 100), 16, 4).serialize();
    const b = nativeByAdds(randomEntries(rng(6), 100), 16, 4).serialize();
    const padded = new Uint8Array(b.length + 13);
    padded.set(b, 5);
    const view = padded.subarray(5, 5 + b.length);
    expect(Array.from(native.merkleDiff(a, view))).toEqual(Array.from(native.merkleDiff(a, b)));
  });
});

describe('merkleBuild off the main thread', () => {
  it('keeps the event loop turning during a 1M-entry build and copies the entries first', async () => {
    const entries = randomEntries(rng(2024), 1_000_000);
    const original = entries.slice();
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    try {
      const pending = native.merkleBuild(entries, 1 << 20, 16);
      entries.fill(0n); // the build must not see this: entries were copied before the call returned
      const tree = await pending;
      expect(turns).toBeGreaterThan(0);
      expect(tree.serialize().equals(nativeByAdds(original, 1 << 20, 16).serialize())).toBe(true);
    } finally {
      running = false;
    }
  });

  it('runs many builds concurrently', async () => {
    const sets = Array.from({ length: 16 }, (_, i) => randomEntries(rng(300 + i), 5000));
    const trees = await Promise.all(sets.map((e) => native.merkleBuild(e, 1024, 16)));
    trees.forEach((t, i) => expect(t.serialize().equals(nativeByAdds(sets[i]!, 1024, 16).serialize())).toBe(true));
  });
});

describe('merkleApply agrees with the reference', () => {
  it('applies random logs of adds, removes and updates across trees, skipping absent ones', () => {
    const next = rng(0x6a09e667);
    const shapes: Array<[number, number]> = [
      [1, 2],
      [16, 4],
      [1024, 16],
    ];
    for (const [s, f] of shapes) {
      const parts = 7;
      // Partition 3 has no tree: its entries go nowhere.
      const trees = Array.from({ length: parts }, (_, p) => (p === 3 ? undefined : new native.MerkleTree(s, f)));
      const refs = Array.from({ length: parts }, (_, p) => (p === 3 ? undefined : new RefMerkleTree(s, f)));
      const live = Array.from({ length: parts }, () => new Map<bigint, bigint>());
      for (let round = 0; round < 20; round++) {
        const count = 1 + (next() % 300);
        const meta = new Uint32Array(count + (next() % 3)); // longer than count: the rest is ignored
        const words = new BigUint64Array(3 * meta.length);
        for (let i = 0; i < meta.length; i++) {
          const p = next() % parts;
          const keys = [...live[p]!.keys()];
          const old = keys.length > 0 && next() % 2 === 0 ? keys[next() % keys.length]! : undefined;
          const kind = old === undefined ? 1 : 2 + (next() % 2);
          const keyHash = old ?? randomU64(next);
          const before = old === undefined ? randomU64(next) : live[p]!.get(old)!; // add: ignored
          const after = randomU64(next); // a remove ignores it
          meta[i] = (p << 2) | kind;
          words.set([keyHash, before, after], 3 * i);
          if (i >= count) continue;
          if (kind === 2) live[p]!.delete(keyHash);
          else live[p]!.set(keyHash, after);
        }
        native.merkleApply(trees, meta, words, count);
        refMerkleApply(refs, meta, words, count);
        for (let p = 0; p < parts; p++) {
          if (trees[p] === undefined) continue;
          const expected = nativeByAdds(new BigUint64Array([...live[p]!].flat()), s, f).serialize();
          expect(trees[p]!.serialize().equals(expected), `shape ${s}/${f} round ${round} partition ${p}`).toBe(true);
          expect(refs[p]!.serialize().equals(expected), `shape ${s}/${f} round ${round} partition ${p}`).toBe(true);
        }
      }
    }
  });

  it('a count of 0 changes nothing', () => {
    const t = new native.MerkleTree(16, 4);
    t.add(1n, 2n);
    const before = t.serialize();
    native.merkleApply([t], Uint32Array.of((0 << 2) | 1), new BigUint64Array([5n, 0n, 6n]), 0);
    expect(t.serialize().equals(before)).toBe(true);
  });
});

describe('malformed arguments', () => {
  const loose = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  const Tree = native.MerkleTree as unknown as new (...a: unknown[]) => MerkleTree;

  it('the constructor rejects bad shapes', () => {
    for (const s of [0, 3, 1000, 1 << 21, -1, 1.5, Number.NaN, 2 ** 53]) expect(() => new Tree(s, 16)).toThrow(RangeError);
    for (const f of [0, 1, 3, 512, 1 << 20, -2, 2.5]) expect(() => new Tree(1024, f)).toThrow(RangeError);
    expect(() => new Tree('16', 16)).toThrow(TypeError);
    expect(() => new Tree(16)).toThrow(TypeError);
    expect(() => new Tree(16, 16n)).toThrow(TypeError);
    expect(() => (native.MerkleTree as unknown as (...a: unknown[]) => unknown)(16, 16)).toThrow(TypeError);
  });

  it('add, remove, update take unsigned 64-bit bigints', () => {
    const t = new native.MerkleTree(16, 4);
    const before = t.serialize();
    const loosely = t as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => loosely.add!(1, 2n)).toThrow(TypeError);
    expect(() => loosely.add!(1n)).toThrow(TypeError);
    expect(() => loosely.remove!('1', 2n)).toThrow(TypeError);
    expect(() => loosely.update!(1n, 2n)).toThrow(TypeError);
    expect(() => t.add(-1n, 2n)).toThrow(RangeError);
    expect(() => t.add(1n, 1n << 64n)).toThrow(RangeError);
    expect(() => t.update(1n, 2n, -3n)).toThrow(RangeError);
    expect(t.serialize().equals(before)).toBe(true); // nothing was applied
    expect(() => native.merkleEntryHash(-1n, 0n)).toThrow(RangeError);
    expect(() => loose.merkleEntryHash!(1, 0n)).toThrow(TypeError);
  });

  it('methods called on something that is not a tree throw instead of crashing', () => {
    const proto = native.MerkleTree.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => Reflect.apply(proto.root!, {}, [])).toThrow();
    expect(() => Reflect.apply(proto.add!, { x: 1 }, [1n, 2n])).toThrow();
    expect(() => Reflect.apply(proto.serialize!, undefined, [])).toThrow();
  });

  it('merkleApply rejects a bad log before changing any tree', () => {
    const t = new native.MerkleTree(16, 4);
    const before = t.serialize();
    // The first entry is good; each case's second is not.
    const log = (second: number): Uint32Array => Uint32Array.of((0 << 2) | 1, second);
    const words = new BigUint64Array(6).fill(7n);
    expect(() => native.merkleApply([t], log((0 << 2) | 0), words, 2)).toThrow(RangeError); // no kind
    expect(() => native.merkleApply([t], log((1 << 2) | 1), words, 2)).toThrow(RangeError); // beyond trees
    expect(() => native.merkleApply([t, {} as MerkleTree], log((1 << 2) | 1), words, 2)).toThrow(TypeError);
    expect(() => native.merkleApply([t, 5 as unknown as MerkleTree], log((1 << 2) | 1), words, 2)).toThrow(TypeError);
    expect(() => native.merkleApply([t], log(1), words, 3)).toThrow(RangeError); // count beyond meta
    expect(() => native.merkleApply([t], Uint32Array.of(1, 1, 1), words, 3)).toThrow(RangeError); // beyond words
    expect(() => native.merkleApply([t], log(1), words, -1)).toThrow(RangeError);
    expect(() => loose.merkleApply!(t, log(1), words, 2)).toThrow(TypeError);
    expect(() => loose.merkleApply!([t], [1, 1], words, 2)).toThrow(TypeError);
    expect(() => loose.merkleApply!([t], log(1), new BigInt64Array(6), 2)).toThrow(TypeError);
    expect(() => loose.merkleApply!([t], log(1), words, '2')).toThrow(TypeError);
    expect(t.serialize().equals(before)).toBe(true);
    expect(() => refMerkleApply([new RefMerkleTree(16, 4)], log((0 << 2) | 0), words, 2)).toThrow(RangeError);
    expect(() => refMerkleApply([new RefMerkleTree(16, 4)], log((1 << 2) | 1), words, 2)).toThrow(RangeError);
  });

  it('merkleBuild rejects bad entries and shapes', async () => {
    await expect(loose.merkleBuild!([1n, 2n], 16, 16)).rejects.toThrow(TypeError);
    await expect(loose.merkleBuild!(new BigInt64Array(2), 16, 16)).rejects.toThrow(TypeError);
    await expect(loose.merkleBuild!(new BigUint64Array(2), '16', 16)).rejects.toThrow(TypeError);
    await expect(native.merkleBuild(new BigUint64Array(3), 16, 16)).rejects.toThrow(RangeError);
    await expect(native.merkleBuild(new BigUint64Array(2), 12, 16)).rejects.toThrow(RangeError);
    await expect(native.merkleBuild(new BigUint64Array(2), 1 << 21, 16)).rejects.toThrow(RangeError);
    await expect(native.merkleBuild(new BigUint64Array(2), 16, 1)).rejects.toThrow(RangeError);
    await expect(refMerkleBuild(new BigUint64Array(3), 16, 16)).rejects.toThrow(RangeError);
  });

  it('merkleDiff rejects malformed or mismatched serializations', () => {
    const a = new native.MerkleTree(1024, 16).serialize();
    const other = new native.MerkleTree(1024, 256).serialize();
    const bad: Array<[Uint8Array, Uint8Array]> = [
      [a, other], // different shapes
      [a, new native.MerkleTree(2048, 16).serialize()],
      [a.subarray(0, a.length - 1), a.subarray(0, a.length - 1)], // truncated
      [Buffer.concat([a, Buffer.alloc(8)]), Buffer.concat([a, Buffer.alloc(8)])], // trailing bytes
      [a.subarray(0, 7), a.subarray(0, 7)], // shorter than the header
      [new Uint8Array(0), new Uint8Array(0)],
    ];
    const badHeader = Buffer.from(a);
    badHeader.writeUInt32LE(1000, 0);
    bad.push([badHeader, badHeader]);
    const badFanout = Buffer.from(a);
    badFanout.writeUInt32LE(1, 4);
    bad.push([badFanout, badFanout]);
    const huge = Buffer.alloc(16);
    huge.writeUInt32LE(2 ** 31, 0);
    huge.writeUInt32LE(2, 4);
    bad.push([huge, huge]);
    for (const [x, y] of bad) {
      expect(() => native.merkleDiff(x, y)).toThrow(RangeError);
      expect(() => refMerkleDiff(x, y)).toThrow(RangeError);
    }
    expect(() => loose.merkleDiff!(a)).toThrow(TypeError);
    expect(() => loose.merkleDiff!(Array.from(a), a)).toThrow(TypeError);
    expect(() => loose.merkleDiff!(a, new Uint32Array(4))).toThrow(TypeError);
  });
});
