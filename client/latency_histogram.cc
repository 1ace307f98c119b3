#include "tenure/cli/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tenure::cli {

// Values below kSub have a bucket each; above, bucket (e - kSubBits + 1, s)
// holds [2^e + s * 2^(e-kSubBits), 2^e + (s+1) * 2^(e-kSubBits)).
int LatencyHistogram::Index(std::uint64_t v) {
  if (v < kSub) {
    return static_cast<int>(v);
  }
  const int e = 63 - std::countl_zero(v);
  const int sub = static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
  return (e - kSubBits + 1) * kSub + sub;
}

std::uint64_t LatencyHistogram::UpperBound(int index) {
  if (index < kSub) {
    return static_cast<std::uint64_t>(index);
  }
  const int e = index / kSub + kSubBits - 1;
  const std::uint64_t sub = static_cast<std::uint64_t>(index % kSub);
  const std::uint64_t low = (std::uint64_t{kSub} + sub) << (e - kSubBits);
  return low + (std::uint64_t{1} << (e - kSubBits)) - 1;
}

void LatencyHistogram::Record(std::chrono::nanoseconds latency) {
  const std::uint64_t v = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  ++buckets_[static_cast<std::size_t>(Index(v))];
  ++count_;
  max_ = std::max(max_, v);
}

std::chrono::nanoseconds LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) {
    return std::chrono::nanoseconds(0);
  }
  const auto rank = static_cast<std::uint64_t>(
      std::max(1.0, std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[static_cast<std::size_t>(i)];
    if (seen >= rank) {
      return std::chrono::nanoseconds(std::min(UpperBound(i), max_));
    }
  }
  return std::chrono::nanoseconds(max_);
}

}  // namespace tenure::cli
