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
  exports.Set("hash64Many", Napi::Function::New<Hash64Many>(env, "hash64Many"));
  exports.Set("partitionOf", Napi::Function::New<PartitionOfKey>(env, "partitionOf"));
}

}  // namespace shoal
