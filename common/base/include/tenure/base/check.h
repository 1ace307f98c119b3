// TENURE_CHECK: programmer-error assertions that stay on in release builds.
//
// A failed check means an invariant of our own code is broken, never that the
// network or a user sent something bad (that is a Status). It prints file and
// line and aborts.
#pragma once

namespace tenure::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);
}  // namespace tenure::internal

#define TENURE_CHECK(condition)                                        \
  do {                                                                 \
    if (!(condition)) {                                                \
      ::tenure::internal::CheckFailed(__FILE__, __LINE__, #condition); \
    }                                                                  \
  } while (false)
