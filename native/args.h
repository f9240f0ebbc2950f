// Argument checks shared by every exported function. Each throws a JavaScript
// TypeError or RangeError (a Napi::Error, caught at the addon boundary by
// node-addon-api) instead of reading a value of the wrong type.
#ifndef SHOAL_NATIVE_ARGS_H_
#define SHOAL_NATIVE_ARGS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace shoal {

// A view of the bytes of a Uint8Array/Buffer argument. Valid only during the call.
struct Bytes {
  const uint8_t* data;
  size_t size;
};

inline Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Buffer or Uint8Array");
  }
  auto a = v.As<Napi::Uint8Array>();
  return Bytes{a.Data(), a.ByteLength()};
}

inline Napi::TypedArray ArgTypedArray(const Napi::CallbackInfo& info, size_t i, const char* name,
                                      napi_typedarray_type type) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    const char* want = type == napi_uint32_array       ? "a Uint32Array"
                       : type == napi_biguint64_array ? "a BigUint64Array"
                       : type == napi_uint8_array     ? "a Uint8Array"
                                                      : "a typed array";
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be " + want);
  }
  return v.As<Napi::TypedArray>();
}

// A non-negative integer that fits in a double exactly (<= 2^53 - 1).
inline uint64_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a non-negative safe integer");
  }
  return static_cast<uint64_t>(d);
}

inline uint32_t ArgPowerOfTwo(const Napi::CallbackInfo& info, size_t i, const char* name) {
  uint64_t q = ArgUint(info, i, name);
  if (q == 0 || q > 65536 || (q & (q - 1)) != 0) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a power of two from 1 to 65536");
  }
  return static_cast<uint32_t>(q);
}

inline uint64_t ArgBigUint64(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(name) + " must fit in 64 unsigned bits");
  return x;
}

}  // namespace shoal

#endif  // SHOAL_NATIVE_ARGS_H_
