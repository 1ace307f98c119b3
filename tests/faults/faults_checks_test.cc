#include <gtest/gtest.h>

#include "faults/availability.h"
#include "faults/injector.h"
#include "faults/post_checks.h"

namespace tenure::faults {
namespace {

using history::Observed;
using history::Op;
using history::OpKind;
using history::Outcome;

constexpr std::int64_t kS = 1'000'000'000;

Op Done(int process, OpKind kind, std::int64_t invoke, std::int64_t complete, Outcome outcome,
        std::optional<Observed> observed = std::nullopt) {
  Op op;
  op.process = process;
  op.entity = "e";
  op.kind = kind;
  op.invoke_ns = invoke;
  op.complete_ns = complete;
  op.outcome = outcome;
  op.observed = std::move(observed);
  return op;
}

TEST(Availability, CountsPerSecondAndFindsTheLongestGapWithoutSuccess) {
  const std::vector<Op> ops = {
      Done(0, OpKind::kGet, 0, kS / 10, Outcome::kOk, Observed{"working", 1}),
      Done(1, OpKind::kSet, kS / 5, 3 * kS, Outcome::kIndeterminate),
      Done(0, OpKind::kGet, kS / 2, 4 * kS, Outcome::kOk, Observed{"working", 1}),
      Done(2, OpKind::kSet, 4 * kS + 1, 4 * kS + 2, Outcome::kFailed),
      Done(2, OpKind::kGet, 9 * kS, 9 * kS + 1, Outcome::kOk),  // After the end: not counted.
  };
  const Availability a = Measure(ops, 0, 5 * kS);
  ASSERT_EQ(a.seconds.size(), 5u);
  EXPECT_EQ(a.seconds[0].ok, 2u);
  EXPECT_EQ(a.seconds[0].indeterminate, 1u);
  EXPECT_EQ(a.seconds[4].failed, 1u);
  EXPECT_EQ(a.ok, 2u);
  EXPECT_EQ(a.failed, 1u);
  EXPECT_EQ(a.indeterminate, 1u);
  // Successes completed at 0.1 s and 4 s: the gap between them is the longest.
  EXPECT_EQ(a.longest_gap_ns, 4 * kS - kS / 10);
  EXPECT_EQ(a.longest_gap_from_ns, kS / 10);
}

TEST(Availability, ARunWithoutSuccessIsOneGap) {
  const Availability a = Measure({Done(0, OpKind::kGet, kS, 2 * kS, Outcome::kFailed)}, 0, 3 * kS);
  EXPECT_EQ(a.longest_gap_ns, 3 * kS);
  EXPECT_NE(Summary(a).find("longest with no success 3.00 s"), std::string::npos) << Summary(a);
}

TEST(VersionsGoingBack, ConcurrentReadsMaySeeEitherVersion) {
  const std::vector<Op> ops = {
      Done(0, OpKind::kGet, 0, 10, Outcome::kOk, Observed{"working", 2}),
      Done(1, OpKind::kGet, 5, 20, Outcome::kOk, Observed{"initialized", 1}),  // Overlaps.
  };
  EXPECT_TRUE(VersionsGoingBack(ops).empty());
}

TEST(VersionsGoingBack, AReadAfterANewerOneCompletedIsReported) {
  const std::vector<Op> ops = {
      Done(0, OpKind::kSet, 0, 10, Outcome::kOk, Observed{"working", 2}),
      Done(1, OpKind::kGet, 11, 20, Outcome::kOk, Observed{"initialized", 1}),
  };
  const std::vector<std::string> found = VersionsGoingBack(ops);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("client 1 saw initialized v1 after client 0 had seen working v2"),
            std::string::npos)
      << found[0];
}

TEST(VersionsGoingBack, ConflictsCountAsObservationsAndIndeterminateOnesDoNot) {
  Op conflict = Done(0, OpKind::kSet, 0, 10, Outcome::kFailed, Observed{"working", 3});
  Op unknown = Done(1, OpKind::kSet, 0, 10, Outcome::kIndeterminate, Observed{"working", 9});
  const std::vector<Op> ops = {conflict, unknown,
                               Done(2, OpKind::kGet, 11, 20, Outcome::kOk, Observed{"working", 3})};
  EXPECT_TRUE(VersionsGoingBack(ops).empty());
  const std::vector<Op> stale = {
      conflict, Done(2, OpKind::kGet, 11, 20, Outcome::kOk, Observed{"working", 2})};
  EXPECT_EQ(VersionsGoingBack(stale).size(), 1u);
}

TEST(LostWrites, AcknowledgedWritesMustSurviveInTheFinalReadAndTheDatabase) {
  const std::vector<Op> ops = {
      Done(0, OpKind::kCreate, 0, 1, Outcome::kOk, Observed{"initialized", 1}),
      Done(0, OpKind::kSet, 2, 3, Outcome::kOk, Observed{"working", 2}),
      Done(1, OpKind::kSet, 4, 5, Outcome::kIndeterminate),
  };
  const std::map<std::string, Observed> v3 = {{"e", Observed{"finalized", 3}}};
  EXPECT_TRUE(LostWrites(ops, v3, v3).empty());  // The indeterminate write applied: fine.

  const std::map<std::string, Observed> v1 = {{"e", Observed{"initialized", 1}}};
  const std::vector<std::string> lost = LostWrites(ops, v1, v1);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(lost[0].find("acknowledged working v2 but the final read is initialized v1"),
            std::string::npos)
      << lost[0];

  EXPECT_EQ(LostWrites(ops, v3, {}).size(), 1u);  // No row.
  EXPECT_EQ(LostWrites(ops, {}, v3).size(), 1u);  // No final read.
  const std::vector<std::string> differ =
      LostWrites(ops, v3, {{"e", Observed{"working", 3}}});  // The row disagrees.
  ASSERT_EQ(differ.size(), 1u);
  EXPECT_NE(differ[0].find("database row is working v3"), std::string::npos) << differ[0];
}

TEST(FaultKinds, NamesRoundTripAndUnknownOnesAreRefused) {
  for (FaultKind k : {FaultKind::kKill, FaultKind::kPause, FaultKind::kBroker,
                      FaultKind::kPartition, FaultKind::kMix}) {
    EXPECT_EQ(ParseFaultKind(FaultName(k)), k);
  }
  EXPECT_EQ(ParseFaultKind("flood"), std::nullopt);
}

}  // namespace
}  // namespace tenure::faults
