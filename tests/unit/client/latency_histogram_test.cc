#include "tenure/cli/latency_histogram.h"

#include <gtest/gtest.h>

namespace tenure::cli {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), nanoseconds(0));
  EXPECT_EQ(h.max(), nanoseconds(0));
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 31; ++v) {
    h.Record(nanoseconds(v));
  }
  EXPECT_EQ(h.Percentile(0.0), nanoseconds(1));
  EXPECT_EQ(h.Percentile(0.5), nanoseconds(16));
  EXPECT_EQ(h.Percentile(1.0), nanoseconds(31));
}

// 1..100,000 us once each: every percentile within the ~3% of its bucket,
// never below the true value, never above the maximum.
TEST(LatencyHistogram, PercentilesOfAUniformSpreadAreWithinTheBucketWidth) {
  LatencyHistogram h;
  for (int us = 1; us <= 100000; ++us) {
    h.Record(microseconds(us));
  }
  ASSERT_EQ(h.count(), 100000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = q * 100000 * 1000;  // ns
    const auto got = static_cast<double>(h.Percentile(q).count());
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(got, truth * 1.032) << q;
  }
  EXPECT_EQ(h.max(), microseconds(100000));
  EXPECT_EQ(h.Percentile(1.0), microseconds(100000));
}

TEST(LatencyHistogram, ARareSlowValueShowsInTheTailOnly) {
  LatencyHistogram h;
  for (int i = 0; i < 9990; ++i) {
    h.Record(microseconds(100));
  }
  for (int i = 0; i < 10; ++i) {
    h.Record(std::chrono::milliseconds(50));
  }
  EXPECT_LE(h.Percentile(0.99), microseconds(104));
  EXPECT_GE(h.Percentile(0.9995), std::chrono::milliseconds(50));
  EXPECT_EQ(h.max(), std::chrono::milliseconds(50));
}

TEST(LatencyHistogram, HugeAndNegativeValuesStayInRange) {
  LatencyHistogram h;
  h.Record(nanoseconds(-5));
  h.Record(nanoseconds(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.Percentile(0.5), nanoseconds(0));
  EXPECT_EQ(h.max(), nanoseconds(std::numeric_limits<std::int64_t>::max()));
}

}  // namespace
}  // namespace tenure::cli
