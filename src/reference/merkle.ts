// Merkle trees as docs/architecture.md ("Merkle trees") defines them, written for
// clarity: the specification native/merkle.cc is tested against. Root and serialize
// rehash the whole tree whenever anything changed.
import xxhash from 'xxhash-addon';

const { XXHash64 } = xxhash;

const MAX_SEGMENTS = 1 << 20;
const MAX_FANOUT = 256;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/** Level sizes bottom-up (leaves first); RangeError/TypeError for an invalid shape. */
function levelSizes(segments: number, fanout: number): number[] {
  if (typeof segments !== 'number') throw new TypeError('segments must be a number');
  if (typeof fanout !== 'number') throw new TypeError('fanout must be a number');
  if (!isPowerOfTwo(segments) || segments > MAX_SEGMENTS) {
    throw new RangeError('segments must be a power of two from 1 to 2^20');
  }
  if (!isPowerOfTwo(fanout) || fanout < 2 || fanout > MAX_FANOUT) {
    throw new RangeError('fanout must be a power of two from 2 to 256');
  }
  const sizes = [segments];
  for (let n = segments; n > 1; ) {
    n = Math.ceil(n / fanout);
    sizes.push(n);
  }
  return sizes;
}

function hashWordsLE(words: BigUint64Array, first: number, end: number): bigint {
  const bytes = Buffer.allocUnsafe(8 * (end - first));
  for (let i = first; i < end; i++) bytes.writeBigUInt64LE(words[i]!, 8 * (i - first));
  return XXHash64.hash(bytes).readBigUInt64BE(0);
}

/** XXH64(keyHash as u64 LE || digest as u64 LE). */
export function refMerkleEntryHash(keyHash: bigint, digest: bigint): bigint {
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeBigUInt64LE(keyHash, 0);
  bytes.writeBigUInt64LE(digest, 8);
  return XXHash64.hash(bytes).readBigUInt64BE(0);
}

export class RefMerkleTree {
  readonly segments: number;
  readonly fanout: number;
  /** levels[0] holds the leaves; the last level holds the root. */
  readonly #levels: BigUint64Array[];
  #dirty = true;

  constructor(segments: number, fanout: number) {
    const sizes = levelSizes(segments, fanout);
    this.segments = segments;
    this.fanout = fanout;
    this.#levels = sizes.map((n) => new BigUint64Array(n));
  }

  add(keyHash: bigint, digest: bigint): void {
    const h = refMerkleEntryHash(keyHash, digest);
    const leaves = this.#levels[0]!;
    const s = this.#segmentOf(keyHash);
    leaves[s] = leaves[s]! + h; // a BigUint64Array stores modulo 2^64
    this.#dirty = true;
  }

  remove(keyHash: bigint, digest: bigint): void {
    const h = refMerkleEntryHash(keyHash, digest);
    const leaves = this.#levels[0]!;
    const s = this.#segmentOf(keyHash);
    leaves[s] = leaves[s]! - h;
    this.#dirty = true;
  }

  update(keyHash: bigint, oldDigest: bigint, newDigest: bigint): void {
    this.remove(keyHash, oldDigest);
    this.add(keyHash, newDigest);
  }

  root(): bigint {
    this.#rehash();
    return this.#levels[this.#levels.length - 1]![0]!;
  }

  serialize(): Buffer {
    this.#rehash();
    const total = this.#levels.reduce((sum, level) => sum + level.length, 0);
    const out = Buffer.alloc(8 + 8 * total);
    out.writeUInt32LE(this.segments, 0);
    out.writeUInt32LE(this.fanout, 4);
    let at = 8;
    for (let k = this.#levels.length - 1; k >= 0; k--) {
      for (const h of this.#levels[k]!) {
        out.writeBigUInt64LE(h, at);
        at += 8;
      }
    }
    return out;
  }

  #segmentOf(keyHash: bigint): number {
    return Number(keyHash & BigInt(this.segments - 1));
  }

  #rehash(): void {
    if (!this.#dirty) return;
    for (let k = 1; k < this.#levels.length; k++) {
      const below = this.#levels[k - 1]!;
      const level = this.#levels[k]!;
      for (let j = 0; j < level.length; j++) {
        const first = j * this.fanout;
        level[j] = hashWordsLE(below, first, Math.min(first + this.fanout, below.length));
      }
    }
    this.#dirty = false;
  }
}

/** merkleApply, one entry at a time (see NativeAddon.merkleApply). */
export function refMerkleApply(trees: readonly (RefMerkleTree | undefined)[], meta: Uint32Array, words: BigUint64Array, count: number): void {
  if (count > meta.length || count > Math.floor(words.length / 3)) throw new RangeError('count exceeds the entries that meta and words hold');
  for (let i = 0; i < count; i++) {
    if ((meta[i]! & 3) === 0) throw new RangeError(`meta[${i}] has no kind`);
    if (meta[i]! >>> 2 >= trees.length) throw new RangeError(`meta[${i}] names partition ${meta[i]! >>> 2} beyond trees`);
  }
  for (let i = 0; i < count; i++) {
    const t = trees[meta[i]! >>> 2];
    if (t === undefined) continue;
    const [keyHash, before, after] = [words[3 * i]!, words[3 * i + 1]!, words[3 * i + 2]!];
    const kind = meta[i]! & 3;
    if (kind === 1) t.add(keyHash, after);
    else if (kind === 2) t.remove(keyHash, before);
    else t.update(keyHash, before, after);
  }
}

/** Builds a tree from interleaved (keyHash, digest) pairs. */
export async function refMerkleBuild(entries: BigUint64Array, segments: number, fanout: number): Promise<RefMerkleTree> {
  if (!(entries instanceof BigUint64Array)) throw new TypeError('entries must be a BigUint64Array');
  if (entries.length % 2 !== 0) throw new RangeError('entries must hold (keyHash, digest) pairs: its length must be even');
  const tree = new RefMerkleTree(segments, fanout);
  for (let i = 0; i < entries.length; i += 2) tree.add(entries[i]!, entries[i + 1]!);
  tree.root();
  return tree;
}

interface ParsedTree {
  sizes: number[]; // bottom-up
  offsets: number[]; // byte offset of each level's first node, bottom-up as sizes
  bytes: Uint8Array;
}

function parseTree(bytes: Uint8Array, name: string): ParsedTree {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer or Uint8Array`);
  if (bytes.length < 8) throw new RangeError(`${name} is shorter than the 8-byte Merkle tree header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sizes: number[];
  try {
    sizes = levelSizes(view.getUint32(0, true), view.getUint32(4, true));
  } catch (e) {
    throw new RangeError(`${name} has an invalid shape`, { cause: e });
  }
  const offsets = new Array<number>(sizes.length);
  let at = 8;
  for (let k = sizes.length - 1; k >= 0; k--) {
    offsets[k] = at;
    at += 8 * sizes[k]!;
  }
  if (bytes.length !== at) throw new RangeError(`${name} has ${bytes.length} bytes; its shape needs ${at}`);
  return { sizes, offsets, bytes };
}

/** Leaf indices, ascending, where two serialized trees differ, descending from the root. */
export function refMerkleDiff(a: Uint8Array, b: Uint8Array): Uint32Array {
  const ta = parseTree(a, 'a');
  const tb = parseTree(b, 'b');
  for (let i = 0; i < 8; i++) {
    if (a[i] !== b[i]) throw new RangeError('a and b are Merkle trees of different shapes');
  }
  const fanout = new DataView(a.buffer, a.byteOffset, 8).getUint32(4, true);
  const differs = (level: number, index: number): boolean => {
    const at = ta.offsets[level]! + 8 * index;
    for (let i = 0; i < 8; i++) {
      if (ta.bytes[at + i] !== tb.bytes[at + i]) return true;
    }
    return false;
  };
  const top = ta.sizes.length - 1;
  let frontier = differs(top, 0) ? [0] : [];
  for (let k = top; k > 0; k--) {
    const next: number[] = [];
    for (const j of frontier) {
      const end = Math.min((j + 1) * fanout, ta.sizes[k - 1]!);
      for (let c = j * fanout; c < end; c++) if (differs(k - 1, c)) next.push(c);
    }
    frontier = next;
  }
  return Uint32Array.from(frontier);
}
