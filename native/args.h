// Argument checks shared by every exported function. Each throws a JavaScript
// TypeError or RangeError (a Napi::Error, caught at the addon boundary by
// node-addon-api) instead of reading a value of the wrong type. Each reads its
// argument with a single Node-API call: these sit on every hot path.
#ifndef SHOAL_NATIVE_ARGS_H_
#define SHOAL_NATIVE_ARGS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>

namespace shoal {

// A view of the bytes of a Uint8Array/Buffer argument. Valid only during the call.
// data may be null when size is 0.
struct Bytes {
  const uint8_t* data;
  size_t size;
};

// A view of a typed array argument: its first element and its element count.
// Valid only during the call.
struct TypedView {
  void* data;
  size_t length;
};

inline const char* TypedArrayName(napi_typedarray_type type) {
  return type == napi_uint32_array       ? "a Uint32Array"
         : type == napi_biguint64_array ? "a BigUint64Array"
         : type == napi_uint8_array     ? "a Buffer or Uint8Array"
                                        : "a typed array";
}

// The typed array argument i of the given type, else a TypeError.
inline TypedView ArgTypedView(const Napi::CallbackInfo& info, size_t i, const char* name,
                              napi_typedarray_type type) {
  napi_typedarray_type actual;
  size_t length = 0;
  void* data = nullptr;
  // Fails with napi_invalid_arg (no JavaScript exception pending) for anything
  // that is not a typed array.
  napi_status s = napi_get_typedarray_info(info.Env(), info[i], &actual, &length, &data, nullptr, nullptr);
  if (s != napi_ok || actual != type) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be " + TypedArrayName(type));
  }
  return TypedView{data, length};
}

inline Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  TypedView v = ArgTypedView(info, i, name, napi_uint8_array);
  return Bytes{static_cast<const uint8_t*>(v.data), v.length};
}

inline Napi::TypedArray ArgTypedArray(const Napi::CallbackInfo& info, size_t i, const char* name,
                                      napi_typedarray_type type) {
  ArgTypedView(info, i, name, type);
  return info[i].As<Napi::TypedArray>();
}

// A non-negative integer that fits in a double exactly (<= 2^53 - 1).
inline uint64_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d;
  if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a non-negative safe integer");
  }
  return static_cast<uint64_t>(d);
}

// An integer from 1 to 2^53 - 1 (a counter, a bound).
inline uint64_t ArgPositive(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d;
  if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  if (!(d >= 1) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer from 1 to 2^53-1");
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
  bool lossless = false;
  uint64_t x = 0;
  if (napi_get_value_bigint_uint64(info.Env(), info[i], &x, &lossless) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a bigint");
  }
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(name) + " must fit in 64 unsigned bits");
  return x;
}

// Register as Napi::Function::New<Checked<F>>(env, name): runs F and turns a
// std:: exception (std::bad_alloc, ...) into a JavaScript error, so none crosses
// the addon boundary; Napi::Error passes through to node-addon-api.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Checked(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

}  // namespace shoal

#endif  // SHOAL_NATIVE_ARGS_H_
