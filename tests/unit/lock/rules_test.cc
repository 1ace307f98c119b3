// Tests of the pure quorum helpers of the lock table (tenure/lock/rules.h):
// Majority, the rule switches' parser, and the timing defaults of DESIGN §4.
#include "tenure/lock/rules.h"

#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tenure::lock {
namespace {

struct MajorityCase {
  std::size_t voters;
  std::size_t needed;
};

TEST(Majority, IsAStrictMajorityOfTheVoters) {
  const MajorityCase cases[] = {
      {0, 1},  // By convention an empty voter set needs one vote, which it never gets.
      {1, 1},  // A sole voter decides alone.
      {2, 2},  // Two voters: both (this is why the broker joins as witness).
      {3, 2},  // The usual set: one voter may be down.
      {4, 3},  // Even: half is not enough.
      {5, 3},  // Two voters may be down.
      {6, 4},  // Even again: half plus one.
  };
  for (const MajorityCase& c : cases) {
    EXPECT_EQ(Majority(c.voters), c.needed) << c.voters << " voters";
  }
}

TEST(Majority, TwoMajoritiesOfOneSetAlwaysShareAVoter) {
  for (std::size_t n = 1; n <= 6; ++n) {
    EXPECT_GT(2 * Majority(n), n) << n << " voters";
  }
}

TEST(LockRules, DefaultSwitchesEveryRuleOn) {
  const LockRules rules;
  EXPECT_TRUE(rules.claim_numbers);
  EXPECT_TRUE(rules.no_break);
  EXPECT_TRUE(rules.incarnation_echo);
  EXPECT_TRUE(rules.quiet_period);
  EXPECT_TRUE(rules.session_margin);
  EXPECT_TRUE(rules.release_repeat);
  EXPECT_TRUE(rules.settings_check);
  EXPECT_EQ(rules.ToString(),
            "claim_numbers,no_break,incarnation_echo,quiet_period,session_margin,release_repeat,"
            "settings_check");
}

TEST(LockRules, ParsesAll) {
  LockRules rules;
  rules.no_break = false;
  ASSERT_TRUE(LockRules::Parse("all", rules));
  EXPECT_EQ(rules.ToString(), LockRules().ToString());
}

TEST(LockRules, ParsesNone) {
  LockRules rules;
  ASSERT_TRUE(LockRules::Parse("none", rules));
  EXPECT_FALSE(rules.claim_numbers);
  EXPECT_FALSE(rules.no_break);
  EXPECT_FALSE(rules.incarnation_echo);
  EXPECT_FALSE(rules.quiet_period);
  EXPECT_FALSE(rules.session_margin);
  EXPECT_FALSE(rules.release_repeat);
  EXPECT_FALSE(rules.settings_check);
  EXPECT_EQ(rules.ToString(), "none");
}

TEST(LockRules, ParsesAllButOne) {
  LockRules rules;
  ASSERT_TRUE(LockRules::Parse("all-no_break", rules));
  EXPECT_FALSE(rules.no_break);
  EXPECT_TRUE(rules.claim_numbers);
  EXPECT_TRUE(rules.incarnation_echo);
  EXPECT_TRUE(rules.quiet_period);
  EXPECT_TRUE(rules.session_margin);
  EXPECT_TRUE(rules.release_repeat);
}

TEST(LockRules, ParsesAllButSeveral) {
  LockRules rules;
  ASSERT_TRUE(LockRules::Parse("all-quiet_period,release_repeat", rules));
  EXPECT_EQ(rules.ToString(),
            "claim_numbers,no_break,incarnation_echo,session_margin,settings_check");
}

TEST(LockRules, KnowsTheSettingsCheckByName) {
  LockRules rules;
  ASSERT_TRUE(LockRules::Parse("all-settings_check", rules));
  EXPECT_FALSE(rules.settings_check);
  EXPECT_TRUE(rules.claim_numbers);
  ASSERT_TRUE(LockRules::Parse("settings_check", rules));
  EXPECT_TRUE(rules.settings_check);
  EXPECT_FALSE(rules.no_break);
  EXPECT_EQ(rules.ToString(), "settings_check");
}

TEST(LockRules, ParsesAListOfRulesToSwitchOn) {
  LockRules rules;
  ASSERT_TRUE(LockRules::Parse("claim_numbers,no_break", rules));
  EXPECT_TRUE(rules.claim_numbers);
  EXPECT_TRUE(rules.no_break);
  EXPECT_FALSE(rules.incarnation_echo);
  EXPECT_FALSE(rules.quiet_period);
  EXPECT_FALSE(rules.session_margin);
  EXPECT_FALSE(rules.release_repeat);
  EXPECT_FALSE(rules.settings_check);
}

TEST(LockRules, ToStringParsesBackToTheSameRules) {
  for (const char* text :
       {"all", "none", "all-no_break", "claim_numbers,no_break", "incarnation_echo",
        "session_margin,release_repeat", "all-settings_check"}) {
    LockRules rules;
    ASSERT_TRUE(LockRules::Parse(text, rules)) << text;
    LockRules again;
    ASSERT_TRUE(LockRules::Parse(rules.ToString(), again)) << rules.ToString();
    EXPECT_EQ(again.ToString(), rules.ToString()) << text;
  }
}

TEST(LockRules, RejectsUnknownNamesAndLeavesTheOutputAlone) {
  for (const char* text : {"cid", "no-break", "all-cid", "claim_numbers,bogus", "ALL",
                           "all-no_break,x", ",no_break"}) {
    LockRules rules;
    rules.quiet_period = false;
    EXPECT_FALSE(LockRules::Parse(text, rules)) << text;
    EXPECT_FALSE(rules.quiet_period) << text;
    EXPECT_TRUE(rules.claim_numbers) << text;
  }
}

TEST(LockRules, TimingDefaultsFollowTheDesign) {
  const LockTiming timing;
  EXPECT_EQ(timing.lease, milliseconds(2000));
  EXPECT_EQ(timing.heartbeat_interval(), milliseconds(500));  // lease / 4
  EXPECT_EQ(timing.quiet_period(), milliseconds(2050));       // lease + margin
  EXPECT_GT(timing.claim_timeout(), timing.quiet_period());   // A start's claims can wait it out.
}

struct VotersCase {
  std::vector<NodeId> configured;
  NodeId self;
  std::vector<NodeId> effective;
};

TEST(LockRules, EffectiveVotersAddTheBrokerWitnessToAnEvenSet) {
  const NodeId w = WitnessId();
  const VotersCase cases[] = {
      {{}, "n1", {"n1"}},                     // No voters configured: a node votes for itself.
      {{}, "", {}},                           // ...and the broker has no vote.
      {{"n1"}, "n2", {"n1"}},                 // Odd: as configured.
      {{"n1", "n2"}, "n1", {"n1", "n2", w}},  // Even: plus the witness.
      {{"n1", "n2", "n3"}, "", {"n1", "n2", "n3"}},
      {{"n1", "n2", "n3", "n4"}, "", {"n1", "n2", "n3", "n4", w}},
  };
  for (const VotersCase& c : cases) {
    const std::vector<NodeId> voters = EffectiveVoters(c.configured, c.self);
    EXPECT_EQ(voters, c.effective) << c.configured.size() << " configured, self '" << c.self << "'";
    EXPECT_EQ(voters.size() % 2, c.effective.empty() ? 0u : 1u);
  }
}

struct SettingsCase {
  std::vector<NodeId> voters;
  LockTiming timing;
  std::string text;
};

LockTiming Timing(Duration lease, Duration margin, double drift) {
  LockTiming t;
  t.lease = lease;
  t.margin = margin;
  t.drift = drift;
  return t;
}

TEST(SettingsText, NamesTheSortedVotersAndTheTimingExactly) {
  using std::chrono::microseconds;
  using std::chrono::nanoseconds;
  const SettingsCase cases[] = {
      // The usual three voters, in any order, with the default timing.
      {{"foo", "bar", "baz"}, {}, "voters=bar,baz,foo lease=2000ms margin=50ms drift=0.01"},
      {{"baz", "foo", "bar"}, {}, "voters=bar,baz,foo lease=2000ms margin=50ms drift=0.01"},
      // Two voters and the witness: '@' sorts first.
      {EffectiveVoters({"foo", "bar"}, ""),
       {},
       "voters=@broker,bar,foo lease=2000ms margin=50ms drift=0.01"},
      // A node with no --voters votes for itself alone.
      {EffectiveVoters({}, "solo"), {}, "voters=solo lease=2000ms margin=50ms drift=0.01"},
      // No voter at all (a broker without --voters): nothing matches it by chance.
      {{}, {}, "voters= lease=2000ms margin=50ms drift=0.01"},
      // Durations in the largest unit that keeps them exact; drift as short as it reads back.
      {{"a"},
       Timing(milliseconds(3000), microseconds(1500), 0.125),
       "voters=a lease=3000ms margin=1500us drift=0.125"},
      {{"a"},
       Timing(milliseconds(2000) - nanoseconds(1), milliseconds(0), 0.0),
       "voters=a lease=1999999999ns margin=0ms drift=0"},
  };
  for (const SettingsCase& c : cases) {
    EXPECT_EQ(SettingsText(c.voters, c.timing), c.text);
  }
}

TEST(SettingsText, DiffersWhenAnythingSafetyDependsOnDiffers) {
  const std::string base = SettingsText({"v1", "v2", "v3"}, {});
  EXPECT_NE(SettingsText({"v1"}, {}), base);                          // A subset.
  EXPECT_NE(SettingsText({"v1", "v2", "v3", "v4", "v5"}, {}), base);  // A superset.
  EXPECT_NE(SettingsText({"v1", "v2", "v2"}, {}), base);              // A repeated voter.
  EXPECT_NE(SettingsText({"v1", "v2", "v3"}, Timing(milliseconds(3000), milliseconds(50), 0.01)),
            base);
  EXPECT_NE(SettingsText({"v1", "v2", "v3"}, Timing(milliseconds(2000), milliseconds(60), 0.01)),
            base);
  EXPECT_NE(SettingsText({"v1", "v2", "v3"}, Timing(milliseconds(2000), milliseconds(50), 0.02)),
            base);
  // The witness is part of the set: an even list with and without it differ.
  EXPECT_NE(SettingsText(EffectiveVoters({"v1", "v2"}, ""), {}), SettingsText({"v1", "v2"}, {}));
}

}  // namespace
}  // namespace tenure::lock
