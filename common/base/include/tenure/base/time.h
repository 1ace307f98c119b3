// Time in tenure: one monotonic clock, passed in.
//
// Pure cores never read a clock; they take `TimePoint now` as an argument. The
// shells read Clock::now() (steady, so wall-clock jumps do not move leases) and
// the simulator makes up its own time points.
#pragma once

#include <chrono>
#include <cstdint>

namespace tenure {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::milliseconds;

inline std::int64_t ToMillis(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

}  // namespace tenure
