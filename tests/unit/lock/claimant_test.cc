// Tests of a node's side of the name lock table (tenure/lock/claimant.h,
// DESIGN §4): heartbeats and per-voter deadlines, claims and their numbers,
// the serving rule with its no-break condition, releases repeated until
// acknowledged, the incarnation echo, and back-off after a failed claim. The
// voters' replies are built by hand; time is TimePoint values made up here.
#include "tenure/lock/claimant.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "unit/lock/lock_test_util.h"

namespace tenure::lock {
namespace {

using namespace tenure::literals;
using std::chrono::nanoseconds;
using testing::FromVoter;
using testing::Kind;
using testing::kNanosecond;
using testing::LockItem;
using testing::LockMessage;
using testing::Ms;
using testing::Rules;

constexpr Incarnation kInc{0xA1};
constexpr Incarnation kOtherInc{0xA2};
constexpr std::int64_t kT = 10'000;
// The default deadline span: 2000 ms * (1 - 0.01) / (1 + 0.01) - 50 ms, in
// nanoseconds rounded down (2000e6 * 99 / 101 = 1960396039.6).
constexpr Duration kSpan = nanoseconds(1'960'396'039) - milliseconds(50);

Incarnation VoterInc(const std::string& voter) { return Incarnation(0x100 + (voter.back() - '0')); }

std::int64_t WireMs(TimePoint t) { return ToMillis(t.time_since_epoch()); }

ClaimantOptions Options(LockRules rules = {}, LockTiming timing = {}, std::uint64_t seed = 1,
                        std::vector<std::string> voters = {"v1", "v2", "v3"}) {
  ClaimantOptions options;
  options.node_id = "A";
  options.incarnation = kInc;
  options.voters = NodeIds(voters);
  options.timing = timing;
  options.rules = rules;
  options.seed = seed;
  return options;
}

// The lock messages of `kind` in `fx`, to `voter` if given.
std::vector<LockMessage> Sent(const ClaimantEffects& fx, Kind kind, const std::string& voter = "") {
  std::vector<LockMessage> out;
  for (const LockMessage& m : fx.messages) {
    if (m.kind == kind && (voter.empty() || m.to == voter)) {
      out.push_back(m);
    }
  }
  return out;
}

// The items of the first message of `kind` in `fx` (to `voter` if given);
// empty if there is none.
std::vector<LockItem> FirstItems(const ClaimantEffects& fx, Kind kind,
                                 const std::string& voter = "") {
  const std::vector<LockMessage> sent = Sent(fx, kind, voter);
  return sent.empty() ? std::vector<LockItem>{} : sent.front().items;
}

// The voters that `fx` sends a message of `kind` naming `name` to.
std::set<std::string> SentTo(const ClaimantEffects& fx, Kind kind, const std::string& name) {
  std::set<std::string> out;
  for (const LockMessage& m : fx.messages) {
    for (const LockItem& item : m.items) {
      if (m.kind == kind && item.name == name) {
        out.insert(m.to);
      }
    }
  }
  return out;
}

std::size_t CountEvents(const ClaimantEffects& fx, LockEvent::Kind kind) {
  std::size_t n = 0;
  for (const LockEvent& e : fx.events) {
    n += e.kind == kind ? 1 : 0;
  }
  return n;
}

const std::set<std::string> kAll = {"v1", "v2", "v3"};

class ClaimantTest : public ::testing::Test {
 protected:
  ClaimantTest() { Make(Options()); }

  void Make(ClaimantOptions options) {
    voters_.clear();
    for (const NodeId& v : options.voters) {
      voters_.push_back(v.str());
    }
    claimant_ = std::make_unique<Claimant>(std::move(options), Ms(0));
  }
  Claimant& s() { return *claimant_; }
  ClaimantEffects Take(TimePoint now) { return s().TakeEffects(now); }

  // Tick: returns the heartbeat seq sent.
  std::uint64_t Beat(TimePoint now) {
    s().Tick(now);
    last_ = Take(now);
    EXPECT_EQ(last_.heartbeats.size(), voters_.size());
    return last_.heartbeats.empty() ? 0 : last_.heartbeats.front().seq;
  }
  void Ack(const std::string& voter, std::uint64_t seq, TimePoint now) {
    s().Step(FromVoter(Kind::kHbAck, voter, VoterInc(voter), "A", kInc, {}, 0, seq), now);
  }
  void AckAll(std::uint64_t seq, TimePoint now) {
    for (const std::string& v : voters_) {
      Ack(v, seq, now);
    }
  }
  void Grant(const std::string& voter, std::vector<LockItem> items, TimePoint sent, TimePoint now) {
    s().Step(
        FromVoter(Kind::kGrant, voter, VoterInc(voter), "A", kInc, std::move(items), WireMs(sent)),
        now);
  }
  void Deny(const std::string& voter, std::vector<LockItem> items, TimePoint now) {
    s().Step(FromVoter(Kind::kDeny, voter, VoterInc(voter), "A", kInc, std::move(items)), now);
  }
  void Released(const std::string& voter, std::vector<LockItem> items, TimePoint now) {
    s().Step(FromVoter(Kind::kReleased, voter, VoterInc(voter), "A", kInc, std::move(items)), now);
  }
  // Heartbeat acknowledged by every voter, then `name` claimed and granted by
  // `granting` voters, all at `now`. Returns the claim number.
  ClaimNumber Own(const std::string& name, TimePoint now,
                  const std::vector<std::string>& granting = {"v1", "v2", "v3"}) {
    AckAll(Beat(now), now);
    s().Claim(EntityId(name), now);
    const ClaimantEffects fx = Take(now);
    const std::vector<LockMessage> claims = Sent(fx, Kind::kClaim);
    EXPECT_FALSE(claims.empty());
    const ClaimNumber claim = claims.empty() ? ClaimNumber{} : claims.front().items.front().claim;
    for (const std::string& v : granting) {
      Grant(v, {{name, claim, {}}}, now, now);
    }
    last_ = Take(now);
    return claim;
  }

  std::vector<std::string> voters_;
  std::unique_ptr<Claimant> claimant_;
  ClaimantEffects last_;
};

// ------------------------------------------------------------ heartbeats

TEST_F(ClaimantTest, TickHeartbeatsEveryVoterWithIncreasingSeq) {
  s().Tick(Ms(kT));
  ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.heartbeats.size(), 3u);
  std::set<std::string> to;
  for (const protocol::Heartbeat& hb : fx.heartbeats) {
    EXPECT_EQ(hb.node, "A");
    EXPECT_EQ(hb.incarnation, kInc);
    EXPECT_EQ(hb.seq, 1u);
    EXPECT_EQ(hb.sent_ms, kT);
    to.insert(hb.to);
  }
  EXPECT_EQ(to, kAll);
  s().Tick(Ms(kT + 500));
  fx = Take(Ms(kT + 500));
  ASSERT_EQ(fx.heartbeats.size(), 3u);
  EXPECT_EQ(fx.heartbeats[0].seq, 2u);
  EXPECT_EQ(fx.heartbeats[0].sent_ms, kT + 500);
}

// ------------------------------------------------------------ claims

TEST_F(ClaimantTest, ClaimSendsEveryVoterANewClaimNumberAndTheSentTime) {
  const TimePoint now = Ms(kT + 123) + std::chrono::microseconds(456);
  s().Claim("x", now);
  ClaimantEffects fx = Take(now);
  const std::vector<LockMessage> claims = Sent(fx, Kind::kClaim);
  ASSERT_EQ(claims.size(), 3u);
  for (const LockMessage& m : claims) {
    EXPECT_EQ(m.from, "A");
    EXPECT_EQ(m.from_incarnation, kInc);
    EXPECT_EQ(m.sent_ms, kT + 123);  // Rounded down to the millisecond.
    EXPECT_EQ(m.items, (std::vector<LockItem>{{"x", 1_claim, {}}}));
  }
  EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), kAll);
  EXPECT_TRUE(s().claiming("x"));

  s().Claim("x", now);  // Claimed already: nothing new.
  EXPECT_TRUE(Take(now).messages.empty());

  s().Claim("y", now);
  fx = Take(now);
  ASSERT_EQ(Sent(fx, Kind::kClaim).size(), 3u);
  EXPECT_EQ(FirstItems(fx, Kind::kClaim), (std::vector<LockItem>{{"y", 2_claim, {}}}));
}

TEST_F(ClaimantTest, GrantedOnceAMajorityGrantedWithLiveDeadlines) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 5));
  EXPECT_EQ(CountEvents(Take(Ms(kT + 5)), LockEvent::Kind::kGranted), 0u);
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 5)));

  Grant("v3", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 6));
  const ClaimantEffects fx = Take(Ms(kT + 6));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kGranted);
  EXPECT_EQ(fx.events[0].name, "x");
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 6)));
  EXPECT_FALSE(s().claiming("x"));
  EXPECT_EQ(s().owned_count(), 1u);
  EXPECT_FALSE(s().MayServe("y", Ms(kT + 6)));
}

TEST_F(ClaimantTest, NeedsAMajorityOfALargerVoterSet) {
  Make(Options({}, {}, 1, {"v1", "v2", "v3", "v4", "v5"}));
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT));
  Grant("v2", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT));
  EXPECT_FALSE(s().MayServe("x", Ms(kT)));
  Grant("v4", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT));
  EXPECT_TRUE(s().MayServe("x", Ms(kT)));
}

TEST_F(ClaimantTest, GrantsWithoutADeadlineDoNotCount) {
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  for (const std::string& v : voters_) {
    Grant(v, {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 1));
  }
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 1)));
  EXPECT_EQ(CountEvents(Take(Ms(kT + 1)), LockEvent::Kind::kGranted), 0u);
}

TEST_F(ClaimantTest, RepairsOnlyTheVotersNotCountedWithTheSameClaimNumber) {
  const ClaimNumber claim = Own("x", Ms(kT), {"v1", "v3"});
  s().Tick(Ms(kT + 500));
  const ClaimantEffects fx = Take(Ms(kT + 500));
  const std::vector<LockMessage> claims = Sent(fx, Kind::kClaim);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].to, "v2");
  EXPECT_EQ(claims[0].sent_ms, kT + 500);
  EXPECT_EQ(claims[0].items, (std::vector<LockItem>{{"x", claim, {}}}));
}

// ------------------------------------------------------------ batching

TEST_F(ClaimantTest, BatchesManyNamesIntoOneClaimAndOneReleasePerVoter) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  std::vector<LockItem> items;
  for (int i = 0; i < 250; ++i) {
    const std::string name = "e" + std::to_string(1000 + i);
    s().Claim(EntityId(name), Ms(kT));
    items.push_back({name, ClaimNumber(i + 1), {}});
  }
  ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.messages.size(), 3u);
  for (const LockMessage& m : fx.messages) {
    EXPECT_EQ(m.kind, Kind::kClaim);
    EXPECT_EQ(m.items, items);
  }

  // One GRANT per voter answers them all.
  Grant("v1", items, Ms(kT), Ms(kT + 1));
  Grant("v2", items, Ms(kT), Ms(kT + 1));
  fx = Take(Ms(kT + 1));
  EXPECT_EQ(CountEvents(fx, LockEvent::Kind::kGranted), 250u);
  EXPECT_EQ(s().owned_count(), 250u);

  for (const LockItem& item : items) {
    s().Release(EntityId(item.name), Ms(kT + 2));
  }
  fx = Take(Ms(kT + 2));
  ASSERT_EQ(fx.messages.size(), 3u);
  for (const LockMessage& m : fx.messages) {
    EXPECT_EQ(m.kind, Kind::kRelease);
    EXPECT_EQ(m.items, items);
  }
  EXPECT_EQ(s().owned_count(), 0u);
}

TEST_F(ClaimantTest, SplitsBatchesAtItemsPerMessageMax) {
  ClaimantOptions options = Options();
  options.items_per_message_max = 100;
  Make(options);
  AckAll(Beat(Ms(kT)), Ms(kT));
  std::vector<LockItem> items;
  for (int i = 0; i < 250; ++i) {
    const std::string name = "e" + std::to_string(1000 + i);
    s().Claim(EntityId(name), Ms(kT));
    items.push_back({name, ClaimNumber(i + 1), {}});
  }
  ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.messages.size(), 9u);
  for (const std::string& v : voters_) {
    const std::vector<LockMessage> claims = Sent(fx, Kind::kClaim, v);
    ASSERT_EQ(claims.size(), 3u) << v;
    EXPECT_EQ(claims[0].items.size(), 100u);
    EXPECT_EQ(claims[1].items.size(), 100u);
    EXPECT_EQ(claims[2].items.size(), 50u);
    std::vector<LockItem> joined;
    for (const LockMessage& m : claims) {
      EXPECT_EQ(m.sent_ms, kT);
      joined.insert(joined.end(), m.items.begin(), m.items.end());
    }
    EXPECT_EQ(joined, items) << v;
  }

  for (const LockItem& item : items) {
    s().Release(EntityId(item.name), Ms(kT + 1));
  }
  fx = Take(Ms(kT + 1));
  for (const std::string& v : voters_) {
    const std::vector<LockMessage> releases = Sent(fx, Kind::kRelease, v);
    ASSERT_EQ(releases.size(), 3u) << v;
    EXPECT_EQ(releases[0].items.size(), 100u);
    EXPECT_EQ(releases[2].items.size(), 50u);
  }
}

// ------------------------------------------------------------ deadlines

struct DeadlineCase {
  std::int64_t lease_ms;
  double drift;
  std::int64_t margin_ms;
  std::int64_t span_ns;  // lease * (1 - d) / (1 + d) - margin, rounded down.
};

TEST_F(ClaimantTest, DeadlineIsSentPlusLeaseTimesDriftFactorMinusMargin) {
  const DeadlineCase cases[] = {
      {2000, 0.01, 50, 1'960'396'039 - 50'000'000},  // The defaults: 1910.396039 ms.
      {2000, 0.0, 0, 2'000'000'000},                 // Perfect clocks, no margin: the lease.
      {1000, 0.0, 100, 900'000'000},                 // Only the margin.
      {2000, 0.25, 50, 1'200'000'000 - 50'000'000},  // Factor 0.75 / 1.25 = 0.6.
      {10000, 0.05, 0, 9'047'619'047},               // 1e10 * 0.95 / 1.05 = 9047619047.6.
      {3000, 0.02, 10, 2'882'352'941 - 10'000'000},  // 3e9 * 0.98 / 1.02 = 2882352941.2.
  };
  for (const DeadlineCase& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "lease " << c.lease_ms << " drift " << c.drift << " margin " << c.margin_ms);
    LockTiming timing;
    timing.lease = milliseconds(c.lease_ms);
    timing.drift = c.drift;
    timing.margin = milliseconds(c.margin_ms);
    Make(Options({}, timing));
    const TimePoint sent = Ms(kT);
    const TimePoint arrived = Ms(kT + 30);  // The deadline counts from `sent`.
    AckAll(Beat(sent), arrived);
    s().Claim("x", arrived);
    Take(arrived);
    for (const std::string& v : voters_) {
      Grant(v, {{"x", 1_claim, {}}}, arrived, arrived);
    }
    const TimePoint deadline = sent + nanoseconds(c.span_ns);
    EXPECT_TRUE(s().MayServe("x", arrived));
    EXPECT_TRUE(s().MayServe("x", deadline - kNanosecond));
    EXPECT_FALSE(s().MayServe("x", deadline));
    EXPECT_FALSE(s().MayServe("x", deadline + milliseconds(1)));
  }
}

TEST_F(ClaimantTest, NodeStopsCountingBeforeTheVoterCouldLapseTheSessionAtWorstDrift) {
  // The voter received the heartbeat no earlier than it was sent and expires
  // the session a lease later on its own clock, which may run (1 + d) fast;
  // the node's clock may run (1 - d) slow. In real time the node's deadline
  // must still come first, by at least the margin.
  const LockTiming timing;
  const double node_real = static_cast<double>(kSpan.count()) / (1.0 - timing.drift);
  const double voter_real = static_cast<double>(timing.lease.count()) / (1.0 + timing.drift);
  EXPECT_LE(node_real + static_cast<double>(Duration(timing.margin).count()), voter_real + 1.0);
}

TEST_F(ClaimantTest, DeadlinesArePerVoterAndFollowTheNewestAcknowledgedHeartbeat) {
  Own("x", Ms(kT));  // Everyone acknowledged seq 1, sent at kT.
  const std::uint64_t seq2 = Beat(Ms(kT + 500));
  Ack("v1", seq2, Ms(kT + 500));
  Ack("v2", seq2, Ms(kT + 500));
  const std::uint64_t seq3 = Beat(Ms(kT + 1000));
  Ack("v1", seq3, Ms(kT + 1000));
  Ack("v2", 1, Ms(kT + 1001));  // A late ack of an older heartbeat shortens nothing.

  EXPECT_TRUE(s().MayServe("x", Ms(kT) + kSpan));  // v3 lapsed; v1, v2 remain.
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 500) + kSpan - kNanosecond));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 500) + kSpan));  // Only v1 remains.
}

TEST_F(ClaimantTest, AckOfAHeartbeatItNeverSentIsIgnored) {
  Beat(Ms(kT));
  for (const std::string& v : voters_) {
    Ack(v, 77, Ms(kT));
  }
  s().Claim("x", Ms(kT));
  for (const std::string& v : voters_) {
    Grant(v, {{"x", 1_claim, {}}}, Ms(kT), Ms(kT));
  }
  EXPECT_FALSE(s().MayServe("x", Ms(kT)));
}

TEST_F(ClaimantTest, AckArrivingAfterTheDeadlineItWouldGiveIsIgnored) {
  const std::uint64_t seq = Beat(Ms(kT));
  AckAll(seq, Ms(kT) + kSpan);  // Too late to be of use.
  s().Claim("x", Ms(kT) + kSpan);
  for (const std::string& v : voters_) {
    Grant(v, {{"x", 1_claim, {}}}, Ms(kT) + kSpan, Ms(kT) + kSpan);
  }
  EXPECT_FALSE(s().MayServe("x", Ms(kT) + kSpan));
}

TEST_F(ClaimantTest, MayServeIsEvaluatedAtEveryCallNotAtTicks) {
  Own("x", Ms(kT));
  s().Tick(Ms(kT + 500));  // Nobody answers any more; no further Tick.
  EXPECT_TRUE(s().MayServe("x", Ms(kT) + kSpan - kNanosecond));
  EXPECT_FALSE(s().MayServe("x", Ms(kT) + kSpan));
}

TEST_F(ClaimantTest, LosesANameAtTheFirstTickAfterTheRuleFailedAndReleasesIt) {
  const ClaimNumber claim = Own("x", Ms(kT));
  s().Tick(Ms(kT) + kSpan - kNanosecond);
  EXPECT_EQ(CountEvents(Take(Ms(kT + 1900)), LockEvent::Kind::kLost), 0u);

  s().Tick(Ms(kT) + kSpan);
  const ClaimantEffects fx = Take(Ms(kT) + kSpan);
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kLost);
  EXPECT_EQ(fx.events[0].name, "x");
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "x"), kAll);
  for (const LockMessage& m : Sent(fx, Kind::kRelease)) {
    for (const LockItem& item : m.items) {
      EXPECT_EQ(item, (LockItem{"x", claim, {}}));
    }
  }
  EXPECT_EQ(s().owned_count(), 0u);
  EXPECT_TRUE(Sent(fx, Kind::kClaim).empty());  // Re-claiming is the owner's call.
}

// ------------------------------------------------------------ no break

TEST_F(ClaimantTest, OnlyAGrantOfAClaimSentWhileTheDeadlineRanCounts) {
  // The CLAIM leaves before any deadline: its grants are void, however fresh
  // the deadline that follows.
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  const std::uint64_t seq = Beat(Ms(kT));
  AckAll(seq, Ms(kT + 10));  // The deadlines start here.
  for (const std::string& v : voters_) {
    Grant(v, {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 11));
  }
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 11)));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT + 9), Ms(kT + 12));  // One millisecond too early.
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 12)));

  // The repair at the next Tick goes out inside the deadlines.
  s().Tick(Ms(kT + 500));
  const ClaimantEffects fx = Take(Ms(kT + 500));
  EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), kAll);
  EXPECT_EQ(FirstItems(fx, Kind::kClaim), (std::vector<LockItem>{{"x", 1_claim, {}}}));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT + 10), Ms(kT + 501));  // Sent as the deadline began.
  Grant("v2", {{"x", 1_claim, {}}}, Ms(kT + 500), Ms(kT + 501));
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 501)));
  EXPECT_EQ(CountEvents(Take(Ms(kT + 501)), LockEvent::Kind::kGranted), 1u);
}

class ClaimantBreakTest : public ClaimantTest {
 protected:
  // Everyone grants x at kT, then heartbeats go out every 500 ms: v1's
  // deadline lapses at kT + span and is renewed at kT + 2010 (a break); v2
  // acknowledges nothing after kT + 1000; v3 acknowledges every one. Returns
  // the time v2's deadline lapses.
  TimePoint LapseAndRenewV1() {
    Own("x", Ms(kT));
    const bool no_break = s().options().rules.no_break;
    for (std::int64_t t = kT + 500; t <= kT + 2500; t += 500) {
      const std::uint64_t seq = Beat(Ms(t));
      // v1 is repaired while it is not counted: after its deadline lapsed,
      // and after the break too unless the no-break rule is off.
      if (t == kT + 2000 || (t == kT + 2500 && no_break)) {
        EXPECT_EQ(SentTo(last_, Kind::kClaim, "x"), std::set<std::string>{"v1"}) << t;
      } else {
        EXPECT_TRUE(Sent(last_, Kind::kClaim).empty()) << t;
      }
      repair_sent_ = Ms(t);
      Ack("v3", seq, Ms(t));
      if (t <= kT + 1000) {
        Ack("v2", seq, Ms(t));
      }
      if (t == kT + 2000) {
        Ack("v1", seq, Ms(t + 10));  // v1's deadline lapsed at kT + span: a break.
      }
      EXPECT_EQ(CountEvents(Take(Ms(t)), LockEvent::Kind::kLost), 0u) << t;
    }
    return Ms(kT + 1000) + kSpan;
  }
  TimePoint repair_sent_{};
};

TEST_F(ClaimantBreakTest, GrantFromALapsedVoterNoLongerCounts) {
  const TimePoint v2_lapse = LapseAndRenewV1();
  EXPECT_TRUE(s().MayServe("x", v2_lapse - kNanosecond));  // v2, v3.
  EXPECT_FALSE(s().MayServe("x", v2_lapse));  // v3 only: v1's grant died with its deadline.
}

TEST_F(ClaimantBreakTest, RepairClaimSentAfterTheBreakWinsTheVoterBack) {
  const TimePoint v2_lapse = LapseAndRenewV1();
  Grant("v1", {{"x", 1_claim, {}}}, repair_sent_, repair_sent_ + milliseconds(1));
  EXPECT_TRUE(s().MayServe("x", v2_lapse));  // v1, v3.
  s().Tick(v2_lapse);
  const ClaimantEffects fx = Take(v2_lapse);
  EXPECT_EQ(CountEvents(fx, LockEvent::Kind::kLost), 0u);
  EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), std::set<std::string>{"v2"});
}

// ------------------------------------------------------------ claim numbers

TEST_F(ClaimantTest, LateGrantOfAnOlderClaimDoesNotCountAndIsReleased) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));  // Claim 1.
  s().Release("x", Ms(kT + 1));
  s().Claim("x", Ms(kT + 2));  // Claim 2.
  Take(Ms(kT + 2));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 3));
  Grant("v2", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 3));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 3)));
  ClaimantEffects fx = Take(Ms(kT + 3));
  EXPECT_TRUE(fx.events.empty());
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "x"), (std::set<std::string>{"v1", "v2"}));
  EXPECT_EQ(FirstItems(fx, Kind::kRelease, "v1"), (std::vector<LockItem>{{"x", 1_claim, {}}}));

  Grant("v1", {{"x", 2_claim, {}}}, Ms(kT + 2), Ms(kT + 4));
  Grant("v2", {{"x", 2_claim, {}}}, Ms(kT + 2), Ms(kT + 4));
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 4)));
}

TEST_F(ClaimantTest, LateDenyOfAnOlderClaimChangesNothing) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  s().Release("x", Ms(kT + 1));
  s().Claim("x", Ms(kT + 2));
  Take(Ms(kT + 2));
  for (const std::string& v : voters_) {
    Deny(v, {{"x", 1_claim, "B"}}, Ms(kT + 3));
  }
  EXPECT_TRUE(Take(Ms(kT + 3)).events.empty());
  EXPECT_TRUE(s().claiming("x"));
  Grant("v1", {{"x", 2_claim, {}}}, Ms(kT + 2), Ms(kT + 4));
  Grant("v3", {{"x", 2_claim, {}}}, Ms(kT + 2), Ms(kT + 4));
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 4)));
}

TEST_F(ClaimantTest, LateReleasedOfAnOlderClaimDoesNotEndTheRepetition) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  s().Release("x", Ms(kT));
  s().Claim("x", Ms(kT));
  s().Release("x", Ms(kT));  // Claim 2 released.
  Take(Ms(kT));
  for (const std::string& v : voters_) {
    Released(v, {{"x", 1_claim, {}}}, Ms(kT + 1));
  }
  EXPECT_TRUE(s().releases_pending());
  for (const std::string& v : voters_) {
    Released(v, {{"x", 2_claim, {}}}, Ms(kT + 2));
  }
  EXPECT_FALSE(s().releases_pending());
}

// ------------------------------------------------------------ releases

TEST_F(ClaimantTest, ReleaseIsRepeatedWithEachTickUntilReleasedArrives) {
  const ClaimNumber claim = Own("x", Ms(kT));
  s().Release("x", Ms(kT + 100));
  ClaimantEffects fx = Take(Ms(kT + 100));
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "x"), kAll);
  EXPECT_EQ(FirstItems(fx, Kind::kRelease, "v2"), (std::vector<LockItem>{{"x", claim, {}}}));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 100)));
  EXPECT_TRUE(s().releases_pending());

  Beat(Ms(kT + 500));  // All lost: all repeated.
  EXPECT_EQ(SentTo(last_, Kind::kRelease, "x"), kAll);

  Released("v1", {{"x", claim, {}}}, Ms(kT + 600));
  Beat(Ms(kT + 1000));
  EXPECT_EQ(SentTo(last_, Kind::kRelease, "x"), (std::set<std::string>{"v2", "v3"}));

  Released("v2", {{"x", claim, {}}}, Ms(kT + 1100));
  Released("v3", {{"x", claim, {}}}, Ms(kT + 1100));
  EXPECT_FALSE(s().releases_pending());
  Beat(Ms(kT + 1500));
  EXPECT_TRUE(Sent(last_, Kind::kRelease).empty());
}

TEST_F(ClaimantTest, GrantThatMatchesNoClaimIsAnsweredWithReleaseUntilReleased) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  Grant("v2", {{"z", 9_claim, {}}}, Ms(kT), Ms(kT + 1));
  ClaimantEffects fx = Take(Ms(kT + 1));
  ASSERT_EQ(fx.messages.size(), 1u);
  EXPECT_EQ(fx.messages[0].kind, Kind::kRelease);
  EXPECT_EQ(fx.messages[0].to, "v2");
  EXPECT_EQ(fx.messages[0].items, (std::vector<LockItem>{{"z", 9_claim, {}}}));
  EXPECT_FALSE(s().MayServe("z", Ms(kT + 1)));

  Beat(Ms(kT + 500));
  EXPECT_EQ(SentTo(last_, Kind::kRelease, "z"), std::set<std::string>{"v2"});
  Released("v2", {{"z", 9_claim, {}}}, Ms(kT + 501));
  Beat(Ms(kT + 1000));
  EXPECT_TRUE(Sent(last_, Kind::kRelease).empty());
  EXPECT_FALSE(s().releases_pending());
}

TEST_F(ClaimantTest, GrantArrivingDuringBackoffIsAnsweredWithRelease) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  Deny("v1", {{"x", 1_claim, "B"}}, Ms(kT + 1));
  Deny("v2", {{"x", 1_claim, "B"}}, Ms(kT + 1));
  Take(Ms(kT + 1));
  Grant("v3", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 2));
  const ClaimantEffects fx = Take(Ms(kT + 2));
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "x"), std::set<std::string>{"v3"});
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 2)));
}

TEST_F(ClaimantTest, ReleaseOfANameNotHeldSendsNothing) {
  s().Release("nope", Ms(kT));
  EXPECT_TRUE(Take(Ms(kT)).messages.empty());
  EXPECT_FALSE(s().releases_pending());
}

// ------------------------------------------------------------ incarnations

TEST_F(ClaimantTest, IgnoresRepliesMeantForAnotherIncarnation) {
  const std::uint64_t seq = Beat(Ms(kT));
  for (const std::string& v : voters_) {  // HB_ACK: no deadline.
    s().Step(FromVoter(Kind::kHbAck, v, VoterInc(v), "A", kOtherInc, {}, 0, seq), Ms(kT));
  }
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  for (const std::string& v : voters_) {
    Grant(v, {{"x", 1_claim, {}}}, Ms(kT), Ms(kT));
  }
  EXPECT_FALSE(s().MayServe("x", Ms(kT)));

  AckAll(Beat(Ms(kT + 500)), Ms(kT + 500));
  s().Claim("y", Ms(kT + 500));
  Take(Ms(kT + 500));
  for (const std::string& v : voters_) {  // GRANT: not counted, not even released.
    s().Step(
        FromVoter(Kind::kGrant, v, VoterInc(v), "A", kOtherInc, {{"y", 2_claim, {}}}, kT + 500),
        Ms(kT + 500));
  }
  EXPECT_FALSE(s().MayServe("y", Ms(kT + 500)));
  for (const std::string& v : voters_) {  // DENY: no give-up.
    s().Step(FromVoter(Kind::kDeny, v, VoterInc(v), "A", kOtherInc, {{"y", 2_claim, "B"}}),
             Ms(kT + 500));
  }
  EXPECT_TRUE(s().claiming("y"));
  s().Release("y", Ms(kT + 500));
  for (const std::string& v : voters_) {  // RELEASED: the repetition goes on.
    s().Step(FromVoter(Kind::kReleased, v, VoterInc(v), "A", kOtherInc, {{"y", 2_claim, {}}}),
             Ms(kT + 500));
  }
  EXPECT_TRUE(s().releases_pending());
  s().Step(FromVoter(Kind::kNack, "v1", VoterInc("v1"), "A", kOtherInc), Ms(kT + 500));
  const ClaimantEffects fx = Take(Ms(kT + 500));
  EXPECT_TRUE(fx.events.empty());                    // Not fatal either.
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "y"), kAll);  // Only the Release above.
  EXPECT_EQ(Sent(fx, Kind::kRelease).size(), 3u);
}

TEST_F(ClaimantTest, NackForItsOwnIncarnationIsFatalOnlyWhenItLastsTheTwinWait) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  Beat(Ms(kT));
  s().Step(FromVoter(Kind::kNack, "v2", VoterInc("v2"), "A", kInc), Ms(kT));
  ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kRefused);
  EXPECT_NE(fx.events[0].reason.find("another live process"), std::string::npos);
  s().Step(FromVoter(Kind::kNack, "v2", VoterInc("v2"), "A", kInc), Ms(kT + wait - 1));
  EXPECT_TRUE(Take(Ms(kT + wait - 1)).events.empty());
  s().Step(FromVoter(Kind::kNack, "v2", VoterInc("v2"), "A", kInc), Ms(kT + wait));
  fx = Take(Ms(kT + wait));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kFatal);
  EXPECT_NE(fx.events[0].reason.find("v2"), std::string::npos) << fx.events[0].reason;
  EXPECT_NE(fx.events[0].reason.find("'A'"), std::string::npos) << fx.events[0].reason;
  EXPECT_NE(fx.events[0].reason.find("another live process"), std::string::npos);
  s().Step(FromVoter(Kind::kNack, "v1", VoterInc("v1"), "A", kInc), Ms(kT + wait + 1));
  EXPECT_TRUE(Take(Ms(kT + wait + 1)).events.empty());  // Fatal once.
}

TEST_F(ClaimantTest, AnAckEndsARunOfNacks) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  Beat(Ms(kT));
  s().Step(FromVoter(Kind::kNack, "v2", VoterInc("v2"), "A", kInc), Ms(kT));
  const std::uint64_t seq = Beat(Ms(kT + wait / 2));
  Ack("v2", seq, Ms(kT + wait / 2));  // The dead predecessor's session lapsed at v2.
  Take(Ms(kT + wait / 2));
  s().Step(FromVoter(Kind::kNack, "v2", VoterInc("v2"), "A", kInc), Ms(kT + wait));
  const ClaimantEffects fx = Take(Ms(kT + wait));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kRefused);  // A new run, not fatal.
}

// ------------------------------------------------------------ settings

TEST_F(ClaimantTest, EveryHeartbeatCarriesTheSettingsOfItsVotersAndTiming) {
  LockTiming timing;
  timing.lease = milliseconds(3000);
  Make(Options({}, timing, 1, {"v3", "v1", "v2"}));
  EXPECT_EQ(s().settings(), "voters=v1,v2,v3 lease=3000ms margin=50ms drift=0.01");
  s().Tick(Ms(kT));
  const ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.heartbeats.size(), 3u);
  for (const protocol::Heartbeat& hb : fx.heartbeats) {
    EXPECT_EQ(hb.settings, s().settings());
  }
}

// A MISMATCH from `voter` (or the broker, "@broker") carrying `theirs`.
LockMessage Mismatch(const std::string& voter, Incarnation node_inc = kInc,
                     const std::string& theirs = "voters=v1 lease=2000ms margin=50ms drift=0.01") {
  LockMessage m = FromVoter(Kind::kMismatch, voter,
                            voter == "@broker" ? Incarnation{} : VoterInc(voter), "A", node_inc);
  m.settings = theirs;
  return m;
}

TEST_F(ClaimantTest, AMismatchIsRefusedNamingBothSettingsThenFatalAfterTheTwinWait) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  const std::string theirs = "voters=v1 lease=2000ms margin=50ms drift=0.01";
  Beat(Ms(kT));
  s().Step(Mismatch("v2"), Ms(kT));
  ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kRefused);
  EXPECT_EQ(fx.events[0].holder, "v2");
  for (const std::string& part : {s().settings(), theirs, std::string("voter v2")}) {
    EXPECT_NE(fx.events[0].reason.find(part), std::string::npos) << fx.events[0].reason;
  }
  s().Step(Mismatch("v2"), Ms(kT + wait - 1));
  EXPECT_TRUE(Take(Ms(kT + wait - 1)).events.empty());
  s().Step(Mismatch("v2"), Ms(kT + wait));
  fx = Take(Ms(kT + wait));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kFatal);
  EXPECT_NE(fx.events[0].reason.find(s().settings()), std::string::npos) << fx.events[0].reason;
  EXPECT_NE(fx.events[0].reason.find(theirs), std::string::npos) << fx.events[0].reason;
  s().Step(Mismatch("v1"), Ms(kT + wait + 1));
  s().Step(Mismatch("v1"), Ms(kT + 3 * wait));
  EXPECT_TRUE(Take(Ms(kT + 3 * wait)).events.empty());  // Fatal once.
}

TEST_F(ClaimantTest, NacksAndMismatchesFromOneVoterAreOneRun) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  s().Step(FromVoter(Kind::kNack, "v2", VoterInc("v2"), "A", kInc), Ms(kT));
  EXPECT_EQ(CountEvents(Take(Ms(kT)), LockEvent::Kind::kRefused), 1u);
  s().Step(Mismatch("v2"), Ms(kT + wait));
  EXPECT_EQ(CountEvents(Take(Ms(kT + wait)), LockEvent::Kind::kFatal), 1u);
}

TEST_F(ClaimantTest, AnAckEndsARunOfMismatches) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  Beat(Ms(kT));
  s().Step(Mismatch("v2"), Ms(kT));
  const std::uint64_t seq = Beat(Ms(kT + wait / 2));
  Ack("v2", seq, Ms(kT + wait / 2));  // v2 was restarted with the right settings.
  Take(Ms(kT + wait / 2));
  s().Step(Mismatch("v2"), Ms(kT + wait));
  const ClaimantEffects fx = Take(Ms(kT + wait));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kRefused);  // A new run, not fatal.
}

// The broker is no voter of this cluster (three voters: no witness), yet its
// refusal counts: it routes nothing to this node and passes on none of its
// lock traffic.
TEST_F(ClaimantTest, AMismatchFromTheBrokerIsARefusalToo) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  s().Step(Mismatch("@broker"), Ms(kT));
  ClaimantEffects fx = Take(Ms(kT));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kRefused);
  EXPECT_NE(fx.events[0].reason.find("the broker"), std::string::npos) << fx.events[0].reason;
  s().Step(Mismatch("@broker"), Ms(kT + wait));
  EXPECT_EQ(CountEvents(Take(Ms(kT + wait)), LockEvent::Kind::kFatal), 1u);
}

TEST_F(ClaimantTest, MismatchesFromStrangersOrForAnotherIncarnationAreIgnored) {
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  for (std::int64_t t : {kT, kT + wait}) {
    LockMessage stranger = Mismatch("v2");
    stranger.from = "zz";
    s().Step(stranger, Ms(t));
    s().Step(Mismatch("v2", kOtherInc), Ms(t));
  }
  EXPECT_TRUE(Take(Ms(kT + wait)).events.empty());
}

TEST_F(ClaimantTest, GrantsOfAVoterThatRefusesItNeverCount) {
  const std::uint64_t seq = Beat(Ms(kT));
  Ack("v1", seq, Ms(kT));
  s().Step(Mismatch("v2"), Ms(kT));
  s().Step(Mismatch("v3"), Ms(kT));
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  for (const char* v : {"v1", "v2", "v3"}) {
    Grant(v, {{"x", 1_claim, {}}}, Ms(kT), Ms(kT));  // v2 and v3 as a confused voter might.
  }
  EXPECT_FALSE(s().MayServe("x", Ms(kT)));
  EXPECT_EQ(CountEvents(Take(Ms(kT)), LockEvent::Kind::kGranted), 0u);
}

TEST_F(ClaimantTest, AMismatchVoidsWhatTheVoterGrantedBefore) {
  Own("x", Ms(kT), {"v2", "v3"});
  ASSERT_TRUE(s().MayServe("x", Ms(kT + 1)));
  s().Step(Mismatch("v3"), Ms(kT + 1));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 1)));
}

TEST_F(ClaimantTest, NewVoterIncarnationVoidsItsOldGrantsAtOnce) {
  Own("x", Ms(kT), {"v1", "v2"});
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 500)));
  const std::uint64_t seq = Beat(Ms(kT + 500));
  // v1 restarted: its ack gives a fresh deadline, but for a new incarnation.
  s().Step(FromVoter(Kind::kHbAck, "v1", Incarnation{0x201}, "A", kInc, {}, 0, seq), Ms(kT + 510));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 510)));
  // A delayed GRANT from the old incarnation changes nothing.
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT + 500), Ms(kT + 511));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 511)));
  s().Tick(Ms(kT + 1000));
  EXPECT_EQ(CountEvents(Take(Ms(kT + 1000)), LockEvent::Kind::kLost), 1u);
}

TEST_F(ClaimantTest, GrantOfAClaimSentBeforeTheNodeSawTheVoterRestartDoesNotCount) {
  Own("x", Ms(kT));
  s().Claim("y", Ms(kT + 400));  // Reaches v1 just before it restarts...
  Take(Ms(kT + 400));
  const std::uint64_t seq = Beat(Ms(kT + 500));
  AckAll(seq, Ms(kT + 500));
  s().Step(FromVoter(Kind::kHbAck, "v1", Incarnation{0x201}, "A", kInc, {}, 0, seq), Ms(kT + 510));
  // ...and the new v1 answers it: its deadline began only at kT + 510.
  s().Step(
      FromVoter(Kind::kGrant, "v1", Incarnation{0x201}, "A", kInc, {{"y", 2_claim, {}}}, kT + 400),
      Ms(kT + 511));
  Grant("v2", {{"y", 2_claim, {}}}, Ms(kT + 400), Ms(kT + 511));
  EXPECT_FALSE(s().MayServe("y", Ms(kT + 511)));
}

// ------------------------------------------------------------ giving up and back-off

TEST_F(ClaimantTest, DeniedByAMajorityReportsTheHolderAndReleasesWhatItGot) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  Grant("v3", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 1));
  Deny("v1", {{"x", 1_claim, "B"}}, Ms(kT + 2));
  EXPECT_TRUE(Take(Ms(kT + 2)).events.empty());  // A majority is still possible.
  Deny("v2", {{"x", 1_claim, "B"}}, Ms(kT + 3));
  const ClaimantEffects fx = Take(Ms(kT + 3));
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kDenied);
  EXPECT_EQ(fx.events[0].name, "x");
  EXPECT_EQ(fx.events[0].holder, "B");
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "x"), kAll);
  EXPECT_FALSE(s().claiming("x"));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 3)));
}

TEST_F(ClaimantTest, GivesUpAsSoonAsAMajorityIsOutOfReach) {
  for (std::size_t n = 1; n <= 6; ++n) {
    std::vector<std::string> voters;
    for (std::size_t i = 1; i <= n; ++i) {
      voters.push_back("v" + std::to_string(i));
    }
    Make(Options({}, {}, 1, voters));
    s().Claim("x", Ms(kT));
    const std::size_t denials_needed = n - Majority(n) + 1;
    for (std::size_t i = 0; i < denials_needed; ++i) {
      EXPECT_TRUE(s().claiming("x")) << n << " voters, " << i << " denials";
      Deny(voters[i], {{"x", 1_claim, "B"}}, Ms(kT));
    }
    EXPECT_FALSE(s().claiming("x")) << n << " voters";
    EXPECT_EQ(CountEvents(Take(Ms(kT)), LockEvent::Kind::kDenied), 1u) << n << " voters";
  }
}

TEST_F(ClaimantTest, ClaimFailsWithoutAMajorityWithinTheClaimTimeout) {
  const Duration timeout = LockTiming().claim_timeout();
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 1));
  s().Tick(Ms(kT) + timeout);
  EXPECT_TRUE(Take(Ms(kT) + timeout).events.empty());
  EXPECT_TRUE(s().claiming("x"));

  s().Tick(Ms(kT) + timeout + kNanosecond);
  const ClaimantEffects fx = Take(Ms(kT) + timeout + kNanosecond);
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kFailed);
  EXPECT_EQ(fx.events[0].name, "x");
  EXPECT_EQ(SentTo(fx, Kind::kRelease, "x"), kAll);
  EXPECT_TRUE(Sent(fx, Kind::kClaim).empty());
  EXPECT_FALSE(s().claiming("x"));
}

// A claim made at kT that no voter answers fails at the claim timeout, F; x is
// claimed again at once. Returns how long after F the next CLAIM went out,
// probing with a Tick every millisecond.
Duration BackoffAfterFailure(std::uint64_t seed) {
  Claimant s(Options({}, {}, seed), Ms(0));
  s.Claim("x", Ms(kT));
  s.TakeEffects(Ms(kT));
  const TimePoint failed = Ms(kT) + LockTiming().claim_timeout() + kNanosecond;
  s.Tick(failed);
  ClaimantEffects fx = s.TakeEffects(failed);
  EXPECT_EQ(CountEvents(fx, LockEvent::Kind::kFailed), 1u);
  s.Claim("x", failed);  // Wanted again: waits for the back-off.
  fx = s.TakeEffects(failed);
  EXPECT_TRUE(Sent(fx, Kind::kClaim).empty());
  EXPECT_TRUE(fx.events.empty());
  for (std::int64_t ms = 0; ms <= 1001; ++ms) {
    s.Tick(failed + milliseconds(ms));
    fx = s.TakeEffects(failed + milliseconds(ms));
    const std::vector<LockMessage> claims = Sent(fx, Kind::kClaim);
    if (!claims.empty()) {
      EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), kAll);
      EXPECT_EQ(claims[0].items, (std::vector<LockItem>{{"x", 2_claim, {}}}));  // A new number.
      EXPECT_TRUE(s.claiming("x"));
      return milliseconds(ms);
    }
  }
  ADD_FAILURE() << "no claim within lease / 2 of the failure";
  return Duration::max();
}

TEST_F(ClaimantTest, ClaimDuringBackoffWaitsAndClaimsAgainWhenBackoffEnds) {
  const Duration backoff = BackoffAfterFailure(1);
  EXPECT_LE(backoff, milliseconds(1000) + milliseconds(1));  // Jitter is within lease / 2.
}

TEST_F(ClaimantTest, BackoffJitterIsDeterministicPerSeedAndDiffersAcrossSeeds) {
  std::set<Duration> seen;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const Duration backoff = BackoffAfterFailure(seed);
    EXPECT_EQ(BackoffAfterFailure(seed), backoff) << "seed " << seed;
    EXPECT_LE(backoff, milliseconds(1001)) << "seed " << seed;
    seen.insert(backoff);
  }
  EXPECT_GE(seen.size(), 4u);
}

// Denied for a holder whose session lapses in 300 ms (if it is dead): the
// back-off ends by then plus a jitter of at most lease / 20, whatever the
// seed. Until then requests go to the holder; at the end, which
// NextBackoffEnd tells and EndBackoffs acts on without waiting for a Tick,
// the name is forgotten and the next request claims it at once.
TEST_F(ClaimantTest, BackoffAfterADenialEndsWhenTheVotersSaidTheHolderLapses) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Make(Options({}, {}, seed));
    s().Claim("x", Ms(kT));
    Take(Ms(kT));
    Deny("v1", {{"x", 1_claim, "B", 250}}, Ms(kT));
    Deny("v2", {{"x", 1_claim, "B", 300}}, Ms(kT));  // The latest hint counts.
    ASSERT_EQ(CountEvents(Take(Ms(kT)), LockEvent::Kind::kDenied), 1u);
    const std::optional<TimePoint> end = s().NextBackoffEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_LE(*end, Ms(kT) + milliseconds(300 + 100)) << "seed " << seed;
    s().EndBackoffs(*end - kNanosecond);
    s().Claim("x", *end - kNanosecond);
    ClaimantEffects fx = Take(*end - kNanosecond);
    EXPECT_TRUE(Sent(fx, Kind::kClaim).empty()) << "seed " << seed;
    EXPECT_EQ(CountEvents(fx, LockEvent::Kind::kDenied), 1u) << "to the holder";
    s().EndBackoffs(*end);
    EXPECT_FALSE(s().NextBackoffEnd().has_value());
    s().Claim("x", *end);
    fx = Take(*end);
    EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), kAll) << "seed " << seed;
    EXPECT_TRUE(s().claiming("x"));
  }
}

// A hint longer than the random back-off does not lengthen it: a live holder
// that releases is followed within lease / 2 as before.
TEST_F(ClaimantTest, ALongHintNeverLengthensTheBackoff) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Make(Options({}, {}, seed));
    s().Claim("x", Ms(kT));
    Take(Ms(kT));
    Deny("v1", {{"x", 1_claim, "B", 2000}}, Ms(kT));
    Deny("v2", {{"x", 1_claim, "B", 2000}}, Ms(kT));
    Take(Ms(kT));
    ASSERT_TRUE(s().NextBackoffEnd().has_value());
    EXPECT_LE(*s().NextBackoffEnd(), Ms(kT) + milliseconds(1000)) << "seed " << seed;
  }
}

// After a failed claim (no holder known) a request during the back-off
// marks the name wanted: EndBackoffs claims it again at the end.
TEST_F(ClaimantTest, EndBackoffsClaimsAgainAWantedName) {
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  const TimePoint failed = Ms(kT) + LockTiming().claim_timeout() + kNanosecond;
  s().Tick(failed);
  ASSERT_EQ(CountEvents(Take(failed), LockEvent::Kind::kFailed), 1u);
  s().Claim("x", failed);
  EXPECT_TRUE(Sent(Take(failed), Kind::kClaim).empty());
  const TimePoint end = *s().NextBackoffEnd();
  EXPECT_LE(end, failed + milliseconds(1000));
  s().EndBackoffs(end);
  EXPECT_EQ(SentTo(Take(end), Kind::kClaim, "x"), kAll);
  EXPECT_TRUE(s().claiming("x"));
}

TEST_F(ClaimantTest, EndBackoffsForgetsANameNobodyAskedForSince) {
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  Deny("v1", {{"x", 1_claim, "B", 100}}, Ms(kT));
  Deny("v2", {{"x", 1_claim, "B", 100}}, Ms(kT));
  Take(Ms(kT));
  const TimePoint end = *s().NextBackoffEnd();
  s().EndBackoffs(end);
  const ClaimantEffects fx = Take(end);
  EXPECT_TRUE(Sent(fx, Kind::kClaim).empty());
  EXPECT_FALSE(s().claiming("x"));
  EXPECT_FALSE(s().NextBackoffEnd().has_value());
}

// After most names went, their rows are compacted at a Tick: what the
// remaining names hold (grants, a denial and its holder) must survive it.
TEST_F(ClaimantTest, NamesKeepTheirVotesWhenTheRowsAreCompacted) {
  AckAll(Beat(Ms(kT)), Ms(kT));
  constexpr int kNames = 3000;
  std::vector<LockItem> items;
  for (int i = 0; i < kNames; ++i) {
    s().Claim(EntityId("n" + std::to_string(i)), Ms(kT));
  }
  const ClaimantEffects claimed = Take(Ms(kT));
  const std::vector<LockMessage> claims = Sent(claimed, Kind::kClaim);
  ASSERT_FALSE(claims.empty());
  for (const LockMessage& c : claims) {
    if (c.to != "v3") {  // v1 and v2 grant: a majority.
      Grant(c.to, c.items, Ms(kT), Ms(kT + 1));
    }
  }
  Take(Ms(kT + 1));
  s().Claim("x", Ms(kT + 1));
  Take(Ms(kT + 1));
  Deny("v3", {{"x", ClaimNumber(kNames + 1), "B"}}, Ms(kT + 1));
  for (int i = 0; i < kNames; ++i) {
    if (i % 100 != 7) {
      s().Release(EntityId("n" + std::to_string(i)), Ms(kT + 2));
    }
  }
  AckAll(Beat(Ms(kT + 2)), Ms(kT + 2));  // Compacts: 31 of 3,001 names left.
  for (int i = 7; i < kNames; i += 100) {
    EXPECT_TRUE(s().MayServe("n" + std::to_string(i), Ms(kT + 3))) << i;
  }
  EXPECT_FALSE(s().MayServe("n8", Ms(kT + 3)));
  // x keeps v3's denial: one more makes a majority out of reach.
  Deny("v1", {{"x", ClaimNumber(kNames + 1), "B"}}, Ms(kT + 3));
  const ClaimantEffects fx = Take(Ms(kT + 3));
  ASSERT_EQ(CountEvents(fx, LockEvent::Kind::kDenied), 1u);
  EXPECT_EQ(fx.events[0].holder, "B");
  // New names take slots after the compacted ones.
  s().Claim("y", Ms(kT + 3));
  EXPECT_TRUE(s().claiming("y"));
}

TEST_F(ClaimantTest, ClaimDuringBackoffAfterADenialReportsTheHolderAgain) {
  s().Claim("x", Ms(kT));
  Deny("v1", {{"x", 1_claim, "B"}}, Ms(kT));
  Deny("v2", {{"x", 1_claim, "B"}}, Ms(kT));
  Take(Ms(kT));
  s().Claim("x", Ms(kT + 1));  // The request goes to B; no new claim.
  const ClaimantEffects fx = Take(Ms(kT + 1));
  EXPECT_TRUE(Sent(fx, Kind::kClaim).empty());
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kDenied);
  EXPECT_EQ(fx.events[0].name, "x");
  EXPECT_EQ(fx.events[0].holder, "B");
}

TEST_F(ClaimantTest, NameNotWantedAfterBackoffIsForgottenAndClaimedAfreshLater) {
  s().Claim("x", Ms(kT));
  Deny("v1", {{"x", 1_claim, "B"}}, Ms(kT));
  Deny("v2", {{"x", 1_claim, "B"}}, Ms(kT));
  Take(Ms(kT));
  for (std::int64_t ms = 0; ms <= 1500; ms += 100) {
    s().Tick(Ms(kT + ms));
    EXPECT_TRUE(Sent(Take(Ms(kT + ms)), Kind::kClaim).empty()) << ms;
  }
  s().Claim("x", Ms(kT + 1600));  // No back-off pending: at once.
  const ClaimantEffects fx = Take(Ms(kT + 1600));
  EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), kAll);
  EXPECT_EQ(FirstItems(fx, Kind::kClaim), (std::vector<LockItem>{{"x", 2_claim, {}}}));
}

// ------------------------------------------------------------ claims of owned names

TEST_F(ClaimantTest, ClaimOfAnOwnedNameReportsGrantedAgain) {
  Own("x", Ms(kT));
  s().Claim("x", Ms(kT + 1));
  const ClaimantEffects fx = Take(Ms(kT + 1));
  EXPECT_TRUE(fx.messages.empty());
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].kind, LockEvent::Kind::kGranted);
}

TEST_F(ClaimantTest, ClaimOfAnOwnedNameWhoseRuleBrokeClaimsWithANewNumber) {
  Own("x", Ms(kT));
  s().Claim("x", Ms(kT) + kSpan);  // No Tick noticed the failure yet.
  const ClaimantEffects fx = Take(Ms(kT) + kSpan);
  EXPECT_EQ(SentTo(fx, Kind::kClaim, "x"), kAll);
  EXPECT_EQ(FirstItems(fx, Kind::kClaim), (std::vector<LockItem>{{"x", 2_claim, {}}}));
  EXPECT_FALSE(s().MayServe("x", Ms(kT) + kSpan));
}

// ------------------------------------------------------------ rules switched off

TEST_F(ClaimantBreakTest, WithoutNoBreakAStaleGrantCountsAgain) {
  Make(Options(Rules("all-no_break")));
  const TimePoint v2_lapse = LapseAndRenewV1();
  // Unsafe: v1 expired the session meanwhile and may have given x away.
  EXPECT_TRUE(s().MayServe("x", v2_lapse));
}

TEST_F(ClaimantTest, WithoutNoBreakANewVoterIncarnationStillVoidsItsOldGrants) {
  Make(Options(Rules("all-no_break")));
  Own("x", Ms(kT), {"v1", "v2"});
  const std::uint64_t seq = Beat(Ms(kT + 500));
  s().Step(FromVoter(Kind::kHbAck, "v1", Incarnation{0x201}, "A", kInc, {}, 0, seq), Ms(kT + 510));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 510)));  // Rule (a) holds without rule (b).
}

TEST_F(ClaimantTest, WithoutNoBreakAGrantOfAClaimSentBeforeTheDeadlineCounts) {
  Make(Options(Rules("all-no_break")));
  s().Claim("x", Ms(kT));
  Take(Ms(kT));
  AckAll(Beat(Ms(kT)), Ms(kT + 10));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 11));
  Grant("v2", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 11));
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 11)));
}

TEST_F(ClaimantTest, WithoutClaimNumbersALateGrantOfAReleasedClaimCounts) {
  Make(Options(Rules("all-claim_numbers")));
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  s().Release("x", Ms(kT + 1));  // The voters free claim 1...
  s().Claim("x", Ms(kT + 2));
  Take(Ms(kT + 2));
  Grant("v1", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 3));  // ...but its grants still count.
  Grant("v2", {{"x", 1_claim, {}}}, Ms(kT), Ms(kT + 3));
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 3)));
}

TEST_F(ClaimantTest, WithoutClaimNumbersALateDenyEndsTheNewClaim) {
  Make(Options(Rules("all-claim_numbers")));
  s().Claim("x", Ms(kT));
  s().Release("x", Ms(kT + 1));
  s().Claim("x", Ms(kT + 2));
  Deny("v1", {{"x", 1_claim, "B"}}, Ms(kT + 3));
  Deny("v2", {{"x", 1_claim, "B"}}, Ms(kT + 3));
  EXPECT_FALSE(s().claiming("x"));
  EXPECT_EQ(CountEvents(Take(Ms(kT + 3)), LockEvent::Kind::kDenied), 1u);
}

TEST_F(ClaimantTest, WithoutIncarnationEchoGrantsForAnotherIncarnationCount) {
  Make(Options(Rules("all-incarnation_echo")));
  AckAll(Beat(Ms(kT)), Ms(kT));
  s().Claim("x", Ms(kT));
  for (const char* v : {"v1", "v2"}) {
    s().Step(FromVoter(Kind::kGrant, v, VoterInc(v), "A", kOtherInc, {{"x", 1_claim, {}}}, kT),
             Ms(kT));
  }
  EXPECT_TRUE(s().MayServe("x", Ms(kT)));  // Unsafe: the voters hold x for the other one.
}

TEST_F(ClaimantTest, WithoutIncarnationEchoTheOldProcessDiesOfItsReplacementsNack) {
  Make(Options(Rules("all-incarnation_echo")));
  const std::int64_t wait = ToMillis(Options().timing.twin_wait());
  s().Step(FromVoter(Kind::kNack, "v1", VoterInc("v1"), "A", kOtherInc), Ms(kT));
  EXPECT_EQ(CountEvents(Take(Ms(kT)), LockEvent::Kind::kRefused), 1u);
  s().Step(FromVoter(Kind::kNack, "v1", VoterInc("v1"), "A", kOtherInc), Ms(kT + wait));
  EXPECT_EQ(CountEvents(Take(Ms(kT + wait)), LockEvent::Kind::kFatal), 1u);
}

TEST_F(ClaimantTest, WithoutSessionMarginTheDeadlineIsSentPlusTheWholeLease) {
  Make(Options(Rules("all-session_margin")));
  Own("x", Ms(kT));
  EXPECT_TRUE(s().MayServe("x", Ms(kT) + kSpan));
  EXPECT_TRUE(s().MayServe("x", Ms(kT + 2000) - kNanosecond));
  EXPECT_FALSE(s().MayServe("x", Ms(kT + 2000)));
}

TEST_F(ClaimantTest, WithoutReleaseRepeatReleasesOnceAndLeavesStrayGrantsHeld) {
  Make(Options(Rules("all-release_repeat")));
  Own("x", Ms(kT));
  s().Release("x", Ms(kT + 1));
  EXPECT_EQ(SentTo(Take(Ms(kT + 1)), Kind::kRelease, "x"), kAll);
  EXPECT_FALSE(s().releases_pending());
  Beat(Ms(kT + 500));
  EXPECT_TRUE(Sent(last_, Kind::kRelease).empty());  // Lost once, lost for good.
  Grant("v2", {{"z", 9_claim, {}}}, Ms(kT), Ms(kT + 501));
  EXPECT_TRUE(Take(Ms(kT + 501)).messages.empty());  // v2 keeps z for a node that does not want it.
}

}  // namespace
}  // namespace tenure::lock
