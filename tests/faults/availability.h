// Availability of a run, from its history: per second of the run, how many
// operations completed ok, failed, or were left indeterminate, and the
// longest stretch in which no operation succeeded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "history/history.h"

namespace tenure::faults {

struct SecondCounts {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t indeterminate = 0;
};

struct Availability {
  std::vector<SecondCounts> seconds;  // [i]: operations invoked in second i of the run.
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t indeterminate = 0;
  // The longest interval between `begin_ns` and `end_ns` containing no
  // successful completion, and where it started (relative to begin_ns).
  std::int64_t longest_gap_ns = 0;
  std::int64_t longest_gap_from_ns = 0;
};

// Counts the operations invoked in [begin_ns, end_ns).
Availability Measure(const std::vector<history::Op>& ops, std::int64_t begin_ns,
                     std::int64_t end_ns);

// "ok 812/s, failed 3/s, indeterminate 1/s; longest with no success 2.41 s at 17.2 s"
std::string Summary(const Availability& a);

}  // namespace tenure::faults
