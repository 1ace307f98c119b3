#include "faults/availability.h"

#include <algorithm>
#include <cstdio>

namespace tenure::faults {

namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;

}  // namespace

Availability Measure(const std::vector<history::Op>& ops, std::int64_t begin_ns,
                     std::int64_t end_ns) {
  Availability a;
  if (end_ns <= begin_ns) {
    return a;
  }
  a.seconds.resize(static_cast<std::size_t>((end_ns - begin_ns + kSecondNs - 1) / kSecondNs));
  std::vector<std::int64_t> successes;
  for (const history::Op& op : ops) {
    if (op.invoke_ns < begin_ns || op.invoke_ns >= end_ns) {
      continue;
    }
    SecondCounts& s = a.seconds[static_cast<std::size_t>((op.invoke_ns - begin_ns) / kSecondNs)];
    switch (op.outcome) {
      case history::Outcome::kOk:
        ++s.ok;
        ++a.ok;
        successes.push_back(op.complete_ns);
        break;
      case history::Outcome::kFailed:
        ++s.failed;
        ++a.failed;
        break;
      case history::Outcome::kIndeterminate:
        ++s.indeterminate;
        ++a.indeterminate;
        break;
    }
  }
  std::sort(successes.begin(), successes.end());
  std::int64_t last = begin_ns;
  auto consider = [&](std::int64_t at) {
    at = std::min(at, end_ns);
    if (at - last > a.longest_gap_ns) {
      a.longest_gap_ns = at - last;
      a.longest_gap_from_ns = last - begin_ns;
    }
    last = std::max(last, at);
  };
  for (std::int64_t t : successes) {
    consider(t);
  }
  consider(end_ns);
  return a;
}

std::string Summary(const Availability& a) {
  const double secs = std::max<double>(1.0, static_cast<double>(a.seconds.size()));
  char line[256];
  std::snprintf(line, sizeof line,
                "ok %.0f/s, failed %.1f/s, indeterminate %.1f/s (%llu / %llu / %llu); "
                "longest with no success %.2f s at %.1f s",
                static_cast<double>(a.ok) / secs, static_cast<double>(a.failed) / secs,
                static_cast<double>(a.indeterminate) / secs, static_cast<unsigned long long>(a.ok),
                static_cast<unsigned long long>(a.failed),
                static_cast<unsigned long long>(a.indeterminate),
                static_cast<double>(a.longest_gap_ns) / 1e9,
                static_cast<double>(a.longest_gap_from_ns) / 1e9);
  return line;
}

}  // namespace tenure::faults
