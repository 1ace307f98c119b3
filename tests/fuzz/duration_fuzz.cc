// Fuzz target for the duration parser (tenure/base/duration.h), which reads
// --lease and --idle from flags and config files.
//
// Checks, for every duration that parses:
//   1. It is not negative and not over the documented bound (2^40 ms).
//   2. Written back as "<milliseconds>ms" it parses to the same value.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tenure/base/check.h"
#include "tenure/base/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const tenure::Result<tenure::Duration> parsed = tenure::ParseDuration(text);
  if (!parsed.ok()) {
    TENURE_CHECK(parsed.status().code() == tenure::ErrorCode::kBadRequest);
    return 0;
  }
  const std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed).count();
  TENURE_CHECK(ms >= 0);  // Check (1).
  TENURE_CHECK(ms <= std::int64_t{1} << 40);
  const tenure::Result<tenure::Duration> again =
      tenure::ParseDuration(std::to_string(ms) + "ms");  // Check (2).
  TENURE_CHECK(again.ok());
  TENURE_CHECK(*again == *parsed);
  return 0;
}
