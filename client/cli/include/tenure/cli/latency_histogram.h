// LatencyHistogram: latencies in log-spaced buckets (32 per power of two, so
// a reported percentile is at most ~3% above the true one), in a fixed array:
// recording never allocates, so measuring does not disturb what is measured.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace tenure::cli {

class LatencyHistogram {
 public:
  void Record(std::chrono::nanoseconds latency);
  void Clear() { *this = LatencyHistogram(); }

  std::uint64_t count() const { return count_; }
  // The smallest bucket bound at or above a fraction q (0..1) of the values,
  // never above max(); zero when empty.
  std::chrono::nanoseconds Percentile(double q) const;
  std::chrono::nanoseconds max() const { return std::chrono::nanoseconds(max_); }

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int Index(std::uint64_t v);
  static std::uint64_t UpperBound(int index);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace tenure::cli
