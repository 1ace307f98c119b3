#include "sim/sim_world.h"

#include <gtest/gtest.h>

namespace tenure::sim {
namespace {

TEST(SimWorld, SameSeedGivesTheSameRun) {
  SimOptions options;
  const RunResult a = RunSeed(options, 7);
  const RunResult b = RunSeed(options, 7);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.stats.events, b.stats.events);
  EXPECT_EQ(a.tail, b.tail);
  EXPECT_TRUE(a.ok());
}

TEST(SimWorld, SameSeedGivesTheSameRunInLocksimsModel) {
  SimOptions options;
  options.colocate = false;
  options.routing = Routing::kLastSender;
  const RunResult a = RunSeed(options, 11);
  const RunResult b = RunSeed(options, 11);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.tail, b.tail);
}

TEST(SimWorld, DifferentSeedsGiveDifferentRuns) {
  SimOptions options;
  EXPECT_NE(RunSeed(options, 7).trace_hash, RunSeed(options, 8).trace_hash);
}

}  // namespace
}  // namespace tenure::sim
