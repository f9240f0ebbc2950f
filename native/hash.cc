#include "hash.h"

#include "args.h"
#include "xxhash.h"

namespace shoal {

uint64_t KeyHash(const uint8_t* data, size_t len) {
  return XXH64(data, len, 0);
}

namespace {

// hash64(key: Uint8Array): bigint
Napi::Value Hash64(const Napi::CallbackInfo& info) {
  Bytes key = ArgBytes(info, 0, "key");
  return Napi::BigInt::New(info.Env(), KeyHash(key.data, key.size));
}

// hash64Into(key: Uint8Array, out: Uint8Array, offset: number): void
// Writes the hash big-endian into out[offset, offset + 8): no BigInt is made.
Napi::Value Hash64Into(const Napi::CallbackInfo& info) {
  Bytes key = ArgBytes(info, 0, "key");
  TypedView out = ArgTypedView(info, 1, "out", napi_uint8_array);
  uint64_t offset = ArgUint(info, 2, "offset");
  if (out.length < 8 || offset > out.length - 8) {
    throw Napi::RangeError::New(info.Env(), "offset + 8 is beyond out");
  }
  uint64_t h = KeyHash(key.data, key.size);
  uint8_t* dst = static_cast<uint8_t*>(out.data) + offset;
  for (int i = 7; i >= 0; i--, h >>= 8) dst[i] = static_cast<uint8_t>(h);
  return info.Env().Undefined();
}

// hash64Many(keys: Uint8Array, offsets: Uint32Array, out: BigUint64Array): void
// Key i is keys[offsets[i], offsets[i+1]); out receives offsets.length - 1 hashes.
Napi::Value Hash64Many(const Napi::CallbackInfo& info) {
  Bytes keys = ArgBytes(info, 0, "keys");
  TypedView offsets = ArgTypedView(info, 1, "offsets", napi_uint32_array);
  TypedView out = ArgTypedView(info, 2, "out", napi_biguint64_array);
  size_t n = offsets.length;
  if (n == 0) return info.Env().Undefined();
  if (out.length < n - 1) {
    throw Napi::RangeError::New(info.Env(), "out is shorter than the number of keys");
  }
  const uint32_t* off = static_cast<const uint32_t*>(offsets.data);
  uint64_t* dst = static_cast<uint64_t*>(out.data);
  for (size_t i = 0; i + 1 < n; i++) {
    if (off[i] > off[i + 1] || off[i + 1] > keys.size) {
      throw Napi::RangeError::New(info.Env(), "offsets must be ascending and within keys");
    }
    dst[i] = KeyHash(keys.data + off[i], off[i + 1] - off[i]);
  }
  return info.Env().Undefined();
}

// partitionOf(key: Uint8Array, q: number): number
Napi::Value PartitionOfKey(const Napi::CallbackInfo& info) {
  Bytes key = ArgBytes(info, 0, "key");
  uint32_t q = ArgPowerOfTwo(info, 1, "q");
  return Napi::Number::New(info.Env(), PartitionOf(KeyHash(key.data, key.size), q));
}

}  // namespace

void InitHash(Napi::Env env, Napi::Object exports) {
  exports.Set("hash64", Napi::Function::New<Hash64>(env, "hash64"));
  exports.Set("hash64Into", Napi::Function::New<Hash64Into>(env, "hash64Into"));
  exports.Set("hash64Many", Napi::Function::New<Hash64Many>(env, "hash64Many"));
  exports.Set("partitionOf", Napi::Function::New<PartitionOfKey>(env, "partitionOf"));
}

}  // namespace shoal
