#include "tests/sim/sim_world.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <utility>

#include "common/base/check.h"

namespace tenure::sim {

using protocol::LockMessage;

namespace {

std::vector<std::string> VoterIds(int voters, const std::vector<std::string>& nodes,
                                  bool colocate) {
  std::vector<std::string> ids;
  for (int i = 0; i < voters; ++i) {
    const auto n = static_cast<std::size_t>(i);
    ids.push_back(colocate && n < nodes.size() ? nodes[n] : "v" + std::to_string(i + 1));
  }
  if (voters % 2 == 0) {
    ids.emplace_back(lock::kWitnessId);  // The witness keeps the voter count odd.
  }
  return ids;
}

std::vector<std::string> NodeIds(int nodes) {
  std::vector<std::string> ids;
  for (int i = 0; i < nodes; ++i) {
    ids.push_back(i < 26 ? std::string(1, static_cast<char>('A' + i))
                         : "N" + std::to_string(i + 1));
  }
  return ids;
}

std::vector<std::string> Names(int names) {
  static const char* const kFirst[] = {"x", "y", "z"};
  std::vector<std::string> out;
  for (int i = 0; i < names; ++i) {
    out.push_back(i < 3 ? kFirst[i] : "n" + std::to_string(i + 1));
  }
  return out;
}

lock::LockTiming Timing(const SimOptions& o) {
  lock::LockTiming t;
  t.lease =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.lease_ms));
  t.margin =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.margin_ms));
  t.drift = o.drift;
  return t;
}

NetworkOptions NetOptions(const SimOptions& o) {
  return NetworkOptions{o.drop, o.dup, o.delay_min_ms, o.delay_max_ms, o.p_long, o.long_max_ms};
}

// The last fault started before t_fault has ended by then: pauses, down
// times, cuts, the restart of a NACKed process (up to two leases), long
// message delays and slow store operations.
SimTime HealTime(const SimOptions& o) {
  const double faults_leases =
      std::max({o.pause_max_leases, o.down_max_leases, o.cut_max_leases, 2.0});
  return FromMillis(o.t_fault_ms + faults_leases * o.lease_ms +
                    std::max(o.long_max_ms, o.store_slow_max_ms));
}

Duration LocalMillis(double ms) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

std::string ItemsText(const std::vector<protocol::LockItem>& items) {
  std::string out;
  for (const protocol::LockItem& item : items) {
    out += out.empty() ? "" : ",";
    out += item.name + "#" + std::to_string(item.claim);
    if (!item.holder.empty()) {
      out += "@" + item.holder;
    }
  }
  return out;
}

unsigned Short(std::uint64_t incarnation) { return static_cast<unsigned>(incarnation >> 48); }

}  // namespace

struct SimWorld::Event {
  SimTime at = 0;
  std::uint64_t seq = 0;
  std::function<void()> fn;
};

struct SimWorld::Worker {
  enum class Phase { kNone, kActivating, kActive };
  Phase phase = Phase::kNone;
  std::uint64_t token = 0;    // Bumped at every start and stop: results carry it.
  std::uint64_t epoch = 0;    // Fencing token, valid in kActive.
  std::uint64_t version = 0;  // The cache, valid in kActive.
  std::string value;
  TimePoint last_used{};
};

struct SimWorld::Proc {
  struct Pending {
    std::uint64_t gen = 0;
    Input input;
    bool sweep = true;
  };

  std::string id;
  std::string label;
  Kind kind = Kind::kNode;
  bool node = false;         // kind == kNode.
  bool voting = false;       // A node listed among the voters (the flag in its heartbeats).
  bool hosts_voter = false;  // A node process that also runs the Voter of its id.
  Status status = Status::kDown;
  std::uint64_t gen = 0;  // Bumped at every start and crash.
  double rate = 1.0;
  double offset_ns = 0;
  std::uint64_t incarnation = 0;
  std::string route;  // Its ROUTER identity at the broker, new at every start.
  std::uint64_t broker_seq = 0;
  // The session's earliest back-off end a wake-up is scheduled for, as the
  // node shell wakes for it (Session::NextBackoffEnd).
  std::optional<TimePoint> backoff_wake;
  std::vector<Pending> pending;  // Inputs queued while paused.
  std::unique_ptr<lock::Voter> voter;
  std::unique_ptr<lock::Session> session;
  std::map<std::string, Worker> workers;
};

SimWorld::SimWorld(const SimOptions& options, std::uint64_t seed)
    : options_(options),
      seed_(seed),
      timing_(Timing(options)),
      t_fault_(FromMillis(options.t_fault_ms)),
      t_end_(FromMillis(options.t_end_ms)),
      node_ids_(NodeIds(options.nodes)),
      voter_ids_(VoterIds(options.voters, node_ids_, options.colocate)),
      names_(Names(options.names)),
      rng_(seed),
      network_(NetOptions(options), rng_),
      store_(names_, options.fence),
      liveness_(names_, HealTime(options),
                FromMillis(options.liveness_bound_leases * options.lease_ms)) {
  TENURE_CHECK(options.voters >= 1);
  TENURE_CHECK(options.nodes >= 1);
  TENURE_CHECK(options.names >= 1);
  TENURE_CHECK(options.drift >= 0 && options.drift < 0.5);
  TENURE_CHECK(!options.kinds.empty());
  broker_ = &AddProc(std::string(lock::kWitnessId), Kind::kBroker, "broker");
  standalone_[broker_->id] = broker_;
  for (const std::string& v : voter_ids_) {
    if (v != lock::kWitnessId &&
        std::find(node_ids_.begin(), node_ids_.end(), v) == node_ids_.end()) {
      standalone_[v] = &AddProc(v, Kind::kVoter, v);
      fault_ids_.push_back(v);
    }
  }
  for (std::size_t i = 0; i < node_ids_.size(); ++i) {
    Proc& p = AddProc(node_ids_[i], Kind::kNode, node_ids_[i]);
    p.voting = static_cast<int>(i) < options.voters;
    p.hosts_voter = options.colocate && p.voting;
    fault_ids_.push_back(p.id);
  }
  for (const std::string& name : names_) {
    acked_[name] = 0;
  }
}

SimWorld::~SimWorld() = default;

RunResult RunSeed(const SimOptions& options, std::uint64_t seed) {
  SimWorld world(options, seed);
  return world.Run();
}

// ------------------------------------------------------------- event heap

namespace {
struct Later {
  template <typename E>
  bool operator()(const E& a, const E& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};
}  // namespace

void SimWorld::At(SimTime at, std::function<void()> fn) {
  TENURE_CHECK(at >= now_);
  heap_.push_back(Event{at, event_seq_++, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

TimePoint SimWorld::LocalNow(const Proc& p) const {
  const double ns = p.offset_ns + p.rate * static_cast<double>(now_) * 1000.0;
  return TimePoint(
      std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(std::llround(ns))));
}

SimTime SimWorld::AfterLocal(const Proc& p, Duration local) const {
  const double ns = static_cast<double>(std::chrono::nanoseconds(local).count());
  return now_ + static_cast<SimTime>(std::ceil(ns / p.rate / 1000.0));
}

RunResult SimWorld::Run() {
  At(0, [this] { Restart(*broker_); });
  for (const auto& p : procs_) {
    Proc* pp = p.get();
    if (pp != broker_) {
      At(FromMillis(rng_.Uniform(0, 50)), [this, pp] { Restart(*pp); });
    }
  }
  At(FromMillis(100), [this] { RandomFault(); });
  At(t_fault_, [this] { HealAll(); });
  At(FromMillis(50), [this] { NextRequest(); });
  while (!heap_.empty() && !violation_) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Event e = std::move(heap_.back());
    heap_.pop_back();
    if (e.at > t_end_) {
      break;
    }
    now_ = e.at;
    ++stats_.events;
    e.fn();
    if (!violation_) {
      Check();
    }
  }
  RunResult result;
  result.seed = seed_;
  result.violation = violation_;
  result.violation_at_ms = violation_at_ms_;
  if (!violation_) {
    result.liveness = liveness_.Finish(t_end_);
    for (const LivenessFailure& f : result.liveness) {
      char line[160];
      std::snprintf(line, sizeof line, "LIVENESS: %s not served for %.0f ms after heal at %.0f",
                    f.name.c_str(), f.gap_ms, ToMillis(liveness_.heal()));
      tail_.emplace_back(line);
    }
  }
  result.tail = tail_;
  result.trace_hash = (trace_hash_ ^ stats_.events) * 1099511628211ULL;
  result.stats = stats_;
  return result;
}

// ------------------------------------------------------------- processes

SimWorld::Proc& SimWorld::AddProc(const std::string& id, Kind kind, const std::string& label) {
  auto p = std::make_unique<Proc>();
  p->id = id;
  p->label = label;
  p->kind = kind;
  p->node = kind == Kind::kNode;
  Proc& ref = *p;
  procs_.push_back(std::move(p));
  last_sender_.try_emplace(id, &ref);
  return ref;
}

SimWorld::Proc& SimWorld::Newest(const std::string& id) {
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) {
    if ((*it)->id == id) {
      return **it;
    }
  }
  TENURE_CHECK(false);
  return *procs_.front();
}

void SimWorld::Start(Proc& p) {
  TENURE_CHECK(p.status == Status::kDown);
  p.gen++;
  p.rate = 1.0 + rng_.Uniform(-options_.drift, options_.drift);
  p.offset_ns = rng_.Uniform(0, 1e12) - p.rate * static_cast<double>(now_) * 1000.0;
  p.status = Status::kUp;
  p.pending.clear();
  p.workers.clear();
  p.incarnation = rng_.Incarnation();
  p.route = p.label + "/" + std::to_string(p.gen);
  routes_[p.route] = Target{&p, p.gen};
  const TimePoint now = LocalNow(p);
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  if (p.kind == Kind::kBroker) {
    router_ =
        std::make_unique<broker::RouterCore>(broker::RouterOptions{timing_.lease, voter_ids_});
  }
  const bool witness = p.kind == Kind::kBroker && std::find(voter_ids_.begin(), voter_ids_.end(),
                                                            lock::kWitnessId) != voter_ids_.end();
  if (p.kind == Kind::kVoter || p.hosts_voter || witness) {
    lock::VoterOptions vo;
    vo.id = p.id;
    vo.incarnation = p.incarnation;  // One process, one incarnation.
    vo.timing = timing_;
    vo.rules = options_.rules;
    p.voter = std::make_unique<lock::Voter>(std::move(vo), now);
  }
  if (p.kind == Kind::kBroker) {
    Log(p.label, "start inc=%04x rate=%.4f%s", Short(p.incarnation), p.rate,
        witness ? " with the witness voter" : "");
    At(AfterLocal(p, timing_.heartbeat_interval()),
       [this, pp, gen] { Dispatch(*pp, gen, [this](Proc& q) { BrokerTick(q); }); });
    return;
  }
  if (p.kind == Kind::kVoter) {
    Log(p.label, "start inc=%04x rate=%.4f", Short(p.incarnation), p.rate);
    At(AfterLocal(p, timing_.heartbeat_interval()),
       [this, pp, gen] { Dispatch(*pp, gen, [this](Proc& q) { VoterTick(q); }); });
    return;
  }
  lock::SessionOptions so;
  so.node_id = p.id;
  so.incarnation = p.incarnation;
  so.voters = voter_ids_;
  so.voter = p.hosts_voter;
  so.timing = timing_;
  so.rules = options_.rules;
  so.seed = rng_.Next();
  p.session = std::make_unique<lock::Session>(std::move(so), now);
  p.backoff_wake.reset();  // A wake-up of the previous session's back-offs is not this one's.
  Log(p.label, "start inc=%04x rate=%.4f%s", Short(p.incarnation), p.rate,
      p.voter ? " with its voter" : "");
  Dispatch(p, gen, [this](Proc& q) { NodeTick(q); });
}

void SimWorld::Restart(Proc& p) {
  if (p.status != Status::kDown) {
    return;
  }
  for (const auto& other : procs_) {
    if (other.get() != &p && other->id == p.id && other->status == Status::kUp) {
      return;  // The supervisor sees another process running this id.
    }
  }
  // A paused (hung) process under this id does not stop the restart: the
  // supervisor took it for dead, which is how twins come about.
  Start(p);
}

void SimWorld::Crash(Proc& p, double down_ms, const char* why) {
  if (p.status == Status::kDown) {
    return;
  }
  p.status = Status::kDown;
  p.gen++;
  p.pending.clear();
  p.voter.reset();
  p.session.reset();
  p.workers.clear();  // Volatile state is lost.
  if (p.kind == Kind::kBroker) {
    router_.reset();  // Every route and liveness record with it.
  }
  Log(p.label, "CRASHED (%s), restart in %.0f ms", why, down_ms);
  Proc* pp = &p;
  At(now_ + FromMillis(down_ms), [this, pp] { Restart(*pp); });
}

void SimWorld::Pause(Proc& p, double duration_ms) {
  if (p.status != Status::kUp) {
    return;
  }
  p.status = Status::kPaused;
  Log(p.label, "PAUSED for %.0f ms", duration_ms);
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  At(now_ + FromMillis(duration_ms), [this, pp, gen] { Resume(*pp, gen); });
}

void SimWorld::Resume(Proc& p, std::uint64_t gen) {
  if (p.status != Status::kPaused || p.gen != gen) {
    return;
  }
  p.status = Status::kUp;
  Log(p.label, "RESUMED (%zu queued inputs)", p.pending.size());
  std::vector<Proc::Pending> pending = std::exchange(p.pending, {});
  for (Proc::Pending& item : pending) {
    if (violation_) {
      return;
    }
    Dispatch(p, item.gen, std::move(item.input), item.sweep);
    Check();
  }
}

void SimWorld::Dispatch(Proc& p, std::uint64_t gen, Input input, bool sweep) {
  if (p.status == Status::kDown || (gen != 0 && gen != p.gen)) {
    return;
  }
  if (p.status == Status::kPaused) {
    p.pending.push_back({gen, std::move(input), sweep});
    return;
  }
  if (!p.node) {  // A voter of its own, or the broker (and its witness).
    input(p);
    FlushVoter(p);
    return;
  }
  if (sweep) {
    Sweep(p);
  }
  input(p);
  FlushVoter(p);
  if (p.status == Status::kUp) {
    FlushNode(p);
  }
  if (p.status == Status::kUp) {
    Sweep(p);
  }
}

// ------------------------------------------------------------- network

void SimWorld::Send(Proc& from, const std::string& to, Message message) {
  if (from.node) {
    last_sender_[from.id] = &from;
  }
  ++stats_.messages;
  const SimNetwork::Copies copies = network_.Send(from.id, to, Faulty());
  if (copies.count == 0) {
    return;
  }
  auto shared = std::make_shared<const Message>(std::move(message));
  const std::string route = from.route;
  for (int i = 0; i < copies.count; ++i) {
    At(now_ + copies.delay[i], [this, to, shared, route] { Deliver(to, *shared, route); });
  }
}

SimWorld::Target SimWorld::Resolve(const std::string& id, std::uint64_t incarnation) {
  if (auto it = standalone_.find(id); it != standalone_.end()) {
    return Target{it->second, 0};
  }
  if (options_.routing == Routing::kLastSender) {
    auto it = last_sender_.find(id);
    TENURE_CHECK(it != last_sender_.end());
    return Target{it->second, 0};
  }
  const std::optional<std::string> route = router_->RouteOfNode(id, incarnation);
  if (!route) {
    return Target{};  // Never seen (since the broker started): lost.
  }
  auto it = routes_.find(*route);
  TENURE_CHECK(it != routes_.end());
  const Target target = it->second;
  if (target.proc->status == Status::kDown || target.proc->gen != target.gen) {
    router_->HandleUnreachable(*route);  // Its connection closed when it died.
    return Target{};
  }
  return target;
}

void SimWorld::Deliver(const std::string& to, const Message& message,
                       const std::string& from_route) {
  if (broker_->status != Status::kUp) {
    return;  // Everything passes the broker.
  }
  const auto* for_broker = std::get_if<protocol::Heartbeat>(&message);
  if (for_broker != nullptr && for_broker->to.empty()) {
    router_->HandleHeartbeat(from_route, *for_broker, LocalNow(*broker_));
    for (const auto& [node, incarnation] : router_->TakeTakeovers()) {
      LockMessage quiet;
      quiet.kind = LockMessage::Kind::kQuiet;
      quiet.to = node;
      quiet.to_incarnation = incarnation;
      Deliver(node, quiet, from_route);
    }
    return;
  }
  const auto* lock = std::get_if<LockMessage>(&message);
  const Target target = Resolve(to, lock != nullptr ? lock->to_incarnation : 0);
  if (target.proc == nullptr) {
    return;
  }
  // The input holds its own copy: it may wait in a paused process's queue.
  Dispatch(*target.proc, target.gen, [this, message](Proc& p) {
    const TimePoint now = LocalNow(p);
    if (const auto* hb = std::get_if<protocol::Heartbeat>(&message)) {
      if (options_.trace_heartbeats) {
        Log(p.label, "<- %s/%04x heartbeat seq=%" PRIu64, hb->node.c_str(), Short(hb->incarnation),
            hb->seq);
      }
      if (p.voter) {
        p.voter->Step(*hb, now);
      }
      return;
    }
    const LockMessage& m = std::get<LockMessage>(message);
    if (m.kind != LockMessage::Kind::kHbAck || options_.trace_heartbeats) {
      Log(p.label, "<- %s/%04x %s %s to=%04x", m.from.c_str(), Short(m.from_incarnation),
          std::string(protocol::LockKindName(m.kind)).c_str(), ItemsText(m.items).c_str(),
          Short(m.to_incarnation));
    }
    const bool for_voter = m.kind == LockMessage::Kind::kClaim ||
                           m.kind == LockMessage::Kind::kRelease ||
                           m.kind == LockMessage::Kind::kQuiet;
    if (for_voter && p.voter) {
      std::vector<std::optional<lock::Holder>> before;
      for (const protocol::LockItem& item : m.items) {
        before.push_back(p.voter->HolderOf(item.name));
      }
      p.voter->Step(m, now);
      for (std::size_t i = 0; i < m.items.size(); ++i) {
        const std::optional<lock::Holder> after = p.voter->HolderOf(m.items[i].name);
        if (after && before[i] &&
            (after->node != before[i]->node || after->incarnation != before[i]->incarnation)) {
          Log(p.label, "voter %s gives %s from %s/%04x to %s/%04x", p.id.c_str(),
              m.items[i].name.c_str(), before[i]->node.c_str(), Short(before[i]->incarnation),
              after->node.c_str(), Short(after->incarnation));
        }
      }
    } else if (!for_voter && p.session) {
      p.session->Step(m, now);
    }
  });
}

// ------------------------------------------------------------- voters

void SimWorld::VoterTick(Proc& p) {
  p.voter->Tick(LocalNow(p));
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  At(AfterLocal(p, timing_.heartbeat_interval()),
     [this, pp, gen] { Dispatch(*pp, gen, [this](Proc& q) { VoterTick(q); }); });
}

void SimWorld::BrokerTick(Proc& p) {
  const TimePoint now = LocalNow(p);
  router_->Tick(now);
  router_->TakeEvents();  // Node up/down news: nobody subscribes here.
  if (p.voter) {
    p.voter->Tick(now);
  }
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  At(AfterLocal(p, timing_.heartbeat_interval()),
     [this, pp, gen] { Dispatch(*pp, gen, [this](Proc& q) { BrokerTick(q); }); });
}

void SimWorld::FlushVoter(Proc& p) {
  if (!p.voter) {
    return;
  }
  for (LockMessage& m : p.voter->TakeOutbox()) {
    const std::string to = m.to;
    Send(p, to, std::move(m));
  }
}

// ------------------------------------------------------------- nodes

void SimWorld::NodeTick(Proc& p) {
  const TimePoint now = LocalNow(p);
  for (auto& [name, w] : p.workers) {
    if (w.phase == Worker::Phase::kActive && now - w.last_used > LocalMillis(options_.idle_ms)) {
      p.session->Release(name, now);
      StopWorker(p, name, w, "passivated, released");
    }
  }
  p.session->Tick(now);
  if (p.voter) {
    p.voter->Tick(now);
  }
  // The broker's own heartbeat (no voter): liveness and routing, as the node
  // shell sends it.
  protocol::Heartbeat hb;
  hb.node = p.id;
  hb.incarnation = p.incarnation;
  hb.seq = ++p.broker_seq;
  hb.sent_ms = tenure::ToMillis(now.time_since_epoch());
  hb.voter = p.hosts_voter;
  Send(p, "", std::move(hb));
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  At(AfterLocal(p, timing_.heartbeat_interval()),
     [this, pp, gen] { Dispatch(*pp, gen, [this](Proc& q) { NodeTick(q); }); });
}

void SimWorld::FlushNode(Proc& p) {
  const TimePoint now = LocalNow(p);
  if (std::optional<TimePoint> end = p.session->NextBackoffEnd();
      end && (!p.backoff_wake || *end < *p.backoff_wake)) {
    p.backoff_wake = *end;
    Proc* pp = &p;
    const std::uint64_t gen = p.gen;
    At(AfterLocal(p, std::max(Duration::zero(), *end - now)), [this, pp, gen] {
      Dispatch(*pp, gen, [this](Proc& q) {
        q.backoff_wake.reset();
        q.session->EndBackoffs(LocalNow(q));
      });
    });
  }
  lock::SessionEffects fx = p.session->TakeEffects(now);
  for (protocol::Heartbeat& hb : fx.heartbeats) {
    const std::string to = hb.to;
    Send(p, to, std::move(hb));
  }
  for (LockMessage& m : fx.messages) {
    if (m.kind == LockMessage::Kind::kClaim) {
      Log(p.label, "-> %s CLAIM %s", m.to.c_str(), ItemsText(m.items).c_str());
    }
    const std::string to = m.to;
    Send(p, to, std::move(m));
  }
  for (const lock::LockEvent& e : fx.events) {
    switch (e.kind) {
      case lock::LockEvent::Kind::kGranted: {
        Log(p.label, "GRANTED %s", e.name.c_str());
        Worker& w = p.workers[e.name];
        if (w.phase == Worker::Phase::kNone && p.session->MayServe(e.name, now)) {
          Activate(p, e.name, w);
        }
        break;
      }
      case lock::LockEvent::Kind::kLost: {
        Log(p.label, "LOST %s (%s)", e.name.c_str(), e.reason.c_str());
        auto it = p.workers.find(e.name);
        if (it != p.workers.end() && it->second.phase != Worker::Phase::kNone) {
          StopWorker(p, e.name, it->second, "lost");
        }
        break;
      }
      case lock::LockEvent::Kind::kDenied:
        Log(p.label, "DENIED %s (holder %s)", e.name.c_str(), e.holder.c_str());
        break;
      case lock::LockEvent::Kind::kFailed:
        Log(p.label, "FAILED %s (%s)", e.name.c_str(), e.reason.c_str());
        break;
      case lock::LockEvent::Kind::kRefused:
        Log(p.label, "REFUSED: %s", e.reason.c_str());
        break;
      case lock::LockEvent::Kind::kFatal:
        if (!options_.rules.incarnation_echo) {
          // Without the echo a NACK may be meant for another process under
          // this id, so the process cannot act on it.
          Log(p.label, "NACK ignored (no incarnation echo): %s", e.reason.c_str());
          break;
        }
        Log(p.label, "FATAL: %s", e.reason.c_str());
        ++stats_.fatal_exits;
        Crash(p, rng_.Uniform(options_.lease_ms, 2 * options_.lease_ms), "exit on NACK");
        return;
    }
  }
}

// Stops every worker whose rule no longer holds: a break between the issue
// of an activation (or a check) and its result voids the result.
void SimWorld::Sweep(Proc& p) {
  if (!p.session) {
    return;
  }
  const TimePoint now = LocalNow(p);
  for (auto& [name, w] : p.workers) {
    if (w.phase != Worker::Phase::kNone && !p.session->MayServe(name, now)) {
      StopWorker(p, name, w, "serving rule broke");
    }
  }
}

void SimWorld::StopWorker(Proc& p, const std::string& name, Worker& w, const char* why) {
  w.phase = Worker::Phase::kNone;
  w.token++;
  w.value.clear();
  Log(p.label, "worker %s stops (%s)", name.c_str(), why);
}

SimTime SimWorld::StoreDelay() {
  if (Faulty() && rng_.Chance(options_.store_slow_p)) {
    return FromMillis(rng_.Uniform(options_.store_slow_min_ms, options_.store_slow_max_ms));
  }
  return FromMillis(rng_.Uniform(options_.store_min_ms, options_.store_max_ms));
}

void SimWorld::Activate(Proc& p, const std::string& name, Worker& w) {
  TENURE_CHECK(p.session->MayServe(name, LocalNow(p)));  // Issued only while the rule holds.
  w.token++;
  w.phase = Worker::Phase::kActivating;
  ++stats_.activations;
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  const std::uint64_t token = w.token;
  At(now_ + StoreDelay(), [this, pp, gen, name, token] {
    SimStore::ActivateResult result = store_.Activate(name, pp->label);
    if (pp->gen == gen && pp->session && !pp->session->MayServe(name, LocalNow(*pp))) {
      ++stats_.stale_activations;
    }
    Log("store", "activate %s by %s -> epoch %" PRIu64 " v%" PRIu64, name.c_str(),
        pp->label.c_str(), result.epoch, result.version);
    if (result.violation) {
      Fail(*result.violation);
      return;
    }
    At(now_ + StoreDelay(), [this, pp, gen, name, token, result] {
      Dispatch(*pp, gen,
               [this, name, token, result](Proc& q) { OnActivated(q, name, token, result); });
    });
  });
}

void SimWorld::OnActivated(Proc& p, const std::string& name, std::uint64_t token,
                           const SimStore::ActivateResult& result) {
  Worker& w = p.workers[name];
  if (w.token != token || w.phase != Worker::Phase::kActivating) {
    Log(p.label, "activation of %s (epoch %" PRIu64 ") discarded", name.c_str(), result.epoch);
    return;
  }
  w.phase = Worker::Phase::kActive;
  w.epoch = result.epoch;
  w.version = result.version;
  w.value = result.value;
  last_server_[name] = p.id;  // Its first reply names it the owner: the broker learns it.
  Log(p.label, "ACTIVE %s epoch %" PRIu64 " v%" PRIu64, name.c_str(), w.epoch, w.version);
}

void SimWorld::OnRequest(Proc& p, const std::string& name, bool get, const std::string& value) {
  ++stats_.requests;
  const TimePoint now = LocalNow(p);
  Worker& w = p.workers[name];
  w.last_used = now;
  if (p.session->MayServe(name, now)) {
    if (w.phase == Worker::Phase::kActive) {
      // Checked after receipt; the reply is built after a short processing gap.
      Proc* pp = &p;
      const std::uint64_t gen = p.gen;
      const std::uint64_t token = w.token;
      const std::uint64_t acked = acked_[name];
      const SimTime at = AfterLocal(p, LocalMillis(rng_.Uniform(0, options_.process_max_ms)));
      At(at, [this, pp, gen, name, get, value, acked, token] {
        Dispatch(
            *pp, gen,
            [this, name, get, value, acked, token](Proc& q) {
              DoRequest(q, name, get, value, acked, token);
            },
            /*sweep=*/false);
      });
    } else if (w.phase == Worker::Phase::kNone) {
      Activate(p, name, w);
    }
    return;
  }
  if (!p.session->claiming(name)) {
    Log(p.label, "request for %s: claim", name.c_str());
  }
  p.session->Claim(name, now);
}

void SimWorld::DoRequest(Proc& p, const std::string& name, bool get, const std::string& value,
                         std::uint64_t acked_before, std::uint64_t token) {
  auto it = p.workers.find(name);
  if (it == p.workers.end() || it->second.token != token ||
      it->second.phase != Worker::Phase::kActive) {
    return;  // The worker stopped: the request fails as retryable.
  }
  Worker& w = it->second;
  if (get) {
    ++stats_.reads;
    if (auto v = CheckRead(store_, name, p.label, w.version, w.value, acked_before)) {
      Fail(*v);
      return;
    }
    Served(p, name);
    return;
  }
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  const std::uint64_t epoch = w.epoch;
  At(now_ + StoreDelay(), [this, pp, gen, name, epoch, value, token] {
    const SimStore::WriteResult r = store_.Write(name, epoch, value, pp->label);
    Log("store", "write %s epoch %" PRIu64 " by %s: %s v%" PRIu64, name.c_str(), epoch,
        pp->label.c_str(), r.ok ? "ok" : "FENCED", r.version);
    if (r.violation) {
      Fail(*r.violation);
      return;
    }
    At(now_ + StoreDelay(), [this, pp, gen, name, token, r, value] {
      Dispatch(*pp, gen, [this, name, token, r, value](Proc& q) {
        OnWrite(q, name, token, r.ok, r.version, value);
      });
    });
  });
}

void SimWorld::Served(const Proc& p, const std::string& name) {
  liveness_.Served(name, now_);
  last_server_[name] = p.id;  // The broker learns the owner from the reply.
}

void SimWorld::OnWrite(Proc& p, const std::string& name, std::uint64_t token, bool ok,
                       std::uint64_t version, const std::string& value) {
  auto it = p.workers.find(name);
  const bool current = it != p.workers.end() && it->second.token == token &&
                       it->second.phase == Worker::Phase::kActive;
  if (ok) {
    acked_[name] = std::max(acked_[name], version);  // The client has its reply now.
    ++stats_.writes_acked;
    Served(p, name);
    if (current && version > it->second.version) {
      it->second.version = version;  // One writer per node: the cache only moves forward.
      it->second.value = value;
    }
    return;
  }
  ++stats_.writes_fenced;
  if (!current) {
    return;
  }
  if (p.session->MayServe(name, LocalNow(p))) {
    // A late activation moved the epoch while the rule holds: re-activate.
    Log(p.label, "write to %s fenced while serving: re-activate", name.c_str());
    Activate(p, name, it->second);
  } else {
    StopWorker(p, name, it->second, "write fenced");
  }
}

// ------------------------------------------------------------- workload and faults

void SimWorld::NextRequest() {
  const std::string name = names_[rng_.Below(names_.size())];
  std::string id = node_ids_[rng_.Below(node_ids_.size())];
  auto owner = last_server_.find(name);
  if (owner != last_server_.end() && rng_.Chance(options_.route_to_owner)) {
    id = owner->second;
  }
  const bool get = rng_.Chance(options_.get_fraction);
  const std::string value = id + "@" + name + ":" + std::to_string(++value_seq_);
  const SimTime delay = FromMillis(rng_.Uniform(options_.delay_min_ms, options_.delay_max_ms));
  At(now_ + delay, [this, id, name, get, value] {
    if (broker_->status != Status::kUp) {
      return;  // Clients reach nodes through the broker too.
    }
    const Target target = Resolve(id, 0);
    if (target.proc != nullptr) {
      Dispatch(*target.proc, target.gen,
               [this, name, get, value](Proc& q) { OnRequest(q, name, get, value); });
    }
  });
  At(now_ + FromMillis(rng_.Uniform(options_.request_gap_min_ms, options_.request_gap_max_ms)),
     [this] { NextRequest(); });
}

void SimWorld::RandomFault() {
  if (now_ >= t_fault_) {
    return;
  }
  ++stats_.faults;
  const double lease = options_.lease_ms;
  const FaultKind kind = options_.kinds[rng_.Below(options_.kinds.size())];
  auto any_id = [&]() -> const std::string& { return fault_ids_[rng_.Below(fault_ids_.size())]; };
  switch (kind) {
    case FaultKind::kPause: {
      Proc& p = Newest(any_id());
      Pause(p, rng_.Uniform(0, options_.pause_max_leases * lease));
      break;
    }
    case FaultKind::kCrash: {
      Proc& p = Newest(any_id());
      Crash(p, rng_.Uniform(0, options_.down_max_leases * lease), "fault");
      break;
    }
    case FaultKind::kTwin: {
      const std::string& id = node_ids_[rng_.Below(node_ids_.size())];
      Twin(id, rng_.Uniform(lease, std::max(lease, options_.pause_max_leases * lease)));
      break;
    }
    case FaultKind::kBroker:
      Crash(*broker_, rng_.Uniform(0, options_.down_max_leases * lease), "fault");
      break;
    case FaultKind::kCut: {
      std::string a = node_ids_[rng_.Below(node_ids_.size())];
      std::string b = voter_ids_[rng_.Below(voter_ids_.size())];
      if (rng_.Chance(0.5)) {
        std::swap(a, b);
      }
      if (a == b) {
        break;  // A node and its own voter: one process.
      }
      network_.Cut(a, b);
      Log("net", "CUT %s->%s", a.c_str(), b.c_str());
      At(now_ + FromMillis(rng_.Uniform(0, options_.cut_max_leases * lease)), [this, a, b] {
        network_.Heal(a, b);
        Log("net", "heal %s->%s", a.c_str(), b.c_str());
      });
      break;
    }
  }
  At(now_ + FromMillis(rng_.Exponential(options_.fault_gap_ms)), [this] { RandomFault(); });
}

void SimWorld::Twin(const std::string& id, double pause_ms) {
  Proc& old = Newest(id);
  if (old.status != Status::kUp) {
    return;
  }
  Pause(old, pause_ms);
  int copies = 0;
  for (const auto& p : procs_) {
    copies += p->id == id ? 1 : 0;
  }
  const std::string old_label = old.label;
  Proc& twin = AddProc(id, Kind::kNode, id + "#" + std::to_string(copies + 1));
  twin.voting = old.voting;
  twin.hosts_voter = old.hosts_voter;
  Log(twin.label, "second process for id %s starts while %s is paused", id.c_str(),
      old_label.c_str());
  Start(twin);
}

void SimWorld::HealAll() {
  network_.HealAll();
  Log("net", "faults stop; every cut healed");
}

// ------------------------------------------------------------- checkers and trace

void SimWorld::Check() {
  for (const std::string& name : names_) {
    int count = 0;
    for (const auto& p : procs_) {
      if (p->status == Status::kUp && p->session && p->session->MayServe(name, LocalNow(*p))) {
        ++count;
      }
    }
    if (count <= 1) {
      continue;
    }
    std::vector<std::string> holders;
    for (const auto& p : procs_) {
      if (p->status == Status::kUp && p->session && p->session->MayServe(name, LocalNow(*p))) {
        holders.push_back(p->label);
      }
    }
    if (auto v = CheckOneServer(name, holders)) {
      Fail(*v);
      return;
    }
  }
}

void SimWorld::Fail(Violation violation) {
  if (violation_) {
    return;
  }
  Log("CHECK", "VIOLATION %s: %s", std::string(ViolationKindName(violation.kind)).c_str(),
      violation.text.c_str());
  violation_at_ms_ = ToMillis(now_);
  violation_ = std::move(violation);
}

void SimWorld::Log(const std::string& who, const char* format, ...) {
  if (violation_) {
    return;  // The trace ends at the first violation.
  }
  char what[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(what, sizeof what, format, args);
  va_end(args);
  char line[640];
  const int n =
      std::snprintf(line, sizeof line, "%10.3f %-6s %s", ToMillis(now_), who.c_str(), what);
  const std::size_t len = std::min(sizeof line - 1, static_cast<std::size_t>(std::max(n, 0)));
  for (std::size_t i = 0; i < len; ++i) {
    trace_hash_ = (trace_hash_ ^ static_cast<unsigned char>(line[i])) * 1099511628211ULL;
  }
  trace_hash_ = (trace_hash_ ^ '\n') * 1099511628211ULL;
  if (options_.verbose) {
    std::puts(line);
  }
  if (options_.tail > 0) {
    tail_.emplace_back(line, len);
    if (tail_.size() > options_.tail) {
      tail_.pop_front();
    }
  }
}

}  // namespace tenure::sim
