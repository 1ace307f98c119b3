#include "tests/sim/checkers.h"

#include <gtest/gtest.h>

#include "tests/sim/sim_store.h"

namespace tenure::sim {
namespace {

TEST(CheckOneServer, AcceptsNoneOrOneHolder) {
  EXPECT_FALSE(CheckOneServer("x", {}).has_value());
  EXPECT_FALSE(CheckOneServer("x", {"A"}).has_value());
}

TEST(CheckOneServer, ReportsTwoHolders) {
  const auto v = CheckOneServer("x", {"A", "B#2"});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, ViolationKind::kDoubleServing);
  EXPECT_EQ(v->text, "x served by A, B#2 at once");
}

TEST(SimStore, ActivationBumpsTheEpoch) {
  SimStore store({"x"}, /*fence=*/true);
  EXPECT_EQ(store.Activate("x", "A").epoch, 1u);
  const auto second = store.Activate("x", "B");
  EXPECT_EQ(second.epoch, 2u);
  EXPECT_FALSE(second.violation.has_value());
}

TEST(SimStore, FencedStoreRejectsADeposedWrite) {
  SimStore store({"x"}, /*fence=*/true);
  const auto a = store.Activate("x", "A");
  store.Activate("x", "B");
  const auto w = store.Write("x", a.epoch, "late", "A");
  EXPECT_FALSE(w.ok);
  EXPECT_FALSE(w.violation.has_value());
  EXPECT_EQ(store.row("x").version, 0u);
}

TEST(SimStore, UnfencedStoreAppliesAndReportsADeposedWrite) {
  SimStore store({"x"}, /*fence=*/false);
  const auto a = store.Activate("x", "A");
  store.Activate("x", "B");
  const auto w = store.Write("x", a.epoch, "late", "A");
  EXPECT_TRUE(w.ok);
  ASSERT_TRUE(w.violation.has_value());
  EXPECT_EQ(w.violation->kind, ViolationKind::kDeposedWrite);
}

TEST(CheckRead, AcceptsTheNewestAcknowledgedVersion) {
  SimStore store({"x"}, true);
  const auto a = store.Activate("x", "A");
  ASSERT_TRUE(store.Write("x", a.epoch, "one", "A").ok);
  EXPECT_FALSE(CheckRead(store, "x", "A", 1, "one", 1).has_value());
}

TEST(CheckRead, ReportsAStaleRead) {
  SimStore store({"x"}, true);
  const auto a = store.Activate("x", "A");
  ASSERT_TRUE(store.Write("x", a.epoch, "one", "A").ok);
  const auto v = CheckRead(store, "x", "B", 0, "v0", 1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, ViolationKind::kStaleRead);
}

TEST(CheckRead, ReportsAnUncommittedValue) {
  SimStore store({"x"}, true);
  const auto v = CheckRead(store, "x", "A", 0, "never written", 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, ViolationKind::kUncommittedRead);
}

TEST(LivenessChecker, CountsGapsAfterHealOnly) {
  LivenessChecker live({"x"}, /*heal=*/1000, /*bound=*/100);
  live.Served("x", 10);  // Before heal: ignored.
  live.Served("x", 1050);
  live.Served("x", 1140);
  EXPECT_TRUE(live.Finish(1200).empty());
  const auto late = live.Finish(1300);  // 160 since the last serve.
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].name, "x");
}

TEST(LivenessChecker, ReportsANameNeverServedAfterHeal) {
  LivenessChecker live({"x", "y"}, 1000, 100);
  live.Served("x", 1050);
  const auto out = live.Finish(1120);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "y");
}

}  // namespace
}  // namespace tenure::sim
