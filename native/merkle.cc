#include "merkle.h"

namespace shoal {

void InitMerkle(Napi::Env env, Napi::Object exports) {}

}  // namespace shoal
