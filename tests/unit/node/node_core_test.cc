// NodeCore: the wiring of a node's lock session, voter and runtime, driven
// as the shell drives it, with its own voter reached "through the broker"
// (messages addressed to it come back in), peer voters played by the test
// and a real SQLite store on :memory:.
#include "tenure/node/node_core.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tenure/store/store.h"

namespace tenure::node {
namespace {

using namespace tenure::literals;

using protocol::LockItem;
using protocol::LockMessage;
using Kind = protocol::LockMessage::Kind;

constexpr Incarnation kIncarnation{0xa11ce};
constexpr Incarnation kPeerIncarnation{0xbeef};

// How a peer voter (not this node) answers.
enum class Peer { kGrant, kDenyForB, kNack, kSilent };

class NodeCoreTest : public ::testing::Test {
 protected:
  void Start(std::vector<NodeId> voters, Peer peer = Peer::kGrant) {
    peer_ = peer;
    NodeCoreOptions o;
    o.id = "A";
    o.incarnation = kIncarnation;
    o.voters = std::move(voters);
    o.idle = std::chrono::minutes(1);
    core_ = std::make_unique<NodeCore>(std::move(o), handler_, now_);
    store::SqliteOptions so;
    so.path = ":memory:";
    Result<std::unique_ptr<store::Store>> s = store::OpenSqliteStore(so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  // Heartbeats until this node's voter is past its quiet period.
  void Warm() {
    const TimePoint until = now_ + timing_.quiet_period() + timing_.lease;
    while (now_ < until) {
      Tick();
    }
    Tick();
  }

  void Tick() {
    core_->Advance(now_);
    Run();
    now_ += timing_.heartbeat_interval();
  }

  std::uint64_t Send(protocol::Op op, const std::string& id, const std::string& state = {}) {
    protocol::Request r;
    r.request_id = ++last_rid_;
    r.op = op;
    r.entity_id = id;
    r.state = state;
    core_->Step("client-" + std::to_string(r.request_id), r, now_);
    Run();
    return r.request_id;
  }

  // Carries effects out as the shell does until none are left. Store jobs
  // wait in held_ while hold_store_ is set. order_ gets a 'j' per store job
  // and an 'm' per message.
  void Run() {
    for (int round = 0; round < 100; ++round) {
      NodeEffects fx = core_->TakeEffects(now_);
      if (fx.store_jobs.empty() && fx.messages.empty()) {
        return;
      }
      for (store::Job& job : fx.store_jobs) {
        order_ += 'j';
        held_.push_back(std::move(job));
      }
      for (Outgoing& out : fx.messages) {
        order_ += 'm';
        Route(std::move(out));
      }
      if (!hold_store_) {
        Commit();
      }
    }
    FAIL() << "effects never settled";
  }

  // Applies every held job as one batch and feeds the results back.
  void Commit() {
    std::vector<store::Job> jobs = std::move(held_);
    held_.clear();
    std::vector<store::StoreOp> ops;
    for (const store::Job& job : jobs) {
      ops.push_back(job.op);
    }
    std::vector<store::StoreResult> results = store_->Apply(ops);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      core_->HandleStoreResult(
          store::Done{jobs[i].ticket, std::move(results[i]), StoreGeneration(1)}, now_);
    }
  }

  void Route(Outgoing out) {
    if (auto* reply = std::get_if<protocol::Reply>(&out.message)) {
      replies_[reply->request_id].push_back(*reply);
    } else if (std::holds_alternative<protocol::Request>(out.message)) {
      forwards_.push_back(std::move(out));
    } else if (auto* event = std::get_if<protocol::Event>(&out.message)) {
      events_.push_back(*event);
    } else if (auto* hb = std::get_if<protocol::Heartbeat>(&out.message)) {
      if (hb->to.empty()) {
        ++broker_heartbeats_;
      } else if (hb->to == "A") {
        core_->Step({}, *hb, now_);
      } else {
        AnswerHeartbeat(*hb);
      }
    } else if (auto* m = std::get_if<LockMessage>(&out.message)) {
      if (m->to == "A") {
        core_->Step({}, *m, now_);
      } else if (m->kind == Kind::kClaim) {
        AnswerClaim(*m);
      }
    }
  }

  void AnswerHeartbeat(const protocol::Heartbeat& hb) {
    if (peer_ == Peer::kSilent) {
      return;
    }
    LockMessage m = Reply(peer_ == Peer::kNack ? Kind::kNack : Kind::kHbAck, hb.to);
    m.seq = hb.seq;
    core_->Step({}, m, now_);
  }

  void AnswerClaim(const LockMessage& claim) {
    if (peer_ != Peer::kGrant && peer_ != Peer::kDenyForB) {
      return;
    }
    LockMessage m = Reply(peer_ == Peer::kGrant ? Kind::kGrant : Kind::kDeny, claim.to);
    m.sent_ms = claim.sent_ms;
    for (const LockItem& item : claim.items) {
      m.items.push_back({item.name, item.claim, peer_ == Peer::kDenyForB ? "B" : "", 0});
    }
    core_->Step({}, m, now_);
  }

  static LockMessage Reply(Kind kind, const std::string& voter) {
    LockMessage m;
    m.kind = kind;
    m.from = voter;
    m.from_incarnation = kPeerIncarnation;
    m.to = "A";
    m.to_incarnation = kIncarnation;
    return m;
  }

  const protocol::Reply& Only(std::uint64_t rid) {
    static const protocol::Reply kNone;
    auto it = replies_.find(rid);
    if (it == replies_.end() || it->second.size() != 1) {
      ADD_FAILURE() << "request " << rid << " has "
                    << (it == replies_.end() ? 0 : it->second.size()) << " replies";
      return kNone;
    }
    return it->second.front();
  }

  const lock::LockTiming timing_{};
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
  entity::PlainHandler handler_;
  std::unique_ptr<NodeCore> core_;
  std::unique_ptr<store::Store> store_;
  Peer peer_ = Peer::kGrant;
  bool hold_store_ = false;
  std::vector<store::Job> held_;
  std::string order_;
  std::map<std::uint64_t, std::vector<protocol::Reply>> replies_;
  std::vector<Outgoing> forwards_;
  std::vector<protocol::Event> events_;
  std::size_t broker_heartbeats_ = 0;
  std::uint64_t last_rid_ = 0;
};

TEST_F(NodeCoreTest, ASoleVoterServesAfterItsQuietPeriodAndGetsComeFromMemory) {
  Start({});
  Warm();
  EXPECT_GT(broker_heartbeats_, 0u);
  const std::uint64_t create = Send(protocol::Op::kCreate, "e1", "working");
  EXPECT_EQ(Only(create).code, ErrorCode::kOk);
  EXPECT_TRUE(core_->MayServe("e1", now_));
  const std::size_t activations = core_->runtime().stats().activations;
  const std::string before = order_;
  const std::uint64_t get = Send(protocol::Op::kGet, "e1");
  ASSERT_EQ(Only(get).code, ErrorCode::kOk);
  EXPECT_EQ(Only(get).entity->state, "working");
  EXPECT_EQ(Only(get).owner, "A");
  EXPECT_EQ(core_->runtime().stats().activations, activations);
  EXPECT_EQ(order_.substr(before.size()).find('j'), std::string::npos) << "a get touched the store";
  core_->CheckInvariants(now_);
}

TEST_F(NodeCoreTest, ASetIsAnsweredOnlyAfterItsStoreResult) {
  Start({});
  Warm();
  ASSERT_EQ(Only(Send(protocol::Op::kCreate, "e1")).code, ErrorCode::kOk);
  hold_store_ = true;
  const std::uint64_t set = Send(protocol::Op::kSet, "e1", "finalized");
  EXPECT_EQ(replies_.count(set), 0u) << "replied before the write committed";
  ASSERT_EQ(held_.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<store::WriteOp>(held_[0].op));
  hold_store_ = false;
  Commit();
  Run();
  ASSERT_EQ(Only(set).code, ErrorCode::kOk);
  EXPECT_EQ(Only(set).entity->version, 2_version);
  core_->CheckInvariants(now_);
}

TEST_F(NodeCoreTest, ClaimsOfOneTurnLeaveInOneMessagePerVoter) {
  Start({"A", "B", "C"});
  Warm();
  for (const char* id : {"e1", "e2", "e3"}) {
    protocol::Request get;
    get.request_id = ++last_rid_;
    get.entity_id = id;
    core_->Step("client", get, now_);
  }
  std::map<std::string, std::size_t> claims;  // voter -> CLAIM messages.
  for (const Outgoing& out : core_->TakeEffects(now_).messages) {
    if (const auto* m = std::get_if<LockMessage>(&out.message); m && m->kind == Kind::kClaim) {
      ++claims[m->to];
      EXPECT_EQ(m->items.size(), 3u);
    }
  }
  EXPECT_EQ(claims, (std::map<std::string, std::size_t>{{"A", 1}, {"B", 1}, {"C", 1}}));
}

TEST_F(NodeCoreTest, JobsFormedBeforeAStoreReopeningKeepTheOldGeneration) {
  Start({});
  Warm();
  ASSERT_EQ(Only(Send(protocol::Op::kCreate, "e1")).code, ErrorCode::kOk);
  hold_store_ = true;
  protocol::Request set;
  set.request_id = ++last_rid_;
  set.op = protocol::Op::kSet;
  set.entity_id = "e1";
  set.state = "working";
  core_->Step("client", set, now_);  // Its write is formed, not yet taken.
  core_->HandleStoreGeneration(StoreGeneration(2), now_);
  core_->HandleStoreGeneration(StoreGeneration(2), now_);  // Not new: nothing happens.
  const NodeEffects fx = core_->TakeEffects(now_);
  ASSERT_EQ(fx.store_jobs.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<store::WriteOp>(fx.store_jobs[0].op));
  EXPECT_EQ(fx.store_jobs[0].generation, StoreGeneration(1));  // The writer will refuse it.
  EXPECT_TRUE(std::holds_alternative<store::ActivateOp>(fx.store_jobs[1].op));
  EXPECT_EQ(fx.store_jobs[1].generation,
            StoreGeneration(2));  // The worker reads the database again.
  EXPECT_EQ(core_->store_generation(), StoreGeneration(2));
  core_->CheckInvariants(now_);
}

TEST_F(NodeCoreTest, AClaimDeniedByAMajorityBecomesOneForwardToTheHolder) {
  Start({"A", "B", "C"}, Peer::kDenyForB);
  Warm();
  const std::uint64_t get = Send(protocol::Op::kGet, "e1");
  EXPECT_EQ(replies_.count(get), 0u);
  ASSERT_EQ(forwards_.size(), 1u);
  const auto& forward = std::get<protocol::Request>(forwards_[0].message);
  EXPECT_EQ(forward.via, "B");
  EXPECT_TRUE(forward.forwarded);
  EXPECT_EQ(forward.request_id, get);
  EXPECT_EQ(forwards_[0].route, "client-" + std::to_string(get));
  EXPECT_FALSE(core_->MayServe("e1", now_));
  core_->CheckInvariants(now_);
}

TEST_F(NodeCoreTest, WithoutAMajorityNothingIsServed) {
  Start({"A", "B", "C"}, Peer::kSilent);
  Warm();
  const std::uint64_t get = Send(protocol::Op::kGet, "e1");
  for (int i = 0; i < 12 && replies_.count(get) == 0; ++i) {
    Tick();  // The claim times out after 2 leases.
  }
  EXPECT_EQ(Only(get).code, ErrorCode::kUnavailable);
  EXPECT_FALSE(core_->MayServe("e1", now_));
  EXPECT_EQ(core_->runtime().stats().activations, 0u);
}

TEST_F(NodeCoreTest, BadMessagesAreCountedAndChangeNothing) {
  Start({});
  Warm();
  const std::size_t heartbeats = broker_heartbeats_;
  core_->Step({}, protocol::Reply{}, now_);
  protocol::Heartbeat hb;
  hb.node = "X";
  hb.to = "Z";
  core_->Step({}, hb, now_);
  LockMessage other = Reply(Kind::kGrant, "A");
  other.to = "B";
  core_->Step({}, other, now_);
  protocol::Request unroutable;
  unroutable.entity_id = "e1";
  core_->Step({}, unroutable, now_);
  core_->HandleBadMessage("garbage");
  EXPECT_EQ(core_->bad_messages(), 5u);
  const NodeEffects fx = core_->TakeEffects(now_);
  EXPECT_TRUE(fx.store_jobs.empty());
  EXPECT_TRUE(fx.messages.empty());
  EXPECT_EQ(fx.notes.size(), 5u);
  EXPECT_EQ(broker_heartbeats_, heartbeats);
  EXPECT_EQ(core_->worker_count(), 0u);
}

TEST_F(NodeCoreTest, NackedForTheTwinWaitTheCoreTurnsFatalAndFallsSilent) {
  Start({"A", "B", "C"}, Peer::kNack);
  const TimePoint until = now_ + timing_.twin_wait() + timing_.lease;
  while (now_ < until && core_->fatal().ok()) {
    Tick();
  }
  ASSERT_FALSE(core_->fatal().ok());
  EXPECT_NE(core_->fatal().message().find("another live process"), std::string::npos);
  core_->Advance(now_ + timing_.lease);
  EXPECT_TRUE(core_->TakeEffects(now_ + timing_.lease).messages.empty());
}

TEST_F(NodeCoreTest, DrainSaysGoodbyeFirstThenReleasesEveryTenure) {
  Start({});
  Warm();
  ASSERT_EQ(Only(Send(protocol::Op::kCreate, "e1")).code, ErrorCode::kOk);
  events_.clear();
  core_->BeginDrain(now_);
  Run();
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.front().kind, protocol::Event::Kind::kNodeDown);
  EXPECT_TRUE(core_->Drained());
  EXPECT_FALSE(core_->releases_pending());
  const std::size_t heartbeats = broker_heartbeats_;
  Tick();
  EXPECT_EQ(broker_heartbeats_, heartbeats) << "a draining node still tells the broker it lives";
  const std::uint64_t late = Send(protocol::Op::kGet, "e1");
  EXPECT_EQ(Only(late).code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace tenure::node
