// Test helpers for the quorum name lock table (common/lock): message builders
// and Net, a tiny synchronous network that carries Claimant outputs to Voters
// and their replies back.
//
// Net has no real time and no threads. Every process (a Voter or a node's
// Claimant) reads its own clock, local = offset + rate * real, where `real` moves
// only through Advance(). A message is delivered at once, at the receiver's
// local now, unless a network rule drops it or holds it (held messages are
// delivered later by DeliverHeld, which is how a test reorders them). Voter
// replies are routed by node id to every running process with that id, as a
// broker that cannot tell two processes of one id apart would do; the
// incarnation echo is what lets the right one keep them.
//
// Not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tenure/base/check.h"
#include "tenure/base/ids.h"
#include "tenure/base/time.h"
#include "tenure/lock/claimant.h"
#include "tenure/lock/rules.h"
#include "tenure/lock/voter.h"
#include "tenure/protocol/messages.h"

namespace tenure::lock::testing {

using namespace tenure::literals;

using protocol::Heartbeat;
using protocol::LockItem;
using protocol::LockMessage;
using Kind = protocol::LockMessage::Kind;

constexpr Duration kNanosecond{1};

// A time point `ms` milliseconds after the common origin.
inline TimePoint Ms(std::int64_t ms) { return TimePoint{} + milliseconds(ms); }

inline LockRules Rules(std::string_view text) {
  LockRules rules;
  const bool ok = LockRules::Parse(text, rules);
  TENURE_CHECK(ok);
  return rules;
}

// Brings `voter` to `now` with its quiet period over: it gets an input every
// half lease from 2 leases before `now` on (its quiet period starts with the
// first; none is a silence of a lease). The inputs are a reply kind, which a
// voter otherwise ignores. REQUIRES: the voter started 2 leases before `now`
// or earlier, and the margin is shorter than a lease.
inline void Wake(Voter& voter, TimePoint now, const LockTiming& timing = {}) {
  for (int half_leases = 4; half_leases > 0; --half_leases) {
    voter.Step(LockMessage{}, now - half_leases * (timing.lease / 2));
  }
  TENURE_CHECK(!voter.Quiet(now));
  voter.TakeOutbox();
}

// ------------------------------------------------------------ message builders

// The settings of the voters v1, v2, v3 with the default timing.
inline std::string ThreeVoterSettings() { return SettingsText({"v1", "v2", "v3"}, LockTiming{}); }

// A voter heartbeat carrying `settings` (by default those of a node that
// agrees with voters v1, v2, v3 on the default timing).
inline Heartbeat MakeHeartbeat(const std::string& node, Incarnation incarnation, std::uint64_t seq,
                               const std::string& voter, TimePoint sent,
                               const std::string& settings = ThreeVoterSettings()) {
  Heartbeat hb;
  hb.node = node;
  hb.incarnation = incarnation;
  hb.seq = seq;
  hb.sent_ms = ToMillis(sent.time_since_epoch());
  hb.to = voter;
  hb.settings = settings;
  return hb;
}

// node -> voter: CLAIM or RELEASE of `items`.
inline LockMessage FromNode(Kind kind, const std::string& node, Incarnation incarnation,
                            const std::string& voter, std::vector<LockItem> items,
                            std::int64_t sent_ms = 0) {
  LockMessage m;
  m.kind = kind;
  m.from = node;
  m.from_incarnation = incarnation;
  m.to = voter;
  m.sent_ms = sent_ms;
  m.items = std::move(items);
  return m;
}

// voter -> node: a reply naming the node incarnation it answers.
inline LockMessage FromVoter(Kind kind, const std::string& voter, Incarnation voter_incarnation,
                             const std::string& node, Incarnation node_incarnation,
                             std::vector<LockItem> items = {}, std::int64_t sent_ms = 0,
                             std::uint64_t seq = 0) {
  LockMessage m;
  m.kind = kind;
  m.from = voter;
  m.from_incarnation = voter_incarnation;
  m.to = node;
  m.to_incarnation = node_incarnation;
  m.seq = seq;
  m.sent_ms = sent_ms;
  m.items = std::move(items);
  return m;
}

// -------------------------------------------------------------------- Net

struct Envelope {
  std::string from;  // Process label.
  std::string to;    // Process label.
  std::variant<Heartbeat, LockMessage> body;

  bool heartbeat() const { return std::holds_alternative<Heartbeat>(body); }
  // nullptr for a heartbeat.
  const LockMessage* lock() const { return std::get_if<LockMessage>(&body); }
  bool Is(Kind kind) const { return lock() != nullptr && lock()->kind == kind; }
  bool Between(const std::string& a, const std::string& b) const { return from == a && to == b; }
};

enum class Fate { kDeliver, kDrop, kHold };

class Net {
 public:
  using Rule = std::function<Fate(const Envelope&)>;

  // `voter_ids` are the cluster's voters: what every voter checks heartbeats
  // against, and what AddNode's nodes vote on.
  explicit Net(std::vector<std::string> voter_ids, LockRules rules = {}, LockTiming timing = {})
      : voter_ids_(std::move(voter_ids)), rules_(rules), timing_(timing) {}

  // ---------------------------------------------------------- processes

  // A voter whose quiet period is over, unless `fresh`: then it starts now,
  // and its quiet period with the first message it receives.
  // REQUIRES: `id` is one of the cluster's voters.
  Voter& AddVoter(const std::string& id, Incarnation incarnation, bool fresh = false) {
    TENURE_CHECK(std::find(voter_ids_.begin(), voter_ids_.end(), id) != voter_ids_.end());
    clocks_.try_emplace(id);
    const TimePoint start = fresh ? Now(id) : Now(id) - 10 * timing_.quiet_period();
    voters_[id] = std::make_unique<Voter>(
        VoterOptions{NodeId(id), incarnation, timing_, rules_, NodeIds(voter_ids_)}, start);
    if (!fresh) {
      Wake(*voters_[id], Now(id), timing_);
    }
    return *voters_[id];
  }

  // A voter process that restarts now: empty table, new incarnation, quiet.
  Voter& RestartVoter(const std::string& id, Incarnation incarnation) {
    TENURE_CHECK(voters_.count(id) == 1);
    paused_.erase(id);
    inbox_.erase(id);
    return AddVoter(id, incarnation, /*fresh=*/true);
  }

  // A node process labelled `label` (twins share `node_id`), voting on the
  // cluster's voters.
  Claimant& AddNode(const std::string& label, const std::string& node_id, Incarnation incarnation,
                    std::uint64_t seed = 1) {
    return AddMisconfiguredNode(label, node_id, incarnation, voter_ids_, timing_, seed);
  }
  // A node process that counts on `voters` (a subset, say) and `timing`
  // instead of the cluster's. Net still ticks it every heartbeat interval of
  // the cluster.
  Claimant& AddMisconfiguredNode(const std::string& label, const std::string& node_id,
                                 Incarnation incarnation, std::vector<std::string> voters,
                                 LockTiming timing, std::uint64_t seed = 1) {
    ClaimantOptions options;
    options.node_id = NodeId(node_id);
    options.incarnation = incarnation;
    options.voters = NodeIds(voters);
    options.timing = timing;
    options.rules = rules_;
    options.seed = seed;
    clocks_.try_emplace(label);
    nodes_[label] = Node{std::make_unique<Claimant>(std::move(options), Now(label)), node_id, {}};
    return *nodes_[label].claimant;
  }

  // The process stops for good: its inputs are lost, it sends nothing more.
  void Crash(const std::string& label) {
    nodes_.erase(label);
    voters_.erase(label);
    inbox_.erase(label);
  }

  // A paused process (SIGSTOP) queues its inputs and does not tick; its clock
  // runs on. Resume delivers the queued inputs.
  void Pause(const std::string& label) { paused_.insert(label); }
  void Resume(const std::string& label) {
    paused_.erase(label);
    std::deque<Envelope> queued = std::exchange(inbox_[label], {});
    for (Envelope& e : queued) {
      in_flight_.push_back(std::move(e));
    }
    Flush();
  }

  Voter& voter(const std::string& id) { return *voters_.at(id); }
  Claimant& node(const std::string& label) { return *nodes_.at(label).claimant; }
  const std::vector<LockEvent>& events(const std::string& label) { return nodes_.at(label).events; }
  // The events of `label` of one kind for `name`.
  std::size_t CountEvents(const std::string& label, LockEvent::Kind kind, const std::string& name) {
    std::size_t n = 0;
    for (const LockEvent& e : events(label)) {
      n += e.kind == kind && e.name.str() == name ? 1 : 0;
    }
    return n;
  }

  // ---------------------------------------------------------- clocks

  // REQUIRES: before the first Advance, so that no local clock jumps.
  void SetClock(const std::string& label, double rate, Duration offset = Duration::zero()) {
    TENURE_CHECK(real_ == Duration::zero());
    clocks_[label] = LocalClock{rate, offset};
  }
  // Moves one process's clock by `d` without moving real time.
  void Shift(const std::string& label, Duration d) { clocks_[label].offset += d; }
  void Advance(Duration d) { real_ += d; }
  void AdvanceTo(Duration real) {
    TENURE_CHECK(real >= real_);
    real_ = real;
  }
  Duration real() const { return real_; }
  TimePoint Now(const std::string& label) const {
    auto it = clocks_.find(label);
    const LocalClock c = it == clocks_.end() ? LocalClock{} : it->second;
    const auto scaled = std::chrono::duration<double, Duration::period>(
        c.rate * static_cast<double>(real_.count()));
    return TimePoint{} + c.offset + std::chrono::duration_cast<Duration>(scaled);
  }

  // ---------------------------------------------------------- network rules

  // Every envelope passes the rules in the order added; the first one that
  // does not say kDeliver decides. Returns a handle for RemoveRule.
  int AddRule(Rule rule) {
    rules_by_id_[next_rule_] = std::move(rule);
    return next_rule_++;
  }
  void RemoveRule(int id) { rules_by_id_.erase(id); }
  // Drops everything `from` sends to `to` (one direction).
  int Cut(const std::string& from, const std::string& to) {
    return AddRule([from, to](const Envelope& e) {
      return e.Between(from, to) ? Fate::kDrop : Fate::kDeliver;
    });
  }
  // Drops (or holds) the lock messages of `kind` that `from` sends; "" = anyone.
  int Filter(Kind kind, const std::string& from, Fate fate, const std::string& to = "") {
    return AddRule([=](const Envelope& e) {
      const bool match =
          e.Is(kind) && (from.empty() || e.from == from) && (to.empty() || e.to == to);
      return match ? fate : Fate::kDeliver;
    });
  }
  // Delivers the held envelopes that `pick` accepts, in the order they were
  // held, and carries what follows.
  void DeliverHeld(const std::function<bool(const Envelope&)>& pick = nullptr) {
    for (auto it = held_.begin(); it != held_.end();) {
      if (!pick || pick(*it)) {
        in_flight_.push_back(std::move(*it));
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
    Flush();
  }
  std::size_t held_count() const { return held_.size(); }
  // Every envelope sent so far, whatever its fate.
  const std::vector<Envelope>& sent() const { return sent_; }
  std::vector<Envelope> SentBetween(const std::string& from, const std::string& to,
                                    std::optional<Kind> kind = std::nullopt) const {
    std::vector<Envelope> out;
    for (const Envelope& e : sent_) {
      if (e.Between(from, to) && (!kind || e.Is(*kind))) {
        out.push_back(e);
      }
    }
    return out;
  }

  // ---------------------------------------------------------- driving

  void Tick(const std::string& label) {
    if (paused_.count(label) != 0) {
      return;
    }
    if (auto v = voters_.find(label); v != voters_.end()) {
      v->second->Tick(Now(label));
    } else {
      nodes_.at(label).claimant->Tick(Now(label));
    }
    Flush();
  }
  // Ticks every running voter, then every running node, then carries messages.
  void TickAll() {
    for (auto& [id, voter] : voters_) {
      if (paused_.count(id) == 0) {
        voter->Tick(Now(id));
      }
    }
    for (auto& [label, node] : nodes_) {
      if (paused_.count(label) == 0) {
        node.claimant->Tick(Now(label));
      }
    }
    Flush();
  }
  // Advances real time to `end`, ticking everyone at every multiple of the
  // heartbeat interval on the way (`end` included); `after_step` (if set)
  // runs after every such Tick.
  void RunUntil(Duration end, const std::function<void()>& after_step = nullptr) {
    const Duration step = timing_.heartbeat_interval();
    for (Duration next = (real_ / step + 1) * step; next <= end; next += step) {
      AdvanceTo(next);
      TickAll();
      if (after_step) {
        after_step();
      }
    }
    AdvanceTo(end);
  }
  void Claim(const std::string& label, const std::string& name) {
    node(label).Claim(EntityId(name), Now(label));
    Flush();
  }
  void Release(const std::string& label, const std::string& name) {
    node(label).Release(EntityId(name), Now(label));
    Flush();
  }
  // Carries every message until no process has anything more to send.
  void Flush() {
    Collect();
    while (!in_flight_.empty()) {
      Envelope e = std::move(in_flight_.front());
      in_flight_.pop_front();
      Deliver(std::move(e));
      Collect();
    }
  }

  bool MayServe(const std::string& label, const std::string& name) {
    return node(label).MayServe(name, Now(label));
  }
  // The running nodes whose serving rule holds for `name` now.
  std::vector<std::string> Serving(const std::string& name) {
    std::vector<std::string> out;
    for (auto& [label, n] : nodes_) {
      if (paused_.count(label) == 0 && n.claimant->MayServe(name, Now(label))) {
        out.push_back(label);
      }
    }
    return out;
  }

 private:
  struct LocalClock {
    double rate = 1.0;
    Duration offset = Duration::zero();
  };
  struct Node {
    std::unique_ptr<Claimant> claimant;
    std::string node_id;
    std::vector<LockEvent> events;
  };

  void Send(Envelope e) {
    sent_.push_back(e);
    for (const auto& [id, rule] : rules_by_id_) {
      switch (rule(e)) {
        case Fate::kDeliver:
          continue;
        case Fate::kDrop:
          return;
        case Fate::kHold:
          held_.push_back(std::move(e));
          return;
      }
    }
    in_flight_.push_back(std::move(e));
  }

  void Collect() {
    for (auto& [label, n] : nodes_) {
      if (paused_.count(label) != 0) {
        continue;
      }
      ClaimantEffects fx = n.claimant->TakeEffects(Now(label));
      for (LockEvent& e : fx.events) {
        n.events.push_back(std::move(e));
      }
      for (Heartbeat& hb : fx.heartbeats) {
        const std::string to = hb.to;
        Send({label, to, std::move(hb)});
      }
      for (LockMessage& m : fx.messages) {
        const std::string to = m.to;
        Send({label, to, std::move(m)});
      }
    }
    for (auto& [id, voter] : voters_) {
      if (paused_.count(id) != 0) {
        continue;
      }
      for (LockMessage& m : voter->TakeOutbox()) {
        for (const auto& [label, n] : nodes_) {
          if (n.node_id == m.to) {
            Send({id, label, m});
          }
        }
      }
    }
  }

  void Deliver(Envelope e) {
    const bool to_voter = voters_.count(e.to) != 0;
    if (!to_voter && nodes_.count(e.to) == 0) {
      return;  // Crashed.
    }
    if (paused_.count(e.to) != 0) {
      inbox_[e.to].push_back(std::move(e));
      return;
    }
    const TimePoint now = Now(e.to);
    if (to_voter) {
      Voter& v = *voters_.at(e.to);
      std::visit([&](const auto& body) { v.Step(body, now); }, e.body);
    } else if (const LockMessage* m = e.lock()) {
      nodes_.at(e.to).claimant->Step(*m, now);
    }
  }

  const std::vector<std::string> voter_ids_;
  const LockRules rules_;
  const LockTiming timing_;

  Duration real_ = Duration::zero();
  std::map<std::string, LocalClock> clocks_;
  std::map<std::string, std::unique_ptr<Voter>> voters_;
  std::map<std::string, Node> nodes_;
  std::set<std::string> paused_;
  std::map<std::string, std::deque<Envelope>> inbox_;
  std::map<int, Rule> rules_by_id_;
  int next_rule_ = 0;
  std::deque<Envelope> in_flight_;
  std::deque<Envelope> held_;
  std::vector<Envelope> sent_;
};

}  // namespace tenure::lock::testing
