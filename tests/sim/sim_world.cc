#include "sim/sim_world.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <utility>

#include "tenure/base/check.h"
#include "tenure/base/ids.h"

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
    out += item.name + "#" + std::to_string(item.claim.value());
    if (!item.holder.empty()) {
      out += "@" + item.holder;
    }
  }
  return out;
}

std::vector<std::string> ConfiguredVoters(const std::vector<std::string>& voter_ids) {
  std::vector<std::string> out;
  for (const std::string& v : voter_ids) {
    if (v != lock::kWitnessId) {
      out.push_back(v);
    }
  }
  return out;
}

const char* const kStates[] = {"initialized", "working", "finalized"};

unsigned Short(Incarnation incarnation) { return static_cast<unsigned>(incarnation.value() >> 48); }

}  // namespace

struct SimWorld::Event {
  SimTime at = 0;
  std::uint64_t seq = 0;
  std::function<void()> fn;
};

struct SimWorld::Proc {
  struct Pending {
    std::uint64_t gen = 0;
    Input input;
  };

  std::string id;
  std::string label;
  Kind kind = Kind::kNode;
  bool node = false;         // kind == kNode.
  bool hosts_voter = false;  // A node listed among the voters: its core runs the Voter of its id.
  bool rogue = false;        // Node "R" of SimOptions::misconfig.
  Status status = Status::kDown;
  std::uint64_t gen = 0;  // Bumped at every start and crash.
  double rate = 1.0;
  double offset_ns = 0;
  Incarnation incarnation;
  std::string route;                   // Its ROUTER identity at the broker, new at every start.
  std::vector<Pending> pending;        // Inputs queued while paused.
  std::unique_ptr<lock::Voter> voter;  // A voter process, or the broker's witness.
  // Nodes: the core, the wake-up scheduled for its NextWake() (the newest
  // token counts), and its store connection (writer FIFO, generation).
  std::unique_ptr<node::NodeCore> core;
  std::optional<TimePoint> wake_at;
  std::uint64_t wake_token = 0;
  StoreGeneration store_generation{1};
  SimTime store_free_at = 0;  // When its writer has applied every batch sent so far.

  const lock::Voter* any_voter() const { return core ? core->voter() : voter.get(); }
};

std::string SimWorld::FaultyHandler::NextState(const protocol::EntityView& /*current*/,
                                               const protocol::Request& request) {
  if (world_.Faulty() && world_.rng_.Chance(world_.options_.throw_p)) {
    ++world_.stats_.handler_throws;
    throw std::runtime_error("simulated handler fault");
  }
  return request.state;
}

SimWorld::SimWorld(const SimOptions& options, std::uint64_t seed)
    : options_(options),
      seed_(seed),
      timing_(Timing(options)),
      t_fault_(FromMillis(options.t_fault_ms)),
      t_end_(FromMillis(options.t_end_ms)),
      node_ids_(NodeIds(options.nodes)),
      voter_ids_(VoterIds(options.voters, node_ids_, options.colocate)),
      configured_voters_(ConfiguredVoters(voter_ids_)),
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
    p.hosts_voter = options.colocate && static_cast<int>(i) < options.voters;
    fault_ids_.push_back(p.id);
  }
  if (options.misconfig != Misconfig::kNone) {
    Proc& rogue = AddProc("R", Kind::kNode, "R");
    rogue.rogue = true;
    rogue.hosts_voter = options.misconfig == Misconfig::kDisjoint;
    node_ids_.push_back(rogue.id);  // Clients may enter there too.
    fault_ids_.push_back(rogue.id);
  }
  for (const std::string& name : names_) {
    acked_[name] = Version{};
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
  p.incarnation = rng_.NewIncarnation();
  p.route = p.label + "/" + std::to_string(p.gen);
  routes_[p.route] = Target{&p, p.gen};
  const TimePoint now = LocalNow(p);
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  if (p.kind == Kind::kBroker) {
    router_ = std::make_unique<broker::RouterCore>(
        broker::RouterOptions{timing_.lease, tenure::NodeIds(configured_voters_),
                              options_.rules.settings_check, timing_.margin, timing_.drift});
  }
  const bool witness = p.kind == Kind::kBroker && std::find(voter_ids_.begin(), voter_ids_.end(),
                                                            lock::kWitnessId) != voter_ids_.end();
  if (p.kind == Kind::kVoter || witness) {
    lock::VoterOptions vo;
    vo.id = NodeId(p.id);
    vo.incarnation = p.incarnation;  // One process, one incarnation.
    vo.timing = timing_;
    vo.rules = options_.rules;
    vo.voters = tenure::NodeIds(voter_ids_);
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
  StartNode(p);
}

void SimWorld::StartNode(Proc& p) {
  node::NodeCoreOptions o;
  o.id = NodeId(p.id);
  o.incarnation = p.incarnation;
  o.voters = tenure::NodeIds(configured_voters_);
  o.timing = timing_;
  o.rules = options_.rules;
  o.idle = LocalMillis(options_.idle_ms);
  o.store_generation = StoreGeneration(1);  // A new process opens the store anew.
  if (p.rogue) {
    switch (options_.misconfig) {
      case Misconfig::kNone:
        break;
      case Misconfig::kSubset:
        o.voters = {NodeId(configured_voters_.front())};
        break;
      case Misconfig::kDisjoint:
        o.voters = {NodeId(p.id)};
        break;
      case Misconfig::kLease:
        o.timing.lease = 3 * timing_.lease;
        break;
    }
  }
  p.store_generation = StoreGeneration(1);
  p.store_free_at = now_;
  p.wake_at.reset();  // A wake-up of the previous core is not this one's.
  p.core = std::make_unique<node::NodeCore>(std::move(o), handler_, LocalNow(p));
  Log(p.label, "start inc=%04x rate=%.4f%s", Short(p.incarnation), p.rate,
      p.hosts_voter ? " with its voter" : "");
  Dispatch(p, p.gen, [this](Proc& q) { q.core->Advance(LocalNow(q)); });
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
  p.core.reset();  // Volatile state is lost.
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
    Dispatch(p, item.gen, std::move(item.input));
    Check();
  }
}

void SimWorld::Dispatch(Proc& p, std::uint64_t gen, Input input) {
  if (p.status == Status::kDown || (gen != 0 && gen != p.gen)) {
    return;
  }
  if (p.status == Status::kPaused) {
    p.pending.push_back({gen, std::move(input)});
    return;
  }
  input(p);
  if (p.node) {
    FlushNode(p);
  } else {
    FlushVoter(p);
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

SimWorld::Target SimWorld::Resolve(const std::string& id, Incarnation incarnation) {
  if (auto it = standalone_.find(id); it != standalone_.end()) {
    return Target{it->second, 0};
  }
  if (options_.routing == Routing::kLastSender) {
    auto it = last_sender_.find(id);
    TENURE_CHECK(it != last_sender_.end());
    return Target{it->second, 0};
  }
  const std::optional<std::string> route = router_->RouteOfNode(NodeId(id), incarnation);
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
    for (const broker::HeartbeatRefusal& r : router_->TakeRefusals()) {
      if (r.first) {
        Log("broker", "refused %s/%04x: settings '%s', the broker's '%s'", r.reply.to.c_str(),
            Short(r.reply.to_incarnation), r.node_settings.c_str(), r.reply.settings.c_str());
      }
      if (auto it = routes_.find(r.route); it != routes_.end()) {
        Dispatch(*it->second.proc, it->second.gen,
                 [this, reply = r.reply](Proc& q) { q.core->Step({}, reply, LocalNow(q)); });
      }
    }
    for (const auto& [node, incarnation] : router_->TakeTakeovers()) {
      LockMessage quiet;
      quiet.kind = LockMessage::Kind::kQuiet;
      quiet.to = node.str();
      quiet.to_incarnation = incarnation;
      Deliver(node.str(), quiet, from_route);
    }
    return;
  }
  const auto* lock = std::get_if<LockMessage>(&message);
  // As the broker: a node's voter heartbeats and lock messages pass only from
  // the connection registered under the id they name (a refused node reaches
  // no voter). QUIET is the broker's own.
  if (auto from = routes_.find(from_route);
      options_.routing == Routing::kBroker && from != routes_.end() && from->second.proc->node &&
      (lock == nullptr || lock->kind != LockMessage::Kind::kQuiet)) {
    const std::string& sender =
        lock != nullptr ? lock->from : std::get<protocol::Heartbeat>(message).node;
    if (!router_->Registered(from_route, NodeId(sender))) {
      return;
    }
  }
  const Target target = Resolve(to, lock != nullptr ? lock->to_incarnation : Incarnation{});
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
      if (p.core) {
        p.core->Step({}, *hb, now);
      } else if (p.voter) {
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
    if (p.core) {
      const lock::Voter* voter = p.core->voter();
      auto step = [&](Proc& q) { q.core->Step({}, m, LocalNow(q)); };
      if (voter != nullptr) {
        StepVoter(p, *voter, step, m.items);
      } else {
        step(p);
      }
    } else if (p.voter) {
      StepVoter(
          p, *p.voter, [&](Proc& q) { q.voter->Step(m, LocalNow(q)); }, m.items);
    }
  });
}

// Runs `step` in `p`, tracing names its voter gives from one holder to
// another (what a double serving begins with).
void SimWorld::StepVoter(Proc& p, const lock::Voter& voter, const Input& step,
                         const std::vector<protocol::LockItem>& items) {
  std::vector<std::optional<lock::Holder>> before;
  for (const protocol::LockItem& item : items) {
    before.push_back(voter.HolderOf(EntityId(item.name)));
  }
  step(p);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::optional<lock::Holder> after = voter.HolderOf(EntityId(items[i].name));
    if (after && before[i] &&
        (after->node != before[i]->node || after->incarnation != before[i]->incarnation)) {
      Log(p.label, "voter %s gives %s from %s/%04x to %s/%04x", voter.id().str().c_str(),
          items[i].name.c_str(), before[i]->node.str().c_str(), Short(before[i]->incarnation),
          after->node.str().c_str(), Short(after->incarnation));
    }
  }
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
  for (const lock::Refusal& r : p.voter->TakeRefusals()) {
    Log(p.label, "voter %s refused %s/%04x: settings '%s'", p.voter->id().str().c_str(),
        r.node.str().c_str(), Short(r.incarnation), r.settings.c_str());
  }
  for (LockMessage& m : p.voter->TakeOutbox()) {
    const std::string to = m.to;
    Send(p, to, std::move(m));
  }
}

// ------------------------------------------------------------- nodes

// Carries out what the core produced, as the node shell does: store jobs
// (persist), then messages in order (send); then sleeps until NextWake().
void SimWorld::FlushNode(Proc& p) {
  const TimePoint now = LocalNow(p);
  node::NodeEffects fx = p.core->TakeEffects(now);
  for (const node::Note& note : fx.notes) {
    if (note.level != node::Note::Level::kDebug) {
      Log(p.label, "%s", note.text.c_str());
    }
  }
  if (!fx.store_jobs.empty()) {
    SubmitJobs(p, std::move(fx.store_jobs));
  }
  for (node::Outgoing& out : fx.messages) {
    if (auto* hb = std::get_if<protocol::Heartbeat>(&out.message)) {
      const std::string to = hb->to;
      Send(p, to, std::move(*hb));
    } else if (auto* m = std::get_if<LockMessage>(&out.message)) {
      if (m->kind == LockMessage::Kind::kClaim) {
        Log(p.label, "-> %s CLAIM %s", m->to.c_str(), ItemsText(m->items).c_str());
      }
      const std::string to = m->to;
      Send(p, to, std::move(*m));
    } else if (auto* reply = std::get_if<protocol::Reply>(&out.message)) {
      const std::string from = p.label;
      At(now_ + FromMillis(rng_.Uniform(options_.delay_min_ms, options_.delay_max_ms)),
         [this, reply = std::move(*reply), route = out.route, from] {
           OnReply(reply, route, from);
         });
    } else if (auto* forward = std::get_if<protocol::Request>(&out.message)) {
      Log(p.label, "forward request %s for %s to %s", out.route.c_str(), forward->entity_id.c_str(),
          forward->via.c_str());
      At(now_ + FromMillis(rng_.Uniform(options_.delay_min_ms, options_.delay_max_ms)),
         [this, request = std::move(*forward), route = out.route] {
           RouteRequest(route, request);
         });
    }
    // Events (news) have no subscriber here.
  }
  if (!p.core->fatal().ok()) {
    Log(p.label, "FATAL: %s", p.core->fatal().message().c_str());
    ++stats_.fatal_exits;
    Crash(p, rng_.Uniform(options_.lease_ms, 2 * options_.lease_ms), "exit on NACK");
    return;
  }
  ScheduleWake(p);
}

// One wake-up is pending per process, at its core's NextWake(); a later one
// that an earlier NextWake() replaced runs as a no-op (its token is old).
void SimWorld::ScheduleWake(Proc& p) {
  const TimePoint wake = p.core->NextWake();
  if (p.wake_at && *p.wake_at <= wake) {
    return;
  }
  p.wake_at = wake;
  const std::uint64_t token = ++p.wake_token;
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  At(AfterLocal(p, std::max(Duration::zero(), wake - LocalNow(p))), [this, pp, gen, token] {
    Dispatch(*pp, gen, [this, token](Proc& q) {
      if (token != q.wake_token) {
        return;
      }
      q.wake_at.reset();
      q.core->Advance(LocalNow(q));
    });
  });
}

SimTime SimWorld::StoreDelay() {
  if (Faulty() && rng_.Chance(options_.store_slow_p)) {
    return FromMillis(rng_.Uniform(options_.store_slow_min_ms, options_.store_slow_max_ms));
  }
  return FromMillis(rng_.Uniform(options_.store_min_ms, options_.store_max_ms));
}

// One batch, one transaction: applied after a delay but never before the
// node's earlier batches (one writer thread per node), its results back
// after another. A crashed node's batch still lands: the database does not
// know the process died.
void SimWorld::SubmitJobs(Proc& p, std::vector<store::Job> jobs) {
  for (const store::Job& job : jobs) {
    stats_.activations += std::holds_alternative<store::ActivateOp>(job.op) ? 1 : 0;
  }
  const SimTime apply_at = std::max(now_ + StoreDelay(), p.store_free_at);
  p.store_free_at = apply_at;
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  auto shared = std::make_shared<std::vector<store::Job>>(std::move(jobs));
  At(apply_at, [this, pp, gen, shared] {
    ++stats_.store_batches;
    const StoreGeneration generation = pp->store_generation;
    std::vector<store::StoreResult> results;
    if (Faulty() && rng_.Chance(options_.store_fail_p)) {
      ++stats_.batch_faults;
      Log("store", "batch of %zu ops by %s FAILED as a whole", shared->size(), pp->label.c_str());
      for (std::size_t i = 0; i < shared->size(); ++i) {
        store::StoreResult r;
        r.status = tenure::Status::Unavailable("simulated: the disk is full; nothing written");
        results.push_back(std::move(r));
      }
    } else {
      results = store_.Apply(*shared, generation, pp->label);
      for (std::size_t i = 0; i < shared->size(); ++i) {
        const store::StoreOp& op = (*shared)[i].op;
        const store::StoreResult& r = results[i];
        if (const auto* a = std::get_if<store::ActivateOp>(&op)) {
          Log("store", "activate %s by %s -> epoch %" PRIu64 " %s", a->id.str().c_str(),
              pp->label.c_str(), r.epoch.value(),
              r.status.ok() ? "ok" : r.status.message().c_str());
        } else if (const auto* w = std::get_if<store::WriteOp>(&op)) {
          Log("store", "write %s epoch %" PRIu64 " v%" PRIu64 " by %s: %s", w->id.str().c_str(),
              w->epoch.value(), w->expected_version.value(), pp->label.c_str(),
              r.status.ok() ? "ok" : (r.fenced ? "FENCED" : r.status.message().c_str()));
        }
      }
      if (store_.violation()) {
        Fail(*store_.violation());
        return;
      }
    }
    At(now_ + StoreDelay(),
       [this, pp, gen, shared, generation, results = std::move(results)]() mutable {
         Dispatch(*pp, gen, [shared, generation, results = std::move(results), this](Proc& q) {
           for (std::size_t i = 0; i < results.size(); ++i) {
             q.core->HandleStoreResult(store::Done{(*shared)[i].ticket, results[i], generation},
                                       LocalNow(q));
           }
         });
       });
  });
}

// The node's store connection is replaced (a reconnection after an error
// in doubt, or the file replaced): a new generation. The writer refuses the
// jobs stamped with the old one; the node learns it from its next result or
// poke, whichever comes first.
void SimWorld::Reopen(Proc& p) {
  if (p.status != Status::kUp || !p.core) {
    return;
  }
  p.store_generation = Next(p.store_generation);
  const StoreGeneration generation = p.store_generation;
  Log(p.label, "store REOPENED (generation %" PRIu64 ")", generation.value());
  Proc* pp = &p;
  const std::uint64_t gen = p.gen;
  At(now_ + FromMillis(rng_.Uniform(0, options_.lease_ms / 4)), [this, pp, gen, generation] {
    Dispatch(*pp, gen, [this, generation](Proc& q) {
      q.core->HandleStoreGeneration(generation, LocalNow(q));
    });
  });
}

// ------------------------------------------------------------- clients

void SimWorld::NextRequest() {
  const std::string name = names_[rng_.Below(names_.size())];
  protocol::Request request;
  request.request_id = ++request_seq_;
  request.entity_id = name;
  request.op = rng_.Chance(options_.get_fraction) ? protocol::Op::kGet : protocol::Op::kSet;
  if (request.op == protocol::Op::kSet) {
    request.state = kStates[rng_.Below(3)];
  }
  // The rest enter at a node picked at random, which forwards it to the
  // holder if it is not that (DESIGN §5).
  if (!rng_.Chance(options_.route_to_owner)) {
    request.via = node_ids_[rng_.Below(node_ids_.size())];
  }
  requests_[request.request_id] = ClientRequest{name, request.op, acked_[name], false};
  ++stats_.requests;
  const std::string route = "client/" + std::to_string(request.request_id);
  const SimTime delay = FromMillis(rng_.Uniform(options_.delay_min_ms, options_.delay_max_ms));
  At(now_ + delay, [this, route, request] { RouteRequest(route, request); });
  At(now_ + FromMillis(rng_.Uniform(options_.request_gap_min_ms, options_.request_gap_max_ms)),
     [this] { NextRequest(); });
}

void SimWorld::RouteRequest(const std::string& route, const protocol::Request& request) {
  if (broker_->status != Status::kUp) {
    return;  // Clients reach nodes through the broker; lost, the client times out.
  }
  Result<std::string> to = router_->RouteRequest(request, LocalNow(*broker_));
  if (!to.ok()) {
    return;
  }
  auto it = routes_.find(*to);
  TENURE_CHECK(it != routes_.end());
  const Target target = it->second;
  if (target.proc->status == Status::kDown || target.proc->gen != target.gen) {
    router_->HandleUnreachable(*to);
    return;
  }
  Dispatch(*target.proc, target.gen,
           [route, request, this](Proc& q) { q.core->Step(route, request, LocalNow(q)); });
}

// A reply reaches its client (through the broker, which learns the owner).
void SimWorld::OnReply(const protocol::Reply& reply, const std::string& /*route*/,
                       const std::string& from) {
  if (broker_->status != Status::kUp) {
    return;  // Lost with the broker: the client times out.
  }
  router_->LearnFromReply(reply);
  auto it = requests_.find(reply.request_id);
  TENURE_CHECK(it != requests_.end());
  ClientRequest& request = it->second;
  if (request.answered) {
    Fail(Violation{ViolationKind::kDoubleAnswer, "request " + std::to_string(reply.request_id) +
                                                     " for " + request.name +
                                                     " answered twice (again by " + from + ")"});
    return;
  }
  request.answered = true;
  if (reply.code != ErrorCode::kOk || !reply.entity) {
    ++stats_.errors;
    return;
  }
  const protocol::EntityView& e = *reply.entity;
  if (auto v = CheckRead(store_, request.name, from, e.version, e.state, request.acked_before)) {
    Fail(*v);
    return;
  }
  if (request.op == protocol::Op::kSet) {
    acked_[request.name] = std::max(acked_[request.name], e.version);
    ++stats_.writes_acked;
  } else {
    ++stats_.reads;
  }
  liveness_.Served(request.name, now_);
}

// ------------------------------------------------------------- faults

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
    case FaultKind::kReopen:
      Reopen(Newest(node_ids_[rng_.Below(node_ids_.size())]));
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
  twin.hosts_voter = old.hosts_voter;
  twin.rogue = old.rogue;
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
  std::vector<std::string> holders;
  for (const std::string& name : names_) {
    holders.clear();
    for (const auto& p : procs_) {
      if (p->status == Status::kUp && p->core && p->core->MayServe(name, LocalNow(*p))) {
        holders.push_back(p->label);
      }
    }
    if (auto v = CheckOneServer(name, holders)) {
      Fail(*v);
      return;
    }
  }
  for (const auto& p : procs_) {
    if (p->status == Status::kDown) {
      continue;
    }
    if (p->core) {
      p->core->CheckInvariants(LocalNow(*p));
    } else if (p->voter) {
      p->voter->CheckInvariants();
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
