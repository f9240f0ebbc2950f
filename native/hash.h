// Key hashing: 64-bit xxHash (XXH64, seed 0) of the key bytes.
// A key's partition among Q (a power of two, 1..2^16) is the top log2(Q) bits.
#ifndef SHOAL_NATIVE_HASH_H_
#define SHOAL_NATIVE_HASH_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace shoal {

// XXH64 with seed 0. Equal to xxhash-addon's XXHash64.hash() read big-endian.
uint64_t KeyHash(const uint8_t* data, size_t len);

// Partition index of a hash for q partitions; q must be a power of two.
inline uint32_t PartitionOf(uint64_t hash, uint32_t q) {
  if (q <= 1) return 0;
  return static_cast<uint32_t>(hash >> (64 - __builtin_ctz(q)));
}

// Registers hash64, hash64Into, hash64Many, partitionOf on exports.
void InitHash(Napi::Env env, Napi::Object exports);

}  // namespace shoal

#endif  // SHOAL_NATIVE_HASH_H_
