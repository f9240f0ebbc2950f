import xxhash from 'xxhash-addon';

const { XXHash64 } = xxhash;

/** XXH64 (seed 0) through xxhash-addon, read big-endian. */
export function refHash64(key: Uint8Array): bigint {
  return XXHash64.hash(Buffer.from(key.buffer, key.byteOffset, key.byteLength)).readBigUInt64BE(0);
}

export function refPartitionOf(key: Uint8Array, q: number): number {
  if (q <= 1) return 0;
  return Number(refHash64(key) >> BigInt(64 - Math.log2(q)));
}
