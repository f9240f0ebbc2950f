// The typed face of the C++ addon (native/). Everything native is reached through
// this module; argument errors arrive as TypeError / RangeError.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

/** Result of comparing two version vectors. */
export const Order = {
  Before: -1, // a is strictly dominated by b
  Equal: 0,
  After: 1, // a strictly dominates b
  Concurrent: 2,
} as const;
export type Order = (typeof Order)[keyof typeof Order];

/** A Merkle tree over (key hash, version digest) entries of one partition. */
export interface MerkleTree {
  readonly segments: number;
  readonly fanout: number;
  /** Adds an entry to its segment (segment = keyHash & (segments - 1)). */
  add(keyHash: bigint, digest: bigint): void;
  /** Removes an entry added earlier; removing one never added corrupts nothing but the hashes. */
  remove(keyHash: bigint, digest: bigint): void;
  /** Replaces one entry's digest: remove(old) then add(new). */
  update(keyHash: bigint, oldDigest: bigint, newDigest: bigint): void;
  /** The root hash; recomputes only the paths dirtied since the last call. */
  root(): bigint;
  /** Every node hash, root level first (format in docs/architecture.md). */
  serialize(): Buffer;
}

export interface MerkleTreeConstructor {
  /** segments and fanout: powers of two; segments 1..2^20, fanout 2..256. */
  new (segments: number, fanout: number): MerkleTree;
}

export interface NativeAddon {
  // ---- hashing (native/hash.cc)
  /** XXH64 (seed 0) of the key bytes. */
  hash64(key: Uint8Array): bigint;
  /** Writes hash64(key) big-endian into out[offset..offset+8): the hash without a BigInt. */
  hash64Into(key: Uint8Array, out: Uint8Array, offset: number): void;
  /** Hashes keys[offsets[i]..offsets[i+1]) into out[i] for every i < offsets.length - 1. */
  hash64Many(keys: Uint8Array, offsets: Uint32Array, out: BigUint64Array): void;
  /** Top log2(q) bits of hash64(key); q is a power of two from 1 to 65536. */
  partitionOf(key: Uint8Array, q: number): number;

  // ---- version vectors and dots (native/vclock.cc); encodings in docs/architecture.md
  /** Orders two encoded version vectors. */
  vvCompare(a: Uint8Array, b: Uint8Array): Order;
  /** Pointwise maximum of two encoded version vectors, canonically encoded. */
  vvMerge(a: Uint8Array, b: Uint8Array): Buffer;
  /** vv with actor's counter raised to at least `counter`. */
  vvEvent(vv: Uint8Array, actor: bigint, counter: number): Buffer;
  /** actor's counter in vv; 0 when absent. */
  vvGet(vv: Uint8Array, actor: bigint): number;
  /** vv without its entries of smallest counter, keeping at most maxEntries. */
  vvPrune(vv: Uint8Array, maxEntries: number): Buffer;
  /** Number of entries; throws RangeError when the encoding is malformed. */
  vvValidate(vv: Uint8Array): number;
  /** For each 16-byte dot in dots, 1 when vv covers it (vv[actor] >= counter), else 0. */
  dotsCoveredBy(vv: Uint8Array, dots: Uint8Array): Uint8Array;
  /**
   * Which dots survive the join of two replicas' states (clockA, dotsA) and (clockB, dotsB).
   * Returns flags for dotsA followed by flags for dotsB: a dot of A survives when B also
   * holds it or B's clock does not cover it; a dot of B survives when A does not hold it
   * and A's clock does not cover it (a dot held by both is kept once, from A).
   */
  dotSync(clockA: Uint8Array, dotsA: Uint8Array, clockB: Uint8Array, dotsB: Uint8Array): Uint8Array;

  // ---- Merkle trees (native/merkle.cc)
  MerkleTree: MerkleTreeConstructor;
  /**
   * Builds a tree off the main thread from interleaved (keyHash, digest) pairs.
   * The entries are copied before the promise is returned.
   */
  merkleBuild(entries: BigUint64Array, segments: number, fanout: number): Promise<MerkleTree>;
  /** Ascending indices of the leaf segments where two serialized trees of one shape differ. */
  merkleDiff(a: Uint8Array, b: Uint8Array): Uint32Array;
  /** The hash an entry contributes to its segment: XXH64(keyHash LE || digest LE). */
  merkleEntryHash(keyHash: bigint, digest: bigint): bigint;
  /**
   * Applies `count` logged changes in one call. Entry i: meta[i] = partition << 2 |
   * kind (1 add, 2 remove, 3 update); words[3i..3i+2] = keyHash, old digest, new
   * digest (the unused one ignored); it goes to trees[partition], or nowhere when that
   * is undefined. A bad entry (no kind, a partition beyond trees, a tree that is not a
   * MerkleTree) throws before any tree changes.
   */
  merkleApply(trees: readonly (MerkleTree | undefined)[], meta: Uint32Array, words: BigUint64Array, count: number): void;
}

function load(): NativeAddon {
  const root = packageRoot();
  const candidates = [join(root, 'build', 'Release', 'shoal.node'), join(root, 'build', 'Debug', 'shoal.node')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(`shoal: the native addon is not built (looked for ${candidates.join(', ')}); run "npm ci" or "npm run build"`);
  }
  return createRequire(import.meta.url)(found) as NativeAddon;
}

export const native: NativeAddon = load();
