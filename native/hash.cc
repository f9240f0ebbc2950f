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
  Napi::TypedArray offsetsArg = ArgTypedArray(info, 1, "offsets", napi_uint32_array);
  Napi::TypedArray outArg = ArgTypedArray(info, 2, "out", napi_biguint64_array);
  auto offsets = offsetsArg.As<Napi::Uint32Array>();
  auto out = outArg.As<Napi::BigUint64Array>();
  size_t n = offsets.ElementLength();
  if (n == 0) return info.Env().Undefined();
  if (out.ElementLength() < n - 1) {
    throw Napi::RangeError::New(info.Env(), "out is shorter than the number of keys");
  }
  const uint32_t* off = offsets.Data();
  uint64_t* dst = out.Data();
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
  exports.Set("hash64", Napi::Function::New(env, Hash64, "hash64"));
  exports.Set("hash64Many", Napi::Function::New(env, Hash64Many, "hash64Many"));
  exports.Set("partitionOf", Napi::Function::New(env, PartitionOfKey, "partitionOf"));
}

}  // namespace shoal
