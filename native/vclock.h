// TODO(issue 2): contract of each function (see src/native.ts and docs/architecture.md).
#ifndef SHOAL_NATIVE_VCLOCK_H_
#define SHOAL_NATIVE_VCLOCK_H_

#include <napi.h>

namespace shoal {

void InitClock(Napi::Env env, Napi::Object exports);

}  // namespace shoal

#endif  // SHOAL_NATIVE_VCLOCK_H_
