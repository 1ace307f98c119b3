#include "tenure/base/duration.h"

#include <charconv>
#include <limits>
#include <string>

namespace tenure {
namespace {

// Appends instead of chaining operator+: GCC 12 warns falsely (-Wrestrict) on
// chains that start with a literal.
Status BadDuration(std::string_view text, std::string_view why) {
  std::string msg = "duration '";
  msg += text;
  msg += "': ";
  msg += why;
  return Status::BadRequest(std::move(msg));
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  std::uint64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) {
    return BadDuration(text, "not a number (examples: 500, 500ms, 3s, 10m, 1h)");
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  std::uint64_t ms_per_unit = 0;
  if (unit.empty() || unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 3600 * 1000;
  } else {
    return BadDuration(text, "unknown unit (use ms, s, m or h)");
  }
  constexpr std::uint64_t kMillisMax = std::uint64_t{1} << 40;  // About 35 years.
  if (value > kMillisMax / ms_per_unit) {
    return BadDuration(text, "too long");
  }
  return Duration(std::chrono::milliseconds(static_cast<std::int64_t>(value * ms_per_unit)));
}

}  // namespace tenure
