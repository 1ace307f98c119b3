// Scenarios of the name lock table (DESIGN §4) with real Sessions and Voters
// carried over Net (lock_test_util.h): three voters, nodes that claim, lose,
// restart and run twice, and messages that are lost, held back and reordered.
//
// ClaimantWithVoters shows the rules at work. LockRulesOff replays, for each
// rule switch of LockRules, a trace in which that rule is what keeps two
// nodes (or two processes of one node id) from serving one name at once (or,
// for release_repeat, keeps a name from being blocked for good): with every
// rule on the outcome is safe, with that one rule off it is not.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tenure/lock/claimant.h"
#include "tenure/lock/voter.h"

#include "unit/lock/lock_test_util.h"

namespace tenure::lock {
namespace {

using namespace tenure::literals;
using testing::Envelope;
using testing::Fate;
using testing::Kind;
using testing::Net;
using testing::Rules;

constexpr Incarnation kIncA{0xA1};
constexpr Incarnation kIncA2{0xA2};
constexpr Incarnation kIncA3{0xA3};
constexpr Incarnation kIncB{0xB1};

std::string Join(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& l : labels) {
    out += (out.empty() ? "" : ",") + l;
  }
  return "{" + out + "}";
}

// Voters v1, v2, v3 (incarnations 0x101..) and nodes A and B; nobody has sent
// anything yet, and real time is 0.
std::unique_ptr<Net> ThreeVoters(LockRules rules = {}) {
  auto net = std::make_unique<Net>(std::vector<std::string>{"v1", "v2", "v3"}, rules);
  for (int i = 1; i <= 3; ++i) {
    net->AddVoter("v" + std::to_string(i), Incarnation(0x100 + i));
  }
  net->AddNode("A", "A", kIncA);
  net->AddNode("B", "B", kIncB, /*seed=*/2);
  return net;
}

void ExpectAtMostOneServes(Net& net, const std::string& name) {
  const std::vector<std::string> serving = net.Serving(name);
  EXPECT_LE(serving.size(), 1u) << name << " at " << ToMillis(net.real()) << " ms is served by "
                                << Join(serving);
}

// ------------------------------------------------------------ the rules at work

TEST(ClaimantWithVoters, OwnerKeepsItsNameWhileHeartbeatsFlow) {
  auto net = ThreeVoters();
  net->TickAll();
  net->Claim("A", "x");
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});
  net->RunUntil(milliseconds(30'000), [&] { ExpectAtMostOneServes(*net, "x"); });
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});
  EXPECT_EQ(net->CountEvents("A", LockEvent::Kind::kLost, "x"), 0u);
  for (const char* v : {"v1", "v2", "v3"}) {
    EXPECT_EQ(net->voter(v).HolderOf("x"), (Holder{"A", kIncA, 1_claim})) << v;
  }
}

TEST(ClaimantWithVoters, ClaimantIsDeniedNamingTheHolderAndWinsAfterTheRelease) {
  auto net = ThreeVoters();
  net->TickAll();
  net->Claim("A", "x");
  net->Advance(milliseconds(10));
  net->Claim("B", "x");
  ASSERT_EQ(net->CountEvents("B", LockEvent::Kind::kDenied, "x"), 1u);
  EXPECT_EQ(net->events("B").back().holder, "A");
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});

  net->Advance(milliseconds(10));
  net->Release("A", "x");
  EXPECT_FALSE(net->node("A").releases_pending());  // Every voter acknowledged.
  EXPECT_TRUE(net->Serving("x").empty());

  // B's requests keep asking for x; its back-off ends within lease / 2.
  net->RunUntil(milliseconds(2000), [&] {
    ExpectAtMostOneServes(*net, "x");
    if (!net->MayServe("B", "x")) {
      net->Claim("B", "x");
    }
  });
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"B"});
  EXPECT_EQ(net->CountEvents("B", LockEvent::Kind::kGranted, "x"), 1u);
  EXPECT_EQ(net->voter("v2").HolderOf("x"), (Holder{"B", kIncB, 2_claim}));  // B's second claim.
}

TEST(ClaimantWithVoters, ManyNamesTravelInOneMessagePerVoter) {
  auto net = ThreeVoters();
  net->TickAll();
  const std::size_t before = net->sent().size();
  for (int i = 0; i < 500; ++i) {
    net->node("A").Claim(EntityId("e" + std::to_string(i)), net->Now("A"));
  }
  net->Flush();
  EXPECT_EQ(net->node("A").owned_count(), 500u);
  EXPECT_EQ(net->sent().size() - before, 6u);  // A CLAIM to and a GRANT from each voter.
  const std::vector<Envelope> grants = net->SentBetween("v1", "A", Kind::kGrant);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].lock()->items.size(), 500u);
}

TEST(ClaimantWithVoters, NodeStopsServingBeforeAnyVoterCanGiveItsNameAway) {
  // Worst drift: the voters' clocks run 1% fast, A's 1% slow.
  auto net = ThreeVoters();
  for (const char* v : {"v1", "v2", "v3"}) {
    net->SetClock(v, 1.01);
  }
  net->SetClock("A", 0.99);
  net->TickAll();
  net->Claim("A", "x");
  for (const char* v : {"v1", "v2", "v3"}) {
    net->Cut("A", v);  // A's heartbeats stop arriving.
  }
  bool lapsed_somewhere = false;
  for (int ms = 1; ms <= 2500; ++ms) {
    net->AdvanceTo(milliseconds(ms));
    if (ms % 500 == 0) {
      net->TickAll();
    }
    for (const char* v : {"v1", "v2", "v3"}) {
      if (!net->voter(v).HasSession("A", kIncA, net->Now(v))) {
        lapsed_somewhere = true;
        EXPECT_FALSE(net->MayServe("A", "x")) << "A serves at " << ms << " ms, lapsed at " << v;
      }
    }
  }
  EXPECT_TRUE(lapsed_somewhere);
  net->Claim("B", "x");
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"B"});
}

TEST(ClaimantWithVoters, RestartedVoterStaysQuietThenRepairWinsItBack) {
  auto net = ThreeVoters();
  net->TickAll();
  net->Claim("A", "x");  // Claim 1, granted by all three.
  net->AdvanceTo(milliseconds(100));
  net->RestartVoter("v1", Incarnation{0x201});
  const std::size_t restart = net->sent().size();

  // A's heartbeat at 500 ms is the new v1's first input: quiet until 2550 ms.
  net->RunUntil(milliseconds(2500), [&] { ExpectAtMostOneServes(*net, "x"); });
  std::size_t repairs = 0;
  for (std::size_t i = restart; i < net->sent().size(); ++i) {
    const Envelope& e = net->sent()[i];
    if (e.from == "v1") {
      EXPECT_TRUE(e.Is(Kind::kHbAck)) << "v1 answered a claim during its quiet period";
      EXPECT_EQ(e.lock()->from_incarnation, Incarnation{0x201});
    }
    if (e.Between("A", "v1") && e.Is(Kind::kClaim)) {
      ++repairs;  // A repair: the claim in progress, same number.
      EXPECT_EQ(e.lock()->items, (std::vector<protocol::LockItem>{{"x", 1_claim, {}}}));
    }
  }
  EXPECT_EQ(repairs, 4u);  // At 1000, 1500, 2000 and 2500 ms.
  EXPECT_EQ(net->voter("v1").HolderOf("x"), std::nullopt);
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});  // v2 and v3.

  net->RunUntil(milliseconds(3000));  // The repair at 3000 ms is answered.
  EXPECT_EQ(net->voter("v1").HolderOf("x"), (Holder{"A", kIncA, 1_claim}));

  // v1 counts again: A keeps x when v2 stops hearing from it.
  net->Cut("A", "v2");
  net->RunUntil(milliseconds(8000), [&] { ExpectAtMostOneServes(*net, "x"); });
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});
  EXPECT_EQ(net->CountEvents("A", LockEvent::Kind::kLost, "x"), 0u);
}

TEST(ClaimantWithVoters, NodeStopsCountingARestartedVoterAsSoonAsItSeesTheNewIncarnation) {
  auto net = ThreeVoters();
  net->Cut("A", "v3");
  net->TickAll();
  net->Claim("A", "x");  // v1 and v2 only: a bare majority.
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});
  net->AdvanceTo(milliseconds(100));
  net->RestartVoter("v1", Incarnation{0x201});
  net->AdvanceTo(milliseconds(500));
  net->Tick("A");  // Its HB_ACK names v1's new incarnation.
  EXPECT_FALSE(net->MayServe("A", "x"));
  net->AdvanceTo(milliseconds(1000));
  net->Tick("A");
  EXPECT_EQ(net->CountEvents("A", LockEvent::Kind::kLost, "x"), 1u);
}

TEST(ClaimantWithVoters, SecondLiveProcessExitsButAQuickRestartWaitsForTheOldSessionToLapse) {
  auto net = ThreeVoters();
  net->TickAll();
  net->Claim("A", "x");
  net->AdvanceTo(milliseconds(100));
  net->AddNode("A#2", "A", kIncA2);  // Same node id, started by mistake.
  net->Tick("A#2");
  EXPECT_EQ(net->CountEvents("A#2", LockEvent::Kind::kRefused, ""), 3u);  // One per voter.
  EXPECT_EQ(net->CountEvents("A#2", LockEvent::Kind::kFatal, ""), 0u);    // Maybe a restart.
  EXPECT_EQ(net->CountEvents("A", LockEvent::Kind::kRefused, ""), 0u);    // Not meant for A.
  // A lives on and keeps its session: A#2 is refused for twin_wait() and exits.
  for (int ms = 150; ms <= 100 + 2 * 2000; ms += 50) {
    net->AdvanceTo(milliseconds(ms));
    net->Tick("A");
    net->Tick("A#2");
  }
  EXPECT_EQ(net->CountEvents("A#2", LockEvent::Kind::kFatal, ""), 1u);  // Once, not per voter.
  EXPECT_EQ(net->CountEvents("A", LockEvent::Kind::kFatal, ""), 0u);
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});
  net->Crash("A#2");  // It exits, as kFatal says.

  net->AdvanceTo(milliseconds(4200));
  net->Crash("A");  // The first process dies, a heartbeat interval after its last one.
  net->AdvanceTo(milliseconds(4300));
  net->AddNode("A#3", "A", kIncA3);  // The supervisor restarts it at once: refused, not fatal.
  for (int ms = 4300; ms <= 6500; ms += 50) {
    net->AdvanceTo(milliseconds(ms));
    net->Tick("A#3");
  }
  EXPECT_EQ(net->CountEvents("A#3", LockEvent::Kind::kRefused, ""), 3u);
  EXPECT_EQ(net->CountEvents("A#3", LockEvent::Kind::kFatal, ""), 0u);
  for (const char* v : {"v1", "v2", "v3"}) {
    EXPECT_EQ(net->voter(v).HolderOf("x"), std::nullopt) << v;  // Freed by the new session.
  }
  net->Claim("A#3", "x");
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A#3"});
}

TEST(ClaimantWithVoters, SupervisorRestartAfterTheOldSessionLapsedIsAcceptedAtOnce) {
  auto net = ThreeVoters();
  net->TickAll();
  net->Claim("A", "x");

  net->AdvanceTo(milliseconds(200));
  net->Crash("A");  // The first process dies; its last heartbeat reached the voters at 0.
  for (int ms = 250; ms <= 2000; ms += 250) {  // B keeps the voters from falling silent.
    net->AdvanceTo(milliseconds(ms));
    net->Tick("B");
  }
  net->AddNode("A#3", "A", kIncA3);  // The supervisor's restart, once the session lapsed.
  net->Tick("A#3");
  EXPECT_EQ(net->CountEvents("A#3", LockEvent::Kind::kFatal, ""), 0u);
  for (const char* v : {"v1", "v2", "v3"}) {
    EXPECT_EQ(net->voter(v).HolderOf("x"), std::nullopt) << v;  // Freed by the new session.
  }
  net->Claim("A#3", "x");
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A#3"});
}

// ------------------------------------------------------------ each rule switched off

// claim_numbers: A releases claim 1 and claims again (claim 2); the RELEASE of
// claim 1 reaches v1 and v2 late; then B claims.
std::vector<std::string> LateReleaseTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  net->TickAll();
  net->Claim("A", "x");
  const int hold = net->AddRule([](const Envelope& e) {
    return e.from == "A" && e.to != "v3" && e.Is(Kind::kRelease) ? Fate::kHold : Fate::kDeliver;
  });
  net->Advance(milliseconds(10));
  net->Release("A", "x");
  net->RemoveRule(hold);
  net->Advance(milliseconds(10));
  net->Claim("A", "x");
  EXPECT_EQ(net->Serving("x"), std::vector<std::string>{"A"});
  net->Advance(milliseconds(10));
  net->DeliverHeld();
  net->Advance(milliseconds(10));
  net->Claim("B", "x");
  return net->Serving("x");
}

TEST(LockRulesOff, WithoutClaimNumbersALateReleaseFreesANewerGrantAndTwoNodesServe) {
  EXPECT_EQ(LateReleaseTrace(Rules("all")), std::vector<std::string>{"A"});
  EXPECT_EQ(LateReleaseTrace(Rules("all-claim_numbers")), (std::vector<std::string>{"A", "B"}));
}

// claim_numbers: A's GRANTs for claim 1 are held back; A releases claim 1 and
// claims again (claim 2, whose CLAIMs are lost); the old GRANTs arrive; then
// B claims the name the voters hold for nobody.
std::vector<std::string> LateGrantTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  net->TickAll();
  const int hold = net->Filter(Kind::kGrant, "", Fate::kHold, "A");
  net->Advance(milliseconds(10));
  net->Claim("A", "x");
  net->Advance(milliseconds(10));
  net->Release("A", "x");
  net->RemoveRule(hold);
  net->Filter(Kind::kClaim, "A", Fate::kDrop);
  net->Advance(milliseconds(10));
  net->Claim("A", "x");
  net->Advance(milliseconds(10));
  EXPECT_EQ(net->held_count(), 3u);
  net->DeliverHeld();
  net->Advance(milliseconds(10));
  net->Claim("B", "x");
  return net->Serving("x");
}

TEST(LockRulesOff, WithoutClaimNumbersALateGrantOfAReleasedClaimCountsAndTwoNodesServe) {
  EXPECT_EQ(LateGrantTrace(Rules("all")), std::vector<std::string>{"B"});
  EXPECT_EQ(LateGrantTrace(Rules("all-claim_numbers")), (std::vector<std::string>{"A", "B"}));
}

// no_break: A owns x at v1, v2, v3. A's heartbeats stop reaching v1 (0 ms to
// 2250 ms), which expires A's session at 2000 ms; B claims x and gets v1 (its
// other CLAIMs are lost until 2999 ms). A's heartbeats reach v1 again, so
// its deadline there is renewed. Then A's heartbeats stop reaching v2 (from
// 1001 ms): v2 expires A at 3000 ms and grants B's repair. A still has v3 and
// the grant it got from v1 before the break.
std::vector<std::string> BreakTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  net->TickAll();
  net->Claim("A", "x");
  const int a_v1 = net->Cut("A", "v1");
  const int b_v2 = net->Filter(Kind::kClaim, "B", Fate::kDrop, "v2");
  net->Cut("B", "v3");
  net->RunUntil(milliseconds(1000));
  net->Cut("A", "v2");
  net->RunUntil(milliseconds(2100));
  net->Claim("B", "x");
  EXPECT_EQ(net->voter("v1").HolderOf("x"), (Holder{"B", kIncB, 1_claim}));
  net->RunUntil(milliseconds(2250));
  net->RemoveRule(a_v1);
  net->RunUntil(milliseconds(2999));
  EXPECT_TRUE(net->voter("v1").HasSession("A", kIncA, net->Now("v1")));  // Renewed.
  net->RemoveRule(b_v2);
  net->RunUntil(milliseconds(3000));
  EXPECT_TRUE(net->MayServe("B", "x"));
  return net->Serving("x");
}

TEST(LockRulesOff, WithoutNoBreakAGrantComesBackToLifeAndTwoNodesServe) {
  EXPECT_EQ(BreakTrace(Rules("all")), std::vector<std::string>{"B"});
  EXPECT_EQ(BreakTrace(Rules("all-no_break")), (std::vector<std::string>{"A", "B"}));
}

// incarnation_echo: two processes with id A start together, A (incarnation
// A1) and A#2 (A2), and tick in step, so that their heartbeats carry the
// same seq. Everything A sends is lost: the voters know A2 alone. The broker
// hands the replies for A to both processes. Both claim x (claim 1 each);
// the voters grant A2.
std::vector<std::string> TwinTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  net->AddNode("A#2", "A", kIncA2);
  for (const char* v : {"v1", "v2", "v3"}) {
    net->Cut("A", v);
  }
  net->TickAll();
  net->Advance(milliseconds(50));
  net->Claim("A", "x");
  net->Claim("A#2", "x");
  EXPECT_EQ(net->voter("v1").HolderOf("x"), (Holder{"A", kIncA2, 1_claim}));
  return net->Serving("x");
}

TEST(LockRulesOff, WithoutIncarnationEchoAProcessTakesItsTwinsGrantsAndTwoServe) {
  EXPECT_EQ(TwinTrace(Rules("all")), std::vector<std::string>{"A#2"});
  EXPECT_EQ(TwinTrace(Rules("all-incarnation_echo")), (std::vector<std::string>{"A", "A#2"}));
}

// settings_check: R is started with --voters v1 (a cluster of one voter, as
// it sees it) beside the cluster v1, v2, v3. R claims x and v1 alone grants
// it: a majority of R's one voter. B claims x: v1 denies (R holds it), v2 and
// v3 grant: a majority of three.
std::unique_ptr<Net> SubsetVotersTrace(LockRules rules) {
  auto net = std::make_unique<Net>(std::vector<std::string>{"v1", "v2", "v3"}, rules);
  for (int i = 1; i <= 3; ++i) {
    net->AddVoter("v" + std::to_string(i), Incarnation(0x100 + i));
  }
  net->AddNode("B", "B", kIncB);
  net->AddMisconfiguredNode("R", "R", Incarnation{0xC1}, {"v1"}, LockTiming{});
  net->TickAll();
  net->Advance(milliseconds(10));
  net->Claim("R", "x");
  net->Advance(milliseconds(10));
  net->Claim("B", "x");
  return net;
}

TEST(LockRulesOff, WithoutSettingsCheckANodeWithASubsetOfTheVotersServesBesideTheCluster) {
  auto off = SubsetVotersTrace(Rules("all-settings_check"));
  EXPECT_EQ(off->Serving("x"), (std::vector<std::string>{"B", "R"}));

  auto on = SubsetVotersTrace(Rules("all"));
  EXPECT_EQ(on->Serving("x"), std::vector<std::string>{"B"});
  EXPECT_EQ(on->CountEvents("R", LockEvent::Kind::kRefused, ""), 1u);  // From v1.
  EXPECT_NE(on->events("R").front().reason.find("voters=v1,v2,v3"), std::string::npos)
      << on->events("R").front().reason;
  // R keeps asking for x; it never serves, and exits after the twin wait.
  on->RunUntil(milliseconds(5000), [&] {
    ExpectAtMostOneServes(*on, "x");
    EXPECT_FALSE(on->MayServe("R", "x"));
    on->Claim("R", "x");
  });
  EXPECT_EQ(on->Serving("x"), std::vector<std::string>{"B"});
  EXPECT_EQ(on->CountEvents("R", LockEvent::Kind::kFatal, ""), 1u);
}

// The same with a node whose lease is longer than its voters': it counts v1,
// v2 and v3 for longer than they keep its session. Its heartbeats are cut
// from 0 ms on, as if it were paused; the voters expire its session after
// 2000 ms and B claims x at 2100 ms.
std::unique_ptr<Net> LongLeaseTrace(LockRules rules) {
  auto net = std::make_unique<Net>(std::vector<std::string>{"v1", "v2", "v3"}, rules);
  for (int i = 1; i <= 3; ++i) {
    net->AddVoter("v" + std::to_string(i), Incarnation(0x100 + i));
  }
  LockTiming longer;
  longer.lease = milliseconds(4000);
  net->AddMisconfiguredNode("L", "L", Incarnation{0xD1}, {"v1", "v2", "v3"}, longer);
  net->AddNode("B", "B", kIncB);
  net->TickAll();
  net->Claim("L", "x");
  for (const char* v : {"v1", "v2", "v3"}) {
    net->Cut("L", v);
  }
  net->RunUntil(milliseconds(2100));
  net->Claim("B", "x");
  return net;
}

TEST(LockRulesOff, WithoutSettingsCheckANodeWithALongerLeaseOutlivesItsSessions) {
  auto off = LongLeaseTrace(Rules("all-settings_check"));
  EXPECT_EQ(off->Serving("x"), (std::vector<std::string>{"B", "L"}));

  auto on = LongLeaseTrace(Rules("all"));
  EXPECT_EQ(on->Serving("x"), std::vector<std::string>{"B"});
  EXPECT_EQ(on->CountEvents("L", LockEvent::Kind::kRefused, ""), 3u);  // One per voter.
}

// quiet_period: A owns x through v1 and v2 (it never reaches v3). v1
// restarts; B's heartbeat tells B of v1's new incarnation, and B claims x
// before A's next heartbeat tells A.
std::unique_ptr<Net> RestartTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  net->Cut("A", "v3");
  net->TickAll();
  net->Claim("A", "x");
  net->AdvanceTo(milliseconds(100));
  net->RestartVoter("v1", Incarnation{0x201});
  net->AdvanceTo(milliseconds(120));
  net->Tick("B");
  net->AdvanceTo(milliseconds(150));
  net->Claim("B", "x");
  return net;
}

TEST(LockRulesOff, WithoutQuietPeriodARestartedVoterVouchesForTwoHolders) {
  auto on = RestartTrace(Rules("all"));
  EXPECT_EQ(on->Serving("x"), std::vector<std::string>{"A"});
  on->RunUntil(milliseconds(8000), [&] { ExpectAtMostOneServes(*on, "x"); });
  EXPECT_EQ(on->Serving("x"), std::vector<std::string>{"B"});  // A lost x; B got it.

  auto off = RestartTrace(Rules("all-quiet_period"));
  EXPECT_EQ(off->Serving("x"), (std::vector<std::string>{"A", "B"}));
}

// session_margin: as in NodeStopsServingBeforeAnyVoterCanGiveItsNameAway, A's
// clock runs 1% slow and the voters' 1% fast; A's heartbeats stop after 0 ms.
// At 1981 ms of real time every voter has expired A's session, and B claims.
std::vector<std::string> DriftTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  for (const char* v : {"v1", "v2", "v3"}) {
    net->SetClock(v, 1.01);
  }
  net->SetClock("A", 0.99);
  net->TickAll();
  net->Claim("A", "x");
  for (const char* v : {"v1", "v2", "v3"}) {
    net->Cut("A", v);
  }
  net->RunUntil(milliseconds(1981));
  net->Tick("B");
  net->Claim("B", "x");
  return net->Serving("x");
}

TEST(LockRulesOff, WithoutSessionMarginANodeOutlivesItsSessionAtAFastVoterAndTwoNodesServe) {
  EXPECT_EQ(DriftTrace(Rules("all")), std::vector<std::string>{"B"});
  EXPECT_EQ(DriftTrace(Rules("all-session_margin")), (std::vector<std::string>{"A", "B"}));
}

// release_repeat: A owns x and releases it, but that RELEASE is lost on the
// way to v1 and v2. B wants x and claims it again after every refusal.
bool ReleaseLossTrace(LockRules rules) {
  auto net = ThreeVoters(rules);
  net->TickAll();
  net->Claim("A", "x");
  net->AddRule([&n = *net](const Envelope& e) {
    return e.from == "A" && e.to != "v3" && e.Is(Kind::kRelease) && n.real() < milliseconds(100)
               ? Fate::kDrop
               : Fate::kDeliver;
  });
  net->Advance(milliseconds(10));
  net->Release("A", "x");
  net->Advance(milliseconds(10));
  bool served = false;
  net->Claim("B", "x");
  net->RunUntil(milliseconds(20'000), [&] {
    net->Claim("B", "x");
    served = served || net->MayServe("B", "x");
  });
  return served;
}

TEST(LockRulesOff, WithoutReleaseRepeatALostReleaseBlocksTheNameForGood) {
  EXPECT_TRUE(ReleaseLossTrace(Rules("all")));
  EXPECT_FALSE(ReleaseLossTrace(Rules("all-release_repeat")));  // Liveness lost, not safety.
}

}  // namespace
}  // namespace tenure::lock
