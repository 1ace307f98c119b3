#include "tenure/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace tenure::internal {

void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: TENURE_CHECK failed: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace tenure::internal
