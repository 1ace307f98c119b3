#include "worker_node/node.h"

#include <algorithm>
#include <optional>
#include <random>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/base/signals.h"
#include "common/entity/handler.h"
#include "common/entity/runtime.h"
#include "common/lock/session.h"
#include "common/lock/voter.h"
#include "common/net/zmq_util.h"
#include "common/protocol/codec.h"
#include "common/protocol/envelope.h"
#include "common/protocol/topics.h"
#include "common/store/batch_writer.h"

#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace tenure::node {
namespace {

using protocol::kSignature;

constexpr int kMessagesPerTurn = 4096;

// An eventfd the writer thread bumps when results are ready; the loop polls it.
class Wakeup {
 public:
  Wakeup() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Wakeup() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void Signal() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
  }
  void Clear() const {
    std::uint64_t value = 0;
    [[maybe_unused]] ssize_t n = read(fd_, &value, sizeof value);
  }

 private:
  const int fd_;
};

// Warns when one pass of the event loop holds it up for long (requests wait
// meanwhile), naming the slowest step: what an operator needs to find a stall.
class TurnTimer {
 public:
  explicit TurnTimer(const char* what) : what_(what), start_(Clock::now()), lap_(start_) {}
  TurnTimer(const TurnTimer&) = delete;
  TurnTimer& operator=(const TurnTimer&) = delete;
  ~TurnTimer() {
    const Duration total = Clock::now() - start_;
    if (total >= kSlowTurn) {
      spdlog::warn("slow event loop {}: {} ms, most in {} ({} ms)", what_, ToMillis(total),
                   slowest_, ToMillis(slowest_time_));
    }
  }
  void Lap(const char* step) {
    const TimePoint now = Clock::now();
    if (now - lap_ > slowest_time_) {
      slowest_time_ = now - lap_;
      slowest_ = step;
    }
    lap_ = now;
  }

 private:
  static constexpr Duration kSlowTurn = std::chrono::milliseconds(200);
  const char* what_;
  const TimePoint start_;
  TimePoint lap_;
  const char* slowest_ = "-";
  Duration slowest_time_{};
};

std::uint64_t NewIncarnation() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

class Node {
 public:
  Node(const NodeConfig& config, std::unique_ptr<store::Store> store, TimePoint start)
      : config_(config),
        incarnation_(NewIncarnation()),
        voters_(lock::EffectiveVoters(config.voters, config.id)),
        session_(SessionOptionsFor(config, voters_, incarnation_), start),
        runtime_(entity::RuntimeOptions{config.id, config.idle, config.mailbox_depth_max}, session_,
                 handler_),
        writer_(std::move(store), store::BatchWriterOptions{}, [this] { wakeup_.Signal(); }),
        dealer_(context_, zmq::socket_type::dealer),
        sub_(context_, zmq::socket_type::sub) {
    if (std::find(voters_.begin(), voters_.end(), config.id) != voters_.end()) {
      voter_.emplace(lock::VoterOptions{config.id, incarnation_, Timing(config), {}, voters_},
                     start);
    }
  }

  Status Run() {
    if (!wakeup_.ok()) {
      return Status::Unavailable("cannot create an eventfd");
    }
    net::Configure(dealer_, 100000);
    net::Configure(sub_, 10000);
    sub_.set(zmq::sockopt::subscribe, protocol::kNodeTopicPrefix);
    if (Status s = net::Connect(dealer_, config_.broker); !s.ok()) {
      return s;
    }
    if (Status s = net::Connect(sub_, config_.pub); !s.ok()) {
      return s;
    }
    spdlog::info("node {} (incarnation {:016x}, {}voter; voters {}) serving through broker {}",
                 config_.id, incarnation_, voter_ ? "" : "non-", fmt::join(voters_, ","),
                 config_.broker);

    const Duration heartbeat_interval = config_.lease / 4;
    TimePoint next_heartbeat = Clock::now();
    std::optional<TimePoint> drain_deadline;
    std::optional<TimePoint> release_deadline;
    while (fatal_.ok()) {
      TimePoint now = Clock::now();
      if (StopRequested() && !drain_deadline) {
        spdlog::info("stopping: draining {} workers", runtime_.worker_count());
        drain_deadline = now + config_.drain_max;
        // Goodbye first: the broker routes nothing new here while we drain.
        SendToBroker(protocol::Event{
            protocol::Event::Kind::kNodeDown, {}, {}, 0, 0, config_.id, "stopping"});
        runtime_.BeginDrain(now);
        CarryOut(now);
      }
      if (drain_deadline && (runtime_.Drained() || now >= *drain_deadline)) {
        // Handoff: the names are released; wait (briefly) for the voters to
        // acknowledge, so that others can take over at once.
        if (!release_deadline) {
          release_deadline = now + config_.lease;
        }
        if (!session_.releases_pending() || now >= *release_deadline) {
          break;
        }
      }
      if (now >= next_heartbeat) {
        TurnTimer timer("heartbeat tick");
        session_.Tick(now);
        timer.Lap("session");
        if (voter_) {
          voter_->Tick(now);
        }
        timer.Lap("voter");
        runtime_.Tick(now);
        ReturnFreedMemory();
        timer.Lap("runtime");
        if (!drain_deadline) {
          SendBrokerHeartbeat(now);
        }
        // Finds a database file deleted or put back even while nobody
        // writes, within a heartbeat interval.
        writer_.Poke();
        CarryOut(now);
        next_heartbeat = now + heartbeat_interval;
      }
      TimePoint wake = next_heartbeat;
      // A back-off that ends between heartbeats (a dead holder's session
      // lapsing) is acted on then, not at the next heartbeat.
      if (std::optional<TimePoint> b = session_.NextBackoffEnd(); b && *b < wake) {
        wake = *b;
      }
      if (std::optional<TimePoint> d = runtime_.NextDeadline(); d && *d < wake) {
        wake = *d;
      }
      // Rounded up: waking before a deadline would only spin.
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
          std::clamp<Duration>(wake - now, Duration::zero(), heartbeat_interval));
      zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0},
                                 {sub_.handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, wakeup_.fd(), ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 3, wait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) {
          continue;
        }
        return Status::Unavailable(std::string("poll failed: ") + e.what());
      }
      now = Clock::now();
      if (items[2].revents & ZMQ_POLLIN) {
        wakeup_.Clear();
      }
      TurnTimer timer("turn");
      session_.EndBackoffs(now);
      // Store results first: they free workers whose next requests may follow.
      TakeStoreResults(now);
      timer.Lap("store results");
      for (int i = 0; i < kMessagesPerTurn && net::TryRecv(dealer_, received_); ++i) {
        HandleFrames(received_, now);
      }
      for (int i = 0; i < kMessagesPerTurn && net::TryRecv(sub_, received_); ++i) {
        HandleNews(received_);
      }
      timer.Lap("messages");
      CarryOut(now);
      timer.Lap("carry out");
    }
    writer_.Stop();
    for (store::Done& done : writer_.TakeDone()) {
      runtime_.HandleStoreResult(done.ticket, std::move(done.result), Clock::now());
    }
    if (!fatal_.ok()) {
      return fatal_;
    }
    CarryOut(Clock::now());
    spdlog::info("stopped{} (dropped {} bad messages in all)",
                 runtime_.Drained() ? "" : " before every worker drained", bad_messages_);
    return Status::Ok();
  }

 private:
  static lock::LockTiming Timing(const NodeConfig& config) {
    lock::LockTiming timing;
    timing.lease = config.lease;
    return timing;
  }

  static lock::SessionOptions SessionOptionsFor(const NodeConfig& config,
                                                const std::vector<std::string>& voters,
                                                std::uint64_t incarnation) {
    lock::SessionOptions o;
    o.node_id = config.id;
    o.incarnation = incarnation;
    o.voters = voters;
    o.voter = std::find(voters.begin(), voters.end(), config.id) != voters.end();
    o.timing = Timing(config);
    o.seed = incarnation;
    return o;
  }

  void TakeStoreResults(TimePoint now) {
    // Read before the results: a reconnection published after them must not
    // be taken for the newest generation while older results are pending.
    const std::uint64_t generation = writer_.generation();
    for (store::Done& done : writer_.TakeDone()) {
      SwitchStoreGeneration(done.generation, now);
      runtime_.HandleStoreResult(done.ticket, std::move(done.result), now);
    }
    // A reconnection found by a poke has no result to carry it.
    SwitchStoreGeneration(generation, now);
    // Logged once per change of kind, not per batch: a full disk fails every
    // batch, each with a message naming its own op.
    if (Status fault = writer_.fault(); fault.code() != store_fault_.code()) {
      if (!fault.ok()) {
        spdlog::error("store: writes fail: {}", fault.message());
      } else {
        spdlog::info("store: writes succeed again");
      }
      store_fault_ = std::move(fault);
    }
  }

  // The store reconnected to its database (perhaps another copy): nothing
  // cached from the old one may be served or written from.
  void SwitchStoreGeneration(std::uint64_t generation, TimePoint now) {
    if (generation <= store_generation_) {
      return;  // Results of an older generation, taken late: nothing to switch.
    }
    // Ops formed from the old database's caches go out first, stamped with
    // its generation: the writer refuses them.
    CarryOut(now);
    spdlog::warn("store: reopened the database {} (generation {}); {} workers read it again",
                 config_.db, generation, runtime_.worker_count());
    store_generation_ = generation;
    runtime_.HandleStoreReopened(now);
  }

  void HandleFrames(const net::Received& msg, TimePoint now) {
    if (msg.oversized) {
      Drop("too many frames");
      return;
    }
    Result<protocol::Envelope> env = protocol::ParseEnvelope(net::Views(msg.frames));
    if (!env.ok()) {
      Drop(env.status().message());
      return;
    }
    Result<protocol::Message> decoded = protocol::Decode(env->body);
    if (!decoded.ok()) {
      Drop(decoded.status().message());
      return;
    }
    if (auto* request = std::get_if<protocol::Request>(&decoded.value())) {
      if (env->route.empty()) {
        Drop("a request without a route cannot be answered");
        return;
      }
      runtime_.HandleRequest(std::string(env->route), std::move(*request), now);
    } else if (auto* hb = std::get_if<protocol::Heartbeat>(&decoded.value())) {
      if (voter_ && hb->to == config_.id) {
        const bool known = voter_->HasSession(hb->node, hb->incarnation, now);
        voter_->Step(*hb, now);
        if (!known && voter_->HasSession(hb->node, hb->incarnation, now)) {
          spdlog::debug("voter: session of {} (incarnation {:016x}) opened", hb->node,
                        hb->incarnation);
        }
      } else {
        Drop("a heartbeat for a voter this node is not");
      }
    } else if (auto* lock = std::get_if<protocol::LockMessage>(&decoded.value())) {
      if (lock->to != config_.id) {
        Drop("a lock message for another node");
      } else {
        DeliverLock(*lock, now);
      }
    } else {
      Drop("a node takes requests, heartbeats and lock messages only");
    }
  }

  // A lock message for this node: claims and releases go to its voter,
  // replies to its session.
  void DeliverLock(const protocol::LockMessage& m, TimePoint now) {
    using Kind = protocol::LockMessage::Kind;
    if (m.kind == Kind::kClaim || m.kind == Kind::kRelease || m.kind == Kind::kQuiet) {
      if (voter_) {
        voter_->Step(m, now);
      }
    } else {
      session_.Step(m, now);
    }
  }

  void HandleNews(const net::Received& msg) {
    if (msg.oversized || msg.frames.size() != 3) {
      return;
    }
    const net::FrameViews views = net::Views(msg.frames);
    if (views[1] != protocol::kSignature) {
      return;
    }
    Result<protocol::Message> decoded = protocol::Decode(views[2]);
    if (!decoded.ok()) {
      return;
    }
    if (auto* e = std::get_if<protocol::Event>(&decoded.value()); e && e->node != config_.id) {
      spdlog::info("peer {} is {}", e->node,
                   e->kind == protocol::Event::Kind::kNodeUp ? "up" : "down");
    }
  }

  // Carries out what the cores produced until nothing is left, in order:
  // store calls (persist), then replies, forwards and news (send), then the
  // lock protocol's messages and the decisions they lead to.
  void CarryOut(TimePoint now) {
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      entity::Effects fx = runtime_.TakeEffects();
      any = any || !fx.empty();
      if (!fx.store_calls.empty()) {
        std::vector<store::Job> jobs;
        jobs.reserve(fx.store_calls.size());
        for (entity::StoreCall& call : fx.store_calls) {
          jobs.push_back(store::Job{call.ticket, std::move(call.op), store_generation_});
        }
        for (auto& [index, status] : writer_.SubmitAll(std::move(jobs))) {
          store::StoreResult refused;
          refused.status = std::move(status);
          runtime_.HandleStoreResult(fx.store_calls[index].ticket, std::move(refused), now);
        }
      }
      for (const entity::ReplyTo& r : fx.replies) {
        const std::string body = protocol::Encode(r.reply);
        net::Send(dealer_, {kSignature, body, r.route});
      }
      for (const entity::Forward& f : fx.forwards) {
        const std::string body = protocol::Encode(f.request);
        net::Send(dealer_, {kSignature, body, f.route});
      }
      for (const protocol::Event& e : fx.events) {
        if (e.kind == protocol::Event::Kind::kPassivated && e.reason == "lost") {
          spdlog::info("stepped down from '{}' (epoch {}): this node may no longer serve it",
                       e.entity_id, e.epoch);
        }
        const std::string body = protocol::Encode(e);
        net::Send(dealer_, {kSignature, body});
      }
      for (const std::string& id : fx.claims) {
        session_.Claim(id, now);
      }
      for (const std::string& id : fx.releases) {
        session_.Release(id, now);
      }

      lock::SessionEffects lx = session_.TakeEffects(now);
      any = any || !lx.heartbeats.empty() || !lx.messages.empty() || !lx.events.empty();
      // Even this node's own voter is reached through the broker: the broker
      // routes a voter id to one process at a time, so a second process
      // started under this id can never vote as this voter too.
      for (protocol::Heartbeat& hb : lx.heartbeats) {
        hb.entities = static_cast<std::uint32_t>(runtime_.worker_count());
        SendToBroker(hb);
      }
      for (const protocol::LockMessage& m : lx.messages) {
        SendToBroker(m);
      }
      for (const lock::LockEvent& e : lx.events) {
        OnLockEvent(e, now);
      }
      if (voter_) {
        for (const protocol::LockMessage& m : voter_->TakeOutbox()) {
          any = true;
          SendToBroker(m);
        }
      }
      if (!any) {
        return;
      }
    }
  }

  void OnLockEvent(const lock::LockEvent& e, TimePoint now) {
    switch (e.kind) {
      case lock::LockEvent::Kind::kGranted:
        runtime_.HandleGranted(e.name, now);
        return;
      case lock::LockEvent::Kind::kLost:
        spdlog::info("lost '{}': {}; its worker stops", e.name, e.reason);
        runtime_.HandleLost(e.name, now);
        return;
      case lock::LockEvent::Kind::kDenied:
        runtime_.HandleDenied(e.name, e.holder, now);
        return;
      case lock::LockEvent::Kind::kFailed:
        spdlog::debug("claim of '{}' failed: {}", e.name, e.reason);
        runtime_.HandleFailed(e.name, now);
        return;
      case lock::LockEvent::Kind::kRefused:
        spdlog::warn(
            "{}; waiting up to {} ms for it to lapse (a restart after a crash) "
            "before giving up",
            e.reason, ToMillis(session_.options().timing.twin_wait()));
        return;
      case lock::LockEvent::Kind::kFatal:
        fatal_ = Status::Conflict(e.reason + "; this process exits (is node '" + config_.id +
                                  "' started twice?)");
        return;
    }
  }

  template <typename M>
  void SendToBroker(const M& message) {
    const std::string body = protocol::Encode(message);
    net::Send(dealer_, {kSignature, body});
  }

  // glibc keeps the memory of freed workers for reuse; after idle
  // passivation of many of them that would stay the node's peak for good.
  // Trimming only after a large drop keeps it off the steady path.
  void ReturnFreedMemory() {
    const std::size_t workers = runtime_.worker_count();
    workers_peak_ = std::max(workers_peak_, workers);
    if (workers_peak_ - workers >= kTrimAfterFreed) {
      malloc_trim(0);
      workers_peak_ = workers;
    }
  }

  // The broker's own heartbeat (no voter): liveness and routing.
  void SendBrokerHeartbeat(TimePoint now) {
    protocol::Heartbeat hb;
    hb.node = config_.id;
    hb.incarnation = incarnation_;
    hb.seq = ++broker_heartbeat_seq_;
    hb.sent_ms = ToMillis(now.time_since_epoch());
    hb.voter = voter_.has_value();
    hb.entities = static_cast<std::uint32_t>(runtime_.worker_count());
    hb.settings = session_.settings();
    SendToBroker(hb);
  }

  void Drop(const std::string& why) {
    ++bad_messages_;
    if (bad_messages_ <= 10 || bad_messages_ % 1000 == 0) {
      spdlog::warn("dropped a bad message ({} so far): {}", bad_messages_, why);
    }
  }

  const NodeConfig config_;
  const std::uint64_t incarnation_;
  const std::vector<std::string> voters_;  // Witness included.
  lock::Session session_;
  std::optional<lock::Voter> voter_;  // Set when this node votes.
  entity::PlainHandler handler_;
  Wakeup wakeup_;  // Before writer_: the writer's thread may signal it until joined.
  entity::Runtime runtime_;
  store::BatchWriter writer_;
  zmq::context_t context_{1};
  zmq::socket_t dealer_;
  zmq::socket_t sub_;
  std::uint64_t store_generation_ = writer_.generation();  // Of the results taken so far.
  Status store_fault_;                                     // The writer's fault as last logged.
  std::uint64_t broker_heartbeat_seq_ = 0;
  std::uint64_t bad_messages_ = 0;
  static constexpr std::size_t kTrimAfterFreed = 1000;
  std::size_t workers_peak_ = 0;  // Since the last trim.
  Status fatal_;                  // Set by a NACK: the loop ends and the process exits non-zero.
  net::Received received_;        // Reused for every message: no frame list allocated per message.
};

}  // namespace

Status RunNode(const NodeConfig& config) {
  store::SqliteOptions options;
  options.path = config.db;
  options.sync = config.sync;
  Result<std::unique_ptr<store::Store>> store = store::OpenSqliteStore(options);
  if (!store.ok()) {
    return store.status();
  }
  Node node(config, std::move(store).value(), Clock::now());
  return node.Run();
}

}  // namespace tenure::node
