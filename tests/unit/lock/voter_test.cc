// Tests of one voter's share of the name lock table (tenure/lock/voter.h,
// DESIGN §4): sessions and their expiry, grants and denials, claim numbers,
// releases, second incarnations of a node id, and the quiet period after a
// start. Messages are built by hand; time is TimePoint values made up here.
#include "tenure/lock/voter.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "unit/lock/lock_test_util.h"

namespace tenure::lock {
namespace {

using namespace tenure::literals;
using testing::FromNode;
using testing::Kind;
using testing::kNanosecond;
using testing::LockItem;
using testing::LockMessage;
using testing::MakeHeartbeat;
using testing::Ms;
using testing::Rules;

constexpr Incarnation kVoterInc{0x7001};
constexpr Incarnation kIncA{0xA1};
constexpr Incarnation kIncA2{0xA2};
constexpr Incarnation kIncB{0xB1};
// The time the tests start at: the fixture's voter started at Ms(0) and is past
// its quiet period by then.
constexpr std::int64_t kT = 10'000;

// Voter v1 of the cluster v1, v2, v3 (MakeHeartbeat's default settings).
VoterOptions Options(LockRules rules = {}, LockTiming timing = {}) {
  return VoterOptions{"v1", kVoterInc, timing, rules, {"v3", "v1", "v2"}};
}

class VoterTest : public ::testing::Test {
 protected:
  explicit VoterTest(LockRules rules = {}) : voter_(Options(rules), Ms(0)) {
    testing::Wake(voter_, Ms(kT));
  }

  void Beat(const std::string& node, Incarnation inc, TimePoint now, std::uint64_t seq = 1) {
    voter_.Step(MakeHeartbeat(node, inc, seq, "v1", now), now);
  }
  void Claim(const std::string& node, Incarnation inc, std::vector<LockItem> items, TimePoint now) {
    voter_.Step(
        FromNode(Kind::kClaim, node, inc, "v1", std::move(items), ToMillis(now.time_since_epoch())),
        now);
  }
  void ReleaseNames(const std::string& node, Incarnation inc, std::vector<LockItem> items,
                    TimePoint now) {
    voter_.Step(FromNode(Kind::kRelease, node, inc, "v1", std::move(items)), now);
  }
  // `node` (incarnation `inc`) heartbeats and holds `name` under `claim`.
  void Hold(const std::string& node, Incarnation inc, const std::string& name, ClaimNumber claim,
            TimePoint now) {
    Beat(node, inc, now);
    Claim(node, inc, {{name, claim, {}}}, now);
    ASSERT_EQ(voter_.HolderOf(EntityId(name)), (Holder{NodeId(node), inc, claim}));
    voter_.TakeOutbox();
  }

  Voter voter_;
};

// ------------------------------------------------------------ sessions

TEST_F(VoterTest, AnswersAHeartbeatWithAnAckEchoingTheNodeIncarnationAndSeq) {
  Beat("A", kIncA, Ms(kT), 42);
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHbAck);
  EXPECT_EQ(out[0].from, "v1");
  EXPECT_EQ(out[0].from_incarnation, kVoterInc);
  EXPECT_EQ(out[0].to, "A");
  EXPECT_EQ(out[0].to_incarnation, kIncA);
  EXPECT_EQ(out[0].seq, 42u);
  EXPECT_TRUE(voter_.TakeOutbox().empty());
}

TEST_F(VoterTest, HolderWhoseSessionLapsedLosesItsNamesToANewClaimant) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  const TimePoint lapse = Ms(kT) + milliseconds(2000);  // last_seen + lease.
  Beat("B", kIncB, lapse - kNanosecond);
  voter_.TakeOutbox();
  EXPECT_TRUE(voter_.HasSession("A", kIncA, lapse - kNanosecond));
  EXPECT_FALSE(voter_.HasSession("A", kIncA, lapse));
  EXPECT_FALSE(voter_.HasSession("A", kIncA2, lapse - kNanosecond));

  Claim("B", kIncB, {{"x", 7_claim, {}}}, lapse - kNanosecond);  // Still alive: now - seen < lease.
  std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDeny);
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));

  Claim("B", kIncB, {{"x", 7_claim, {}}}, lapse);
  out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
  EXPECT_EQ(out[0].to, "B");
  EXPECT_EQ(out[0].items, (std::vector<LockItem>{{"x", 7_claim, {}}}));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"B", kIncB, 7_claim}));
}

TEST_F(VoterTest, HolderThatKeepsHeartbeatingKeepsItsNames) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Beat("B", kIncB, Ms(kT));
  for (std::int64_t t = kT + 500; t <= kT + 20'000; t += 500) {
    Beat("A", kIncA, Ms(t));
    Beat("B", kIncB, Ms(t));
    voter_.Tick(Ms(t));
    Claim("B", kIncB, {{"x", 2_claim, {}}}, Ms(t) + milliseconds(250));
  }
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));
}

TEST_F(VoterTest, TickForgetsEntriesOfLapsedHoldersOnly) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Hold("B", kIncB, "y", 1_claim, Ms(kT) + milliseconds(1500));
  voter_.Tick(Ms(kT) + milliseconds(2000));
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);
  EXPECT_EQ(voter_.HolderOf("y"), (Holder{"B", kIncB, 1_claim}));
  EXPECT_TRUE(voter_.TakeOutbox().empty());  // Tick sends nothing.
}

// ------------------------------------------------------------ grants and denials

TEST_F(VoterTest, GrantsAFreeNameEchoingTheClaimAndItsSentTime) {
  Beat("A", kIncA, Ms(kT));
  voter_.TakeOutbox();
  voter_.Step(FromNode(Kind::kClaim, "A", kIncA, "v1", {{"x", 3_claim, {}}}, 9876), Ms(kT));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
  EXPECT_EQ(out[0].from, "v1");
  EXPECT_EQ(out[0].from_incarnation, kVoterInc);
  EXPECT_EQ(out[0].to, "A");
  EXPECT_EQ(out[0].to_incarnation, kIncA);
  EXPECT_EQ(out[0].sent_ms, 9876);
  EXPECT_EQ(out[0].items, (std::vector<LockItem>{{"x", 3_claim, {}}}));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 3_claim}));
}

TEST_F(VoterTest, DeniesANameHeldByALiveSessionNamingTheHolder) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Beat("B", kIncB, Ms(kT));
  voter_.TakeOutbox();
  Claim("B", kIncB, {{"x", 4_claim, {}}}, Ms(kT) + milliseconds(100));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDeny);
  EXPECT_EQ(out[0].to, "B");
  EXPECT_EQ(out[0].to_incarnation, kIncB);
  // A's session lapses a lease (2 s) after its last heartbeat, 100 ms ago.
  EXPECT_EQ(out[0].items, (std::vector<LockItem>{{"x", 4_claim, "A", 1900}}));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));
}

// The hint is what is left of the holder's lease here, rounded up, never 0
// (which means "not said").
TEST_F(VoterTest, ADenySaysWhenTheHoldersSessionLapsesHere) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Beat("B", kIncB, Ms(kT));
  voter_.TakeOutbox();
  Claim("B", kIncB, {{"x", 4_claim, {}}},
        Ms(kT) + milliseconds(1999) + std::chrono::microseconds(500));
  std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].kind, Kind::kDeny);
  EXPECT_EQ(out[0].items.at(0).lapse_ms, 1u);
  // A heartbeat renews it.
  Beat("A", kIncA, Ms(kT) + milliseconds(1500), 2);
  voter_.TakeOutbox();
  Claim("B", kIncB, {{"x", 5_claim, {}}}, Ms(kT) + milliseconds(1600));
  out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].items.at(0).lapse_ms, 1900u);
}

TEST_F(VoterTest, AnswersABatchOfNamesWithOneGrantAndOneDeny) {
  Hold("B", kIncB, "y", 1_claim, Ms(kT));
  Beat("A", kIncA, Ms(kT));
  voter_.TakeOutbox();
  Claim("A", kIncA,
        {{"w", 5_claim, {}}, {"x", 6_claim, {}}, {"y", 7_claim, {}}, {"z", 8_claim, {}}}, Ms(kT));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
  EXPECT_EQ(out[0].items,
            (std::vector<LockItem>{{"w", 5_claim, {}}, {"x", 6_claim, {}}, {"z", 8_claim, {}}}));
  EXPECT_EQ(out[1].kind, Kind::kDeny);
  EXPECT_EQ(out[1].items, (std::vector<LockItem>{{"y", 7_claim, "B", 2000}}));
}

TEST_F(VoterTest, GrantsTheHolderAgainUnderTheSameOrANewerClaim) {
  Hold("A", kIncA, "x", 3_claim, Ms(kT));
  Claim("A", kIncA, {{"x", 3_claim, {}}}, Ms(kT) + milliseconds(10));  // A repair.
  std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
  EXPECT_EQ(out[0].items, (std::vector<LockItem>{{"x", 3_claim, {}}}));

  Claim("A", kIncA, {{"x", 9_claim, {}}}, Ms(kT) + milliseconds(20));  // A re-claim.
  out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 9_claim}));
}

TEST_F(VoterTest, ALateClaimOfAnOlderClaimNumberChangesNothing) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  Claim("A", kIncA, {{"x", 4_claim, {}}}, Ms(kT) + milliseconds(10));
  EXPECT_TRUE(voter_.TakeOutbox().empty());  // Neither GRANT nor DENY.
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 5_claim}));
}

TEST_F(VoterTest, IgnoresRepliesMeantForNodes) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  for (Kind kind : {Kind::kHbAck, Kind::kNack, Kind::kGrant, Kind::kDeny, Kind::kReleased}) {
    voter_.Step(FromNode(kind, "A", kIncA, "v1", {{"x", 9_claim, {}}}), Ms(kT));
  }
  EXPECT_TRUE(voter_.TakeOutbox().empty());
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 5_claim}));
}

// ------------------------------------------------------------ releases

TEST_F(VoterTest, ReleaseFreesANameHeldUnderTheSameOrAnOlderClaim) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  Hold("A", kIncA, "y", 5_claim, Ms(kT));
  ReleaseNames("A", kIncA, {{"x", 5_claim, {}}, {"y", 6_claim, {}}}, Ms(kT));
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);
  EXPECT_EQ(voter_.HolderOf("y"), std::nullopt);
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);  // One RELEASED for the batch.
  EXPECT_EQ(out[0].kind, Kind::kReleased);
  EXPECT_EQ(out[0].to, "A");
  EXPECT_EQ(out[0].to_incarnation, kIncA);
  EXPECT_EQ(out[0].items, (std::vector<LockItem>{{"x", 5_claim, {}}, {"y", 6_claim, {}}}));
}

TEST_F(VoterTest, ALateReleaseOfAnOlderClaimDoesNotFreeANewerGrant) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  ReleaseNames("A", kIncA, {{"x", 4_claim, {}}}, Ms(kT));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 5_claim}));
  // It is still acknowledged, or the node would repeat it forever.
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kReleased);
  EXPECT_EQ(out[0].items, (std::vector<LockItem>{{"x", 4_claim, {}}}));
}

TEST_F(VoterTest, ReleaseFromAnotherNodeOrIncarnationFreesNothing) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  ReleaseNames("B", kIncB, {{"x", 99_claim, {}}}, Ms(kT));
  ReleaseNames("A", kIncA2, {{"x", 99_claim, {}}}, Ms(kT));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 5_claim}));
}

TEST_F(VoterTest, ReleaseOfAFreeNameIsAcknowledged) {
  ReleaseNames("A", kIncA, {{"x", 1_claim, {}}}, Ms(kT));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kReleased);
}

// ------------------------------------------------------------ incarnations

TEST_F(VoterTest, NacksASecondLiveIncarnationOfANodeId) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Beat("A", kIncA2, Ms(kT) + milliseconds(2000) - kNanosecond, 1);
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kNack);
  EXPECT_EQ(out[0].from, "v1");
  EXPECT_EQ(out[0].to, "A");
  EXPECT_EQ(out[0].to_incarnation, kIncA2);  // Addressed to the newcomer.
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));

  // The refused newcomer did not renew the old session, and the old one
  // stays in charge: it is still acknowledged.
  Beat("A", kIncA, Ms(kT) + milliseconds(2000) - kNanosecond, 2);
  const std::vector<LockMessage> again = voter_.TakeOutbox();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, Kind::kHbAck);
  EXPECT_EQ(again[0].to_incarnation, kIncA);
}

TEST_F(VoterTest, ClaimsOfARefusedIncarnationAreNotAnswered) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Beat("A", kIncA2, Ms(kT) + milliseconds(100));
  voter_.TakeOutbox();
  Claim("A", kIncA2, {{"x", 1_claim, {}}, {"y", 1_claim, {}}}, Ms(kT) + milliseconds(100));
  EXPECT_TRUE(voter_.TakeOutbox().empty());  // It has no session here.
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));
  EXPECT_EQ(voter_.HolderOf("y"), std::nullopt);
}

TEST_F(VoterTest, AcceptsANewIncarnationOnceTheOldSessionLapsedAndFreesItsNames) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  Hold("A", kIncA, "y", 2_claim, Ms(kT));
  Hold("B", kIncB, "z", 1_claim, Ms(kT) + milliseconds(1000));
  const TimePoint lapse = Ms(kT) + milliseconds(2000);

  Beat("A", kIncA2, lapse);  // No Tick in between: the heartbeat alone frees them.
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHbAck);
  EXPECT_EQ(out[0].to_incarnation, kIncA2);
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);
  EXPECT_EQ(voter_.HolderOf("y"), std::nullopt);
  EXPECT_EQ(voter_.HolderOf("z"), (Holder{"B", kIncB, 1_claim}));

  // The old incarnation is the stranger now.
  Beat("A", kIncA, lapse + milliseconds(1));
  const std::vector<LockMessage> old = voter_.TakeOutbox();
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].kind, Kind::kNack);
  EXPECT_EQ(old[0].to_incarnation, kIncA);

  Claim("A", kIncA2, {{"x", 1_claim, {}}}, lapse + milliseconds(2));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA2, 1_claim}));
}

TEST_F(VoterTest, ANewIncarnationTakesOverALapsedSessionEvenAfterItWasForgotten) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  voter_.Tick(Ms(kT) + milliseconds(20'000));  // Forgets the session and the entry.
  Beat("A", kIncA2, Ms(kT) + milliseconds(20'000));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHbAck);
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);
}

// ------------------------------------------------------------ sessions and settings

// Without a session here, a grant would name a holder that invariant (2)
// lets anyone take at once; and a node refused for its settings has none.
TEST_F(VoterTest, GrantsNothingToAClaimantWithoutALiveSession) {
  Claim("A", kIncA, {{"x", 1_claim, {}}}, Ms(kT));  // Never heartbeated.
  EXPECT_TRUE(voter_.TakeOutbox().empty());
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);

  Beat("A", kIncA, Ms(kT));
  Beat("B", kIncB, Ms(kT + 1000));  // Keeps the voter from falling silent (and quiet).
  voter_.TakeOutbox();
  const TimePoint lapsed = Ms(kT) + milliseconds(2000);
  Claim("A", kIncA, {{"x", 2_claim, {}}}, lapsed);  // Its session lapsed.
  EXPECT_TRUE(voter_.TakeOutbox().empty());
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);

  Beat("A", kIncA, lapsed, 2);  // Back: the next repair is answered.
  voter_.TakeOutbox();
  Claim("A", kIncA, {{"x", 2_claim, {}}}, lapsed);
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
}

struct SettingsCase {
  const char* what;
  std::vector<NodeId> voters;
  LockTiming timing;
};

LockTiming Lease(std::int64_t ms) {
  LockTiming t;
  t.lease = milliseconds(ms);
  return t;
}

// The voter is v1 of the cluster v1, v2, v3 with the default timing.
std::vector<SettingsCase> MismatchCases() {
  LockTiming margin;
  margin.margin = milliseconds(100);
  LockTiming drift;
  drift.drift = 0.02;
  return {
      {"a subset of the voters", {"v1"}, {}},
      {"a disjoint voter set", {"w1", "w2", "w3"}, {}},
      {"a superset of the voters", {"v1", "v2", "v3", "v4", "v5"}, {}},
      {"another lease", {"v1", "v2", "v3"}, Lease(3000)},
      {"a lease shorter by a nanosecond",
       {"v1", "v2", "v3"},
       [] {
         LockTiming t;
         t.lease -= kNanosecond;
         return t;
       }()},
      {"another margin", {"v1", "v2", "v3"}, margin},
      {"another drift bound", {"v1", "v2", "v3"}, drift},
  };
}

TEST_F(VoterTest, RefusesAHeartbeatWithOtherSettingsWithAMismatchAndNoSession) {
  for (const SettingsCase& c : MismatchCases()) {
    SCOPED_TRACE(c.what);
    const std::string theirs = SettingsText(c.voters, c.timing);
    ASSERT_NE(theirs, voter_.settings());
    voter_.Step(MakeHeartbeat("R", kIncA, 7, "v1", Ms(kT), theirs), Ms(kT));
    const std::vector<LockMessage> out = voter_.TakeOutbox();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, Kind::kMismatch);
    EXPECT_EQ(out[0].from, "v1");
    EXPECT_EQ(out[0].from_incarnation, kVoterInc);
    EXPECT_EQ(out[0].to, "R");
    EXPECT_EQ(out[0].to_incarnation, kIncA);
    EXPECT_EQ(out[0].seq, 7u);
    EXPECT_EQ(out[0].settings, voter_.settings());
    EXPECT_FALSE(voter_.HasSession("R", kIncA, Ms(kT)));
  }
}

TEST_F(VoterTest, RefusesAHeartbeatWithoutSettings) {
  voter_.Step(MakeHeartbeat("R", kIncA, 1, "v1", Ms(kT), ""), Ms(kT));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kMismatch);
  EXPECT_FALSE(voter_.HasSession("R", kIncA, Ms(kT)));
}

TEST_F(VoterTest, SettingsAreTheSameWhateverTheOrderOfTheVoterList) {
  // The fixture's voter was given v3, v1, v2.
  EXPECT_EQ(voter_.settings(), SettingsText({"v2", "v3", "v1"}, {}));
  Beat("A", kIncA, Ms(kT));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHbAck);
}

TEST_F(VoterTest, NeverGrantsANodeItRefused) {
  for (const SettingsCase& c : MismatchCases()) {
    SCOPED_TRACE(c.what);
    const std::string theirs = SettingsText(c.voters, c.timing);
    for (std::int64_t t = kT; t <= kT + 5000; t += 500) {
      voter_.Step(MakeHeartbeat("R", kIncA, 1, "v1", Ms(t), theirs), Ms(t));
      Claim("R", kIncA, {{"free", 1_claim, {}}}, Ms(t));
      for (const LockMessage& m : voter_.TakeOutbox()) {
        EXPECT_EQ(m.kind, Kind::kMismatch);
      }
    }
    EXPECT_EQ(voter_.HolderOf("free"), std::nullopt);
  }
}

// A refused heartbeat changes nothing: not even a lapsed session of its
// node id is replaced (nor its names freed).
TEST_F(VoterTest, ARefusedIncarnationDoesNotReplaceTheSessionOfItsNodeId) {
  Hold("A", kIncA, "x", 1_claim, Ms(kT));
  const TimePoint lapse = Ms(kT) + milliseconds(2000);
  voter_.Step(MakeHeartbeat("A", kIncA2, 1, "v1", lapse, SettingsText({"v1"}, LockTiming{})),
              lapse);
  ASSERT_EQ(voter_.TakeOutbox().at(0).kind, Kind::kMismatch);
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));
  EXPECT_FALSE(voter_.HasSession("A", kIncA2, lapse));
}

TEST_F(VoterTest, ReportsEachRefusedNodeIncarnationOnce) {
  const std::string theirs = SettingsText({"v1"}, LockTiming{});
  for (std::int64_t t = kT; t < kT + 2000; t += 500) {
    voter_.Step(MakeHeartbeat("R", kIncA, 1, "v1", Ms(t), theirs), Ms(t));
  }
  EXPECT_EQ(voter_.TakeRefusals(), (std::vector<Refusal>{{"R", kIncA, theirs}}));
  voter_.Step(MakeHeartbeat("R", kIncA, 1, "v1", Ms(kT + 2000), theirs), Ms(kT + 2000));
  EXPECT_TRUE(voter_.TakeRefusals().empty());
  voter_.Step(MakeHeartbeat("R", kIncA2, 1, "v1", Ms(kT + 2000), ""), Ms(kT + 2000));
  EXPECT_EQ(voter_.TakeRefusals(), (std::vector<Refusal>{{"R", kIncA2, ""}}));
  // Forgotten after a silence of a few leases, as sessions are.
  voter_.Tick(Ms(kT + 2000 + 4 * 2000) + kNanosecond);
  voter_.Step(MakeHeartbeat("R", kIncA2, 1, "v1", Ms(kT + 11'000), ""), Ms(kT + 11'000));
  EXPECT_EQ(voter_.TakeRefusals(), (std::vector<Refusal>{{"R", kIncA2, ""}}));
  Beat("A", kIncA, Ms(kT + 11'000));
  EXPECT_TRUE(voter_.TakeRefusals().empty());  // Accepted heartbeats are no refusals.
}

TEST_F(VoterTest, KeepsAtMostABoundedNumberOfRefusalsUntilTaken) {
  for (std::uint64_t inc = 1; inc <= Voter::kRefusalsPendingMax + 10; ++inc) {
    voter_.Step(MakeHeartbeat("R", Incarnation(inc), 1, "v1", Ms(kT), ""), Ms(kT));
  }
  EXPECT_EQ(voter_.TakeRefusals().size(), Voter::kRefusalsPendingMax);
  EXPECT_EQ(voter_.TakeOutbox().size(), Voter::kRefusalsPendingMax + 10);  // Each answered.
}

TEST(Voter, WithoutSettingsCheckAcceptsAndGrantsANodeWithOtherSettings) {
  VoterOptions options = Options(Rules("all-settings_check"));
  options.voters.clear();  // Not needed then.
  Voter voter(std::move(options), Ms(0));
  testing::Wake(voter, Ms(kT));
  EXPECT_EQ(voter.settings(), "");
  for (const SettingsCase& c : MismatchCases()) {
    SCOPED_TRACE(c.what);
    voter.Step(MakeHeartbeat("R", kIncA, 1, "v1", Ms(kT), SettingsText(c.voters, c.timing)),
               Ms(kT));
    EXPECT_TRUE(voter.HasSession("R", kIncA, Ms(kT)));
  }
  voter.Step(FromNode(Kind::kClaim, "R", kIncA, "v1", {{"x", 1_claim, {}}}, 0), Ms(kT));
  const std::vector<LockMessage> out = voter.TakeOutbox();
  ASSERT_EQ(out.size(), MismatchCases().size() + 1);  // The HB_ACKs, then the GRANT.
  EXPECT_EQ(out.back().kind, Kind::kGrant);           // Unsafe: R may count by other voters.
  EXPECT_TRUE(voter.TakeRefusals().empty());
}

// ------------------------------------------------------------ quiet period

TEST(Voter, IsQuietForLeasePlusMarginFromItsFirstInput) {
  Voter voter(Options(), Ms(1000));
  EXPECT_TRUE(voter.Quiet(Ms(1000)));
  EXPECT_TRUE(voter.Quiet(Ms(60'000)));  // No input yet: the quiet period has not begun.
  voter.Step(MakeHeartbeat("A", kIncA, 1, "v1", Ms(3000)), Ms(3000));
  voter.Step(MakeHeartbeat("A", kIncA, 2, "v1", Ms(4500)), Ms(4500));  // Does not extend it.
  EXPECT_TRUE(voter.Quiet(Ms(3000 + 2050) - kNanosecond));
  EXPECT_FALSE(voter.Quiet(Ms(3000 + 2050)));
}

struct SilenceCase {
  std::int64_t lease_ms;
  double drift;
  std::int64_t margin_ms;
  std::int64_t silence_max_ns;  // min(lease, (lease + margin) (1 - d) / (1 + d)).
};

TEST(Voter, GoesQuietAgainAfterASilenceOfALease) {
  const SilenceCase cases[] = {
      {2000, 0.01, 50, 2'000'000'000},  // 2050 ms * 0.99 / 1.01 = 2009.4 ms: the lease.
      {2000, 0.25, 50, 1'230'000'000},  // 2050 ms * 0.6: shorter than the lease.
  };
  for (const SilenceCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "drift " << c.drift);
    LockTiming timing;
    timing.lease = milliseconds(c.lease_ms);
    timing.drift = c.drift;
    timing.margin = milliseconds(c.margin_ms);
    Voter voter(Options({}, timing), Ms(0));
    testing::Wake(voter, Ms(kT), timing);
    const std::string settings = SettingsText({"v1", "v2", "v3"}, timing);
    voter.Step(MakeHeartbeat("A", kIncA, 1, "v1", Ms(kT), settings), Ms(kT));
    // Just short of the longest silence: still serving.
    const TimePoint almost = Ms(kT) + std::chrono::nanoseconds(c.silence_max_ns) - kNanosecond;
    voter.Step(MakeHeartbeat("A", kIncA, 2, "v1", almost, settings), almost);
    EXPECT_FALSE(voter.Quiet(almost));
    voter.TakeOutbox();
    // A longer silence: this voter id may have been served by another process
    // meanwhile, so it waits out a quiet period again.
    const TimePoint back = almost + std::chrono::nanoseconds(c.silence_max_ns);
    voter.Step(MakeHeartbeat("A", kIncA, 3, "v1", back, settings), back);
    EXPECT_TRUE(voter.Quiet(back));
    voter.Step(FromNode(Kind::kClaim, "A", kIncA, "v1", {{"x", 1_claim, {}}}, 0), back);
    const std::vector<LockMessage> out = voter.TakeOutbox();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, Kind::kHbAck);  // The claim is not answered.
    EXPECT_TRUE(voter.Quiet(back + timing.quiet_period() - kNanosecond));
    EXPECT_FALSE(voter.Quiet(back + timing.quiet_period()));
  }
}

// The broker switched this voter id's routes here: quiet for a full period
// from then, however recently the voter had inputs (they may have been
// queued while it was paused, while another process had the routes).
TEST(Voter, AQuietMessageFromTheBrokerStartsAFullQuietPeriod) {
  Voter voter(Options(), Ms(0));
  for (std::uint64_t seq = 0; seq <= 5; ++seq) {  // Every 500 ms: never silent.
    const TimePoint t = Ms(static_cast<std::int64_t>(seq) * 500);
    voter.Step(MakeHeartbeat("A", kIncA, seq + 1, "v1", t), t);
  }
  ASSERT_FALSE(voter.Quiet(Ms(2500)));
  voter.TakeOutbox();
  LockMessage quiet;
  quiet.kind = Kind::kQuiet;
  quiet.to = "v1";
  voter.Step(quiet, Ms(2600));  // 100 ms after the last input: no silence at all.
  EXPECT_TRUE(voter.Quiet(Ms(2600) + LockTiming().quiet_period() - kNanosecond));
  EXPECT_FALSE(voter.Quiet(Ms(2600) + LockTiming().quiet_period()));
  voter.Step(FromNode(Kind::kClaim, "A", kIncA, "v1", {{"x", 1_claim, {}}}, 0), Ms(3000));
  EXPECT_TRUE(voter.TakeOutbox().empty());
  EXPECT_TRUE(voter.TakeOutbox().empty()) << "nothing to send in reply to QUIET either";
  // A QUIET never shortens a quiet period already running.
  Voter fresh(Options(), Ms(0));
  fresh.Step(MakeHeartbeat("A", kIncA, 1, "v1", Ms(0)), Ms(0));
  fresh.Step(quiet, Ms(1));
  EXPECT_TRUE(fresh.Quiet(Ms(1) + LockTiming().quiet_period() - kNanosecond));
}

TEST(Voter, QuietPeriodNeverEndsBeforeLeasePlusMarginAfterItsStart) {
  Voter voter(Options(), Ms(1000));
  voter.Step(MakeHeartbeat("A", kIncA, 1, "v1", Ms(400)), Ms(400));  // Input dated before start.
  EXPECT_TRUE(voter.Quiet(Ms(1000 + 2050) - kNanosecond));
  EXPECT_FALSE(voter.Quiet(Ms(1000 + 2050)));
}

TEST(Voter, AnswersNoClaimAtAllDuringTheQuietPeriod) {
  Voter voter(Options(), Ms(0));
  const TimePoint quiet_end = Ms(2050);
  // Heartbeats are acknowledged, so that nodes learn the new incarnation.
  voter.Step(MakeHeartbeat("A", kIncA, 1, "v1", Ms(0)), Ms(0));
  std::vector<LockMessage> out = voter.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHbAck);
  EXPECT_EQ(out[0].from_incarnation, kVoterInc);

  for (TimePoint t : {Ms(0), Ms(1000), quiet_end - kNanosecond}) {
    voter.Step(MakeHeartbeat("A", kIncA, 2, "v1", t), t);
    voter.TakeOutbox();
    voter.Step(FromNode(Kind::kClaim, "A", kIncA, "v1", {{"x", 1_claim, {}}}, 0), t);
    EXPECT_TRUE(voter.TakeOutbox().empty());  // Not even a DENY.
    EXPECT_EQ(voter.HolderOf("x"), std::nullopt);
  }

  voter.Step(FromNode(Kind::kClaim, "A", kIncA, "v1", {{"x", 1_claim, {}}}, 2050), quiet_end);
  out = voter.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
  EXPECT_EQ(voter.HolderOf("x"), (Holder{"A", kIncA, 1_claim}));
}

TEST(Voter, AcknowledgesReleasesDuringTheQuietPeriod) {
  Voter voter(Options(), Ms(0));
  voter.Step(FromNode(Kind::kRelease, "A", kIncA, "v1", {{"x", 1_claim, {}}}), Ms(10));
  const std::vector<LockMessage> out = voter.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kReleased);
}

// ------------------------------------------------------------ rules switched off

class VoterWithout : public VoterTest {
 protected:
  explicit VoterWithout(const char* rules) : VoterTest(Rules(rules)) {}
};

class VoterWithoutClaimNumbers : public VoterWithout {
 protected:
  VoterWithoutClaimNumbers() : VoterWithout("all-claim_numbers") {}
};

TEST_F(VoterWithoutClaimNumbers, ALateReleaseOfAnOlderClaimFreesANewerGrant) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  ReleaseNames("A", kIncA, {{"x", 4_claim, {}}}, Ms(kT));
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);  // Unsafe: the node still counts claim 5.
}

TEST_F(VoterWithoutClaimNumbers, ALateClaimRewindsTheEntryToAnOlderClaim) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  Claim("A", kIncA, {{"x", 4_claim, {}}}, Ms(kT));
  EXPECT_EQ(voter_.HolderOf("x"), (Holder{"A", kIncA, 4_claim}));
  const std::vector<LockMessage> out = voter_.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);
}

TEST(Voter, WithoutQuietPeriodGrantsAsSoonAsItStarts) {
  Voter voter(Options(Rules("all-quiet_period")), Ms(0));
  voter.Step(MakeHeartbeat("A", kIncA, 1, "v1", Ms(0)), Ms(0));
  EXPECT_FALSE(voter.Quiet(Ms(0)));
  voter.TakeOutbox();
  voter.Step(FromNode(Kind::kClaim, "A", kIncA, "v1", {{"x", 1_claim, {}}}, 0), Ms(0));
  const std::vector<LockMessage> out = voter.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kGrant);  // Unsafe: a node may still count its previous life.
}

class VoterWithoutReleaseRepeat : public VoterWithout {
 protected:
  VoterWithoutReleaseRepeat() : VoterWithout("all-release_repeat") {}
};

TEST_F(VoterWithoutReleaseRepeat, FreesButNeverAcknowledges) {
  Hold("A", kIncA, "x", 5_claim, Ms(kT));
  ReleaseNames("A", kIncA, {{"x", 5_claim, {}}}, Ms(kT));
  EXPECT_EQ(voter_.HolderOf("x"), std::nullopt);
  EXPECT_TRUE(voter_.TakeOutbox().empty());
}

}  // namespace
}  // namespace tenure::lock
