// A test harness that drives an entity::Runtime against a real SQLite store
// on :memory:, granting every claim at once (the single-voter case).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tenure/entity/runtime.h"
#include "tenure/store/store.h"

namespace tenure::entity::testing {

class TestAuthority final : public Authority {
 public:
  bool MayServe(std::string_view id, TimePoint /*now*/) const override {
    return revoked.count(std::string(id)) == 0;
  }
  std::set<std::string> revoked;
};

// Throws for the ids in `faulty`; otherwise stores the requested state.
class TestHandler final : public Handler {
 public:
  std::string NextState(const protocol::EntityView& current,
                        const protocol::Request& request) override {
    if (faulty.count(current.id) > 0) {
      throw std::runtime_error("injected fault");
    }
    return request.state;
  }
  std::set<std::string> faulty;
};

class Harness {
 public:
  explicit Harness(RuntimeOptions options = DefaultOptions())
      : store_(OpenMemoryStore()), runtime_(std::move(options), authority, handler) {}

  static RuntimeOptions DefaultOptions() {
    RuntimeOptions o;
    o.node_id = "n1";
    o.idle = std::chrono::seconds(60);
    o.mailbox_depth_max = 4;
    return o;
  }

  // Sends a request and, unless the store is held, runs everything it causes.
  std::uint64_t Send(protocol::Op op, std::string id, std::string state = {},
                     std::string expect = {}) {
    protocol::Request r;
    r.request_id = ++last_rid_;
    r.op = op;
    r.entity_id = std::move(id);
    r.state = std::move(state);
    r.expect = std::move(expect);
    return Send(std::move(r));
  }

  std::uint64_t Send(protocol::Request r) {
    if (r.request_id == 0) r.request_id = ++last_rid_;
    const std::uint64_t rid = r.request_id;
    runtime_.HandleRequest("client-route", std::move(r), now);
    Settle();
    return rid;
  }

  // Carries out effects until none are left. Store calls run as one batch per
  // round unless hold_store is set, in which case they wait in `held`.
  void Settle() {
    for (int round = 0; round < 1000; ++round) {
      Effects fx = runtime_.TakeEffects();
      if (fx.empty()) return;
      for (ReplyTo& r : fx.replies) replies[r.reply.request_id].push_back(std::move(r.reply));
      for (protocol::Event& e : fx.events) events.push_back(std::move(e));
      for (EntityId& id : fx.releases) releases.push_back(std::move(id));
      store_call_count += fx.store_calls.size();
      if (!fx.store_calls.empty()) {
        ++store_rounds;
        for (StoreCall& c : fx.store_calls) held.push_back(std::move(c));
        if (!hold_store) RunHeld();
      }
      for (const EntityId& id : fx.claims) runtime_.HandleGranted(id, now);
    }
    FAIL() << "effects never settled";
  }

  // Applies every held store call as one batch and feeds the results back.
  void RunHeld() {
    std::vector<StoreCall> calls = std::move(held);
    held.clear();
    std::vector<store::StoreOp> ops;
    for (const StoreCall& c : calls) ops.push_back(c.op);
    std::vector<store::StoreResult> results = store_->Apply(ops);
    for (std::size_t i = 0; i < calls.size(); ++i) {
      runtime_.HandleStoreResult(calls[i].ticket, std::move(results[i]), now);
    }
  }

  // The only reply to `rid`; fails the test if there is not exactly one.
  protocol::Reply Only(std::uint64_t rid) {
    auto it = replies.find(rid);
    if (it == replies.end() || it->second.size() != 1) {
      ADD_FAILURE() << "request " << rid << " has " << (it == replies.end() ? 0 : it->second.size())
                    << " replies";
      return {};
    }
    return it->second.front();
  }

  bool Answered(std::uint64_t rid) const { return replies.count(rid) > 0; }

  std::vector<store::EntityRow> Rows() {
    store::StoreOp list = store::ListOp{1000, ""};
    return store_->Apply({&list, 1})[0].rows;
  }
  std::vector<store::TenureRow> Tenures(const EntityId& id) {
    store::StoreOp history = store::HistoryOp{id};
    return store_->Apply({&history, 1})[0].tenures;
  }
  store::StoreResult ApplyDirect(store::StoreOp op) { return store_->Apply({&op, 1})[0]; }

  Runtime& runtime() { return runtime_; }
  store::Store& store() { return *store_; }

  TestAuthority authority;
  TestHandler handler;
  TimePoint now{};
  bool hold_store = false;
  std::vector<StoreCall> held;
  std::map<std::uint64_t, std::vector<protocol::Reply>> replies;
  std::vector<protocol::Event> events;
  std::vector<EntityId> releases;
  std::size_t store_call_count = 0;
  std::size_t store_rounds = 0;

 private:
  static std::unique_ptr<store::Store> OpenMemoryStore() {
    store::SqliteOptions options;
    options.path = ":memory:";
    Result<std::unique_ptr<store::Store>> s = store::OpenSqliteStore(options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }

  std::unique_ptr<store::Store> store_;
  Runtime runtime_;
  std::uint64_t last_rid_ = 0;
};

}  // namespace tenure::entity::testing
