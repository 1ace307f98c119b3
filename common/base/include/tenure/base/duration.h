// Parsing of durations given on the command line or in config files.
#pragma once

#include <string_view>

#include "tenure/base/status.h"
#include "tenure/base/time.h"

namespace tenure {

// "250" (milliseconds), "250ms", "3s", "10m", "1h". Rejects negative, empty,
// unknown units and values that overflow.
Result<Duration> ParseDuration(std::string_view text);

}  // namespace tenure
