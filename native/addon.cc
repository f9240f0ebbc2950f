// Registers every native function of Shoal. Each concern lives in its own file;
// JavaScript sees them through src/native.ts only.
#include <napi.h>

#include "hash.h"
#include "merkle.h"
#include "vclock.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  shoal::InitHash(env, exports);
  shoal::InitClock(env, exports);
  shoal::InitMerkle(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(shoal, Init)
