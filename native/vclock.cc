#include "vclock.h"

namespace shoal {

void InitClock(Napi::Env env, Napi::Object exports) {}

}  // namespace shoal
