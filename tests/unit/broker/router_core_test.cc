#include "tenure/router/router_core.h"

#include <map>

#include <gtest/gtest.h>

namespace tenure::broker {
namespace {

using namespace tenure::literals;

using std::chrono::milliseconds;

// The fixture's cluster: --voters foo,bar (so the witness votes too), lease 2 s.
const std::vector<NodeId> kVoters = {"foo", "bar"};
const std::string kSettings = "voters=@broker,bar,foo lease=2000ms margin=50ms drift=0.01";

// A broker heartbeat of a node that agrees with the fixture's cluster, unless
// `settings` says otherwise.
protocol::Heartbeat Hb(const std::string& node, Incarnation incarnation,
                       const std::string& settings = kSettings) {
  protocol::Heartbeat hb;
  hb.node = node;
  hb.incarnation = incarnation;
  hb.seq = 1;
  hb.settings = settings;
  return hb;
}

std::string Settings(std::vector<NodeId> voters, std::int64_t lease_ms = 2000) {
  lock::LockTiming timing;
  timing.lease = milliseconds(lease_ms);
  return lock::SettingsText(std::move(voters), timing);
}

protocol::Request Get(const std::string& id) {
  protocol::Request r;
  r.op = protocol::Op::kGet;
  r.entity_id = id;
  return r;
}

class RouterCoreTest : public ::testing::Test {
 protected:
  RouterCore core_{RouterOptions{milliseconds(2000), kVoters}};
  TimePoint t0_{};
};

TEST_F(RouterCoreTest, NoLiveNodeIsUnavailable) {
  Result<std::string> r = core_.RouteRequest(Get("e1"), t0_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
}

TEST_F(RouterCoreTest, RoutesOnlyToNodesWhoseSessionIsAlive) {
  core_.HandleHeartbeat("route-foo", Hb("foo", 1_inc), t0_);
  EXPECT_EQ(*core_.RouteRequest(Get("e1"), t0_ + milliseconds(1999)), "route-foo");
  EXPECT_FALSE(core_.RouteRequest(Get("e1"), t0_ + milliseconds(2000)).ok());
}

TEST_F(RouterCoreTest, RendezvousHashingSpreadsIdsAndIsStable) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-bar", Hb("bar", 2_inc), t0_);
  core_.HandleHeartbeat("r-baz", Hb("baz", 3_inc), t0_);
  std::map<std::string, int> per_node;
  std::map<std::string, std::string> first;
  for (int i = 0; i < 300; ++i) {
    const std::string id = "entity_" + std::to_string(i);
    first[id] = *core_.RouteRequest(Get(id), t0_);
    ++per_node[first[id]];
    EXPECT_EQ(*core_.RouteRequest(Get(id), t0_), first[id]);
  }
  ASSERT_EQ(per_node.size(), 3u);
  for (const auto& [node, count] : per_node) {
    EXPECT_GT(count, 50) << node;
  }
  // Only the ids of a node that leaves move; the others keep their node.
  const TimePoint later = t0_ + milliseconds(1500);
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), later);
  core_.HandleHeartbeat("r-bar", Hb("bar", 2_inc), later);
  for (const auto& [id, route] : first) {
    const std::string now_route = *core_.RouteRequest(Get(id), later + milliseconds(1000));
    if (route != "r-baz") {
      EXPECT_EQ(now_route, route) << id;
    }
    EXPECT_NE(now_route, "r-baz");
  }
}

TEST_F(RouterCoreTest, LearnsTheOwnerFromRepliesWhileItIsAlive) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-bar", Hb("bar", 2_inc), t0_);
  const std::string hashed = *core_.RouteRequest(Get("e1"), t0_);
  const std::string other_node = hashed == "r-foo" ? "bar" : "foo";
  protocol::Reply reply;
  reply.owner = other_node;
  reply.entity = protocol::EntityView{"e1", "working", 1_version, other_node, 1_epoch};
  core_.LearnFromReply(reply);
  EXPECT_EQ(*core_.RouteRequest(Get("e1"), t0_), "r-" + other_node);
  // The owner's session lapses: back to hashing over the live nodes.
  const TimePoint later = t0_ + milliseconds(2500);
  core_.HandleHeartbeat(hashed, Hb(hashed.substr(2), hashed == "r-foo" ? 1_inc : 2_inc), later);
  EXPECT_EQ(*core_.RouteRequest(Get("e1"), later), hashed);
}

TEST_F(RouterCoreTest, ViaPicksTheNamedNodeOrFails) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  protocol::Request r = Get("e1");
  r.via = "foo";
  EXPECT_EQ(*core_.RouteRequest(r, t0_), "r-foo");
  r.via = "bar";
  Result<std::string> missing = core_.RouteRequest(r, t0_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("bar"), std::string::npos);
}

TEST_F(RouterCoreTest, PublishesNodeUpAndDownOnce) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_ + milliseconds(500));
  std::vector<protocol::Event> up = core_.TakeEvents();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].kind, protocol::Event::Kind::kNodeUp);
  EXPECT_EQ(up[0].node, "foo");
  core_.Tick(t0_ + milliseconds(2400));
  EXPECT_TRUE(core_.TakeEvents().empty());
  core_.Tick(t0_ + milliseconds(2500));
  core_.Tick(t0_ + milliseconds(3000));
  std::vector<protocol::Event> down = core_.TakeEvents();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].kind, protocol::Event::Kind::kNodeDown);
  // A restarted process (new incarnation, the old session lapsed) is news.
  core_.HandleHeartbeat("r-foo2", Hb("foo", 9_inc), t0_ + milliseconds(3100));
  std::vector<protocol::Event> restarted = core_.TakeEvents();
  ASSERT_EQ(restarted.size(), 1u);
  EXPECT_EQ(restarted[0].reason, "new incarnation");
  EXPECT_EQ(*core_.RouteRequest(Get("x"), t0_ + milliseconds(3100)), "r-foo2");
}

TEST_F(RouterCoreTest, SecondProcessUnderALiveIdDivertsNothing) {
  core_.HandleHeartbeat("r-first", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-twin", Hb("foo", 2_inc), t0_ + milliseconds(100));
  EXPECT_EQ(core_.TakeEvents().size(), 1u) << "only the first one's node_up";
  EXPECT_EQ(*core_.RouteRequest(Get("x"), t0_ + milliseconds(100)), "r-first");
  EXPECT_EQ(core_.RouteOfNode("foo"), "r-first");
  EXPECT_EQ(core_.RouteOfNode("foo", 1_inc), "r-first");
  EXPECT_EQ(core_.RouteOfNode("foo", 2_inc), "r-twin") << "replies to the twin still reach it";
  EXPECT_EQ(core_.RouteOfNode("foo", 3_inc), std::nullopt);
  // Once the first one's session lapsed, the newest incarnation takes over.
  core_.HandleHeartbeat("r-twin", Hb("foo", 2_inc), t0_ + milliseconds(2000));
  EXPECT_EQ(core_.RouteOfNode("foo"), "r-twin");
  EXPECT_EQ(core_.RouteOfNode("foo", 1_inc), "r-first");
}

// The broker tells a voter when its id's traffic starts going to it: at the
// first heartbeat (this broker may be a restarted one) and when another
// incarnation takes over; not for non-voters, not for a refused twin.
TEST_F(RouterCoreTest, TakeoversOfVoterIdsAreReported) {
  protocol::Heartbeat voter = Hb("foo", 1_inc);
  voter.voter = true;
  core_.HandleHeartbeat("r-first", voter, t0_);
  core_.HandleHeartbeat("r-bar", Hb("bar", 7_inc), t0_);
  using Takeovers = std::vector<std::pair<NodeId, Incarnation>>;
  EXPECT_EQ(core_.TakeTakeovers(), (Takeovers{{"foo", 1_inc}}));
  core_.HandleHeartbeat("r-first", voter, t0_ + milliseconds(500));
  protocol::Heartbeat twin = Hb("foo", 2_inc);
  twin.voter = true;
  core_.HandleHeartbeat("r-twin", twin, t0_ + milliseconds(600));
  EXPECT_TRUE(core_.TakeTakeovers().empty()) << "the first one is alive: the twin gets nothing";
  core_.HandleUnreachable("r-first");  // It crashed.
  core_.HandleHeartbeat("r-twin", twin, t0_ + milliseconds(700));
  EXPECT_EQ(core_.RouteOfNode("foo"), "r-twin");
  EXPECT_EQ(core_.TakeTakeovers(), (Takeovers{{"foo", 2_inc}}));
}

TEST_F(RouterCoreTest, GoodbyeAndUnreachableStopRoutingAtOnce) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-bar", Hb("bar", 2_inc), t0_);
  core_.TakeEvents();
  core_.HandleGoodbye("r-bar", "foo");  // Not foo's connection: ignored.
  EXPECT_EQ(core_.live_node_count(t0_), 2u);
  core_.HandleGoodbye("r-foo", "foo");
  EXPECT_EQ(core_.live_node_count(t0_), 1u);
  std::vector<protocol::Event> down = core_.TakeEvents();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].kind, protocol::Event::Kind::kNodeDown);
  core_.HandleUnreachable("r-bar");
  EXPECT_FALSE(core_.RouteRequest(Get("x"), t0_).ok());
}

TEST_F(RouterCoreTest, NodesListsEveryKnownNodeWithItsLiveness) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-qux", Hb("qux", 2_inc), t0_ + milliseconds(1000));
  protocol::Reply reply = core_.NodesReply(7, t0_ + milliseconds(2500));
  EXPECT_EQ(reply.request_id, 7u);
  ASSERT_EQ(reply.nodes.size(), 2u);
  EXPECT_EQ(reply.nodes[0].id, "foo");
  EXPECT_FALSE(reply.nodes[0].alive);
  EXPECT_TRUE(reply.nodes[0].voter) << "listed in --voters";
  EXPECT_EQ(reply.nodes[0].heartbeat_age_ms, 2500);
  EXPECT_EQ(reply.nodes[1].id, "qux");
  EXPECT_TRUE(reply.nodes[1].alive);
  EXPECT_FALSE(reply.nodes[1].voter);
}

TEST_F(RouterCoreTest, HeartbeatWithABadNodeIdIsIgnored) {
  core_.HandleHeartbeat("r-x", Hb("bad id!", 1_inc), t0_);
  EXPECT_EQ(core_.live_node_count(t0_), 0u);
  EXPECT_TRUE(core_.TakeRefusals().empty());
}

// ------------------------------------------------------------ settings

TEST_F(RouterCoreTest, ExpectsTheSettingsTheNodesDeriveFromTheSameVotersAndLease) {
  EXPECT_EQ(core_.SettingsFor("foo"), kSettings);
  EXPECT_EQ(core_.SettingsFor("rogue"), kSettings);  // Not a voter: the same settings.
  // With no --voters every node votes for itself alone, so each has its own.
  RouterCore solo(RouterOptions{milliseconds(2000), {}});
  EXPECT_EQ(solo.SettingsFor("foo"), Settings({"foo"}));
  solo.HandleHeartbeat("r-foo", Hb("foo", 1_inc, Settings({"foo"})), t0_);
  EXPECT_EQ(solo.live_node_count(t0_), 1u);
  solo.HandleHeartbeat("r-bar", Hb("bar", 1_inc, Settings({"foo"})), t0_);
  EXPECT_EQ(solo.live_node_count(t0_), 1u) << "bar would count on foo's vote";
}

struct RefusedCase {
  const char* what;
  std::string settings;
};

std::vector<RefusedCase> RefusedCases() {
  return {
      {"a subset of the voters", Settings({"foo"})},
      {"the list without the witness", Settings({"foo", "bar"})},
      {"a disjoint list", Settings({"qux", "quux", "corge"})},
      {"another lease", Settings({"foo", "bar", "@broker"}, 3000)},
      {"no settings (an older node)", ""},
  };
}

TEST_F(RouterCoreTest, RefusesAHeartbeatWithOtherSettingsAndNeverRoutesToIt) {
  for (const RefusedCase& c : RefusedCases()) {
    SCOPED_TRACE(c.what);
    RouterCore core(RouterOptions{milliseconds(2000), kVoters});
    protocol::Heartbeat hb = Hb("rogue", 7_inc, c.settings);
    hb.seq = 3;
    hb.voter = true;
    core.HandleHeartbeat("r-rogue", hb, t0_);
    EXPECT_EQ(core.live_node_count(t0_), 0u);
    EXPECT_EQ(core.RouteOfNode("rogue"), std::nullopt);
    EXPECT_FALSE(core.Registered("r-rogue", "rogue"));
    protocol::Request via = Get("e2");
    via.via = "rogue";
    Result<std::string> routed = core.RouteRequest(via, t0_);
    ASSERT_FALSE(routed.ok());
    EXPECT_EQ(routed.status().code(), ErrorCode::kUnavailable);
    EXPECT_FALSE(core.RouteRequest(Get("e2"), t0_).ok()) << "no live node at all";
    EXPECT_TRUE(core.NodesReply(1, t0_).nodes.empty());
    EXPECT_TRUE(core.TakeEvents().empty()) << "no node_up";
    EXPECT_TRUE(core.TakeTakeovers().empty()) << "no QUIET for a refused voter id";

    const std::vector<HeartbeatRefusal> refusals = core.TakeRefusals();
    ASSERT_EQ(refusals.size(), 1u);
    const HeartbeatRefusal& r = refusals[0];
    EXPECT_EQ(r.route, "r-rogue");
    EXPECT_EQ(r.node_settings, c.settings);
    EXPECT_TRUE(r.first);
    EXPECT_EQ(r.reply.kind, protocol::LockMessage::Kind::kMismatch);
    EXPECT_EQ(r.reply.from, "@broker");
    EXPECT_EQ(r.reply.to, "rogue");
    EXPECT_EQ(r.reply.to_incarnation, 7_inc);
    EXPECT_EQ(r.reply.seq, 3u);
    EXPECT_EQ(r.reply.settings, kSettings);
  }
}

TEST_F(RouterCoreTest, AnswersEveryRefusedHeartbeatButMarksOneFirstPerIncarnation) {
  const std::string subset = Settings({"foo"});
  core_.HandleHeartbeat("r-rogue", Hb("rogue", 1_inc, subset), t0_);
  core_.HandleHeartbeat("r-rogue", Hb("rogue", 1_inc, subset), t0_ + milliseconds(500));
  core_.HandleHeartbeat("r-rogue2", Hb("rogue", 2_inc, subset), t0_ + milliseconds(600));
  std::vector<bool> first;
  for (const HeartbeatRefusal& r : core_.TakeRefusals()) {
    first.push_back(r.first);
  }
  EXPECT_EQ(first, (std::vector<bool>{true, false, true}));
  // Forgotten after a few silent leases: a return is logged again.
  core_.Tick(t0_ + milliseconds(600 + 4 * 2000) + Duration(1));
  core_.HandleHeartbeat("r-rogue2", Hb("rogue", 2_inc, subset), t0_ + milliseconds(9000));
  const std::vector<HeartbeatRefusal> again = core_.TakeRefusals();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].first);
}

// A process started under a live node id with other settings is refused
// for its settings, not kept aside as a twin: its lock traffic goes nowhere.
TEST_F(RouterCoreTest, ARefusedProcessUnderALiveIdIsNotRegisteredEither) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  core_.HandleHeartbeat("r-foo2", Hb("foo", 2_inc, Settings({"foo"})), t0_ + milliseconds(100));
  EXPECT_EQ(core_.RouteOfNode("foo", 2_inc), std::nullopt);
  EXPECT_FALSE(core_.Registered("r-foo2", "foo"));
  EXPECT_TRUE(core_.Registered("r-foo", "foo"));
  EXPECT_EQ(core_.TakeRefusals().size(), 1u);
  // A twin with the same settings is kept aside, and may pass lock traffic
  // (the voters NACK it).
  core_.HandleHeartbeat("r-twin", Hb("foo", 3_inc), t0_ + milliseconds(200));
  EXPECT_TRUE(core_.Registered("r-twin", "foo"));
}

TEST_F(RouterCoreTest, RegisteredNamesTheRoutesOfANodeIdOnly) {
  core_.HandleHeartbeat("r-foo", Hb("foo", 1_inc), t0_);
  EXPECT_TRUE(core_.Registered("r-foo", "foo"));
  EXPECT_FALSE(core_.Registered("r-foo", "bar")) << "lock traffic in another node's name";
  EXPECT_FALSE(core_.Registered("r-other", "foo"));
  EXPECT_FALSE(core_.Registered("r-foo", "@broker"));
  // A node that said goodbye still releases its names through the broker.
  core_.HandleGoodbye("r-foo", "foo");
  EXPECT_TRUE(core_.Registered("r-foo", "foo"));
}

TEST_F(RouterCoreTest, BoundsTheRefusalsNotTakenYet) {
  for (std::uint64_t inc = 1; inc <= kRefusalsPendingMax + 5; ++inc) {
    core_.HandleHeartbeat("r-rogue", Hb("rogue", Incarnation(inc), ""), t0_);
  }
  EXPECT_EQ(core_.TakeRefusals().size(), kRefusalsPendingMax);
}

TEST(RouterCoreWithoutSettingsCheck, RegistersAndRoutesToANodeWhateverItsSettings) {
  for (const RefusedCase& c : RefusedCases()) {
    SCOPED_TRACE(c.what);
    RouterCore core(RouterOptions{milliseconds(2000), kVoters, /*settings_check=*/false});
    core.HandleHeartbeat("r-rogue", Hb("rogue", 7_inc, c.settings), TimePoint{});
    protocol::Request via = Get("e2");
    via.via = "rogue";
    EXPECT_EQ(*core.RouteRequest(via, TimePoint{}), "r-rogue");
    EXPECT_TRUE(core.Registered("r-rogue", "rogue"));
    EXPECT_TRUE(core.TakeRefusals().empty());
  }
}

}  // namespace
}  // namespace tenure::broker
