#include "sim/checkers.h"

#include <gtest/gtest.h>

#include "sim/sim_store.h"

namespace tenure::sim {
namespace {

using namespace tenure::literals;

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

// One op as a batch of its own, at store generation 1.
store::StoreResult Apply(SimStore& store, store::StoreOp op,
                         StoreGeneration generation = StoreGeneration(1)) {
  const store::Job job{1, std::move(op), generation};
  return store.Apply({&job, 1}, StoreGeneration(1), "A").front();
}

Epoch Activate(SimStore& store, const NodeId& node) {
  return Apply(store, store::ActivateOp{"x", node}).epoch;
}

store::StoreResult Write(SimStore& store, Epoch epoch, Version version, const std::string& state) {
  return Apply(store, store::WriteOp{"x", epoch, version, state});
}

TEST(SimStore, ActivationBumpsTheEpochAndReturnsTheRow) {
  SimStore store({"x"}, /*fence=*/true);
  EXPECT_EQ(Activate(store, "A"), 1_epoch);
  const store::StoreResult second = Apply(store, store::ActivateOp{"x", "B"});
  EXPECT_EQ(second.epoch, 2_epoch);
  ASSERT_TRUE(second.row.has_value());
  EXPECT_EQ(second.row->owner_node, "B");
  EXPECT_EQ(second.row->version, 1_version);
  EXPECT_FALSE(store.violation().has_value());
}

TEST(SimStore, FencedStoreRejectsADeposedWrite) {
  SimStore store({"x"}, /*fence=*/true);
  const Epoch a = Activate(store, "A");
  Activate(store, "B");
  const store::StoreResult w = Write(store, a, 1_version, "working");
  EXPECT_TRUE(w.fenced);
  EXPECT_EQ(w.status.code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(store.violation().has_value());
  EXPECT_EQ(store.row("x").version, 1_version);
}

TEST(SimStore, AWriteWithAnOldVersionIsFencedToo) {
  SimStore store({"x"}, /*fence=*/true);
  const Epoch a = Activate(store, "A");
  ASSERT_TRUE(Write(store, a, 1_version, "working").status.ok());
  EXPECT_TRUE(Write(store, a, 1_version, "finalized").fenced);
  EXPECT_EQ(store.row("x").state, "working");
}

TEST(SimStore, UnfencedStoreAppliesAndReportsADeposedWrite) {
  SimStore store({"x"}, /*fence=*/false);
  const Epoch a = Activate(store, "A");
  Activate(store, "B");
  EXPECT_TRUE(Write(store, a, 1_version, "working").status.ok());
  ASSERT_TRUE(store.violation().has_value());
  EXPECT_EQ(store.violation()->kind, ViolationKind::kDeposedWrite);
}

TEST(SimStore, JobsOfAnOlderGenerationThatDependOnACacheAreRefused) {
  SimStore store({"x"}, /*fence=*/true);
  const Epoch a = Activate(store, "A");
  const store::Job job{1, store::WriteOp{"x", a, 1_version, "working"}, StoreGeneration(1)};
  const store::StoreResult r = store.Apply({&job, 1}, StoreGeneration(2), "A").front();
  EXPECT_EQ(r.status.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store.row("x").version, 1_version);
}

TEST(SimStore, AReleaseClosesOnlyItsOwnTenure) {
  SimStore store({"x"}, /*fence=*/true);
  const Epoch a = Activate(store, "A");
  Activate(store, "B");
  Apply(store, store::CloseTenureOp{"x", a, "idle"});
  EXPECT_EQ(store.row("x").owner, "B");
  Apply(store, store::CloseTenureOp{"x", Next(a), "idle"});
  EXPECT_EQ(store.row("x").owner, "");
}

TEST(CheckRead, AcceptsTheNewestAcknowledgedVersion) {
  SimStore store({"x"}, true);
  ASSERT_TRUE(Write(store, Activate(store, "A"), 1_version, "working").status.ok());
  EXPECT_FALSE(CheckRead(store, "x", "A", 2_version, "working", 2_version).has_value());
}

TEST(CheckRead, ReportsAStaleRead) {
  SimStore store({"x"}, true);
  ASSERT_TRUE(Write(store, Activate(store, "A"), 1_version, "working").status.ok());
  const auto v = CheckRead(store, "x", "B", 1_version, "initialized", 2_version);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, ViolationKind::kStaleRead);
}

TEST(CheckRead, ReportsAnUncommittedValue) {
  SimStore store({"x"}, true);
  const auto v = CheckRead(store, "x", "A", 1_version, "finalized", 0_version);
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
