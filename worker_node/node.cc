#include "node.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "tenure/base/ids.h"
#include "tenure/base/signals.h"
#include "tenure/entity/handler.h"
#include "tenure/net/zmq_util.h"
#include "tenure/node/node_core.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"
#include "tenure/protocol/topics.h"
#include "tenure/store/batch_writer.h"

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

Incarnation NewIncarnation() {
  std::random_device device;
  return Incarnation((std::uint64_t{device()} << 32) ^ device());
}

void Log(const Note& note) {
  switch (note.level) {
    case Note::Level::kDebug:
      spdlog::debug("{}", note.text);
      return;
    case Note::Level::kInfo:
      spdlog::info("{}", note.text);
      return;
    case Note::Level::kWarn:
      spdlog::warn("{}", note.text);
      return;
    case Note::Level::kError:
      spdlog::error("{}", note.text);
      return;
  }
}

NodeCoreOptions CoreOptions(const NodeConfig& config, StoreGeneration store_generation) {
  NodeCoreOptions o;
  o.id = NodeId(config.id);
  o.incarnation = NewIncarnation();
  o.voters = NodeIds(config.voters);
  o.timing.lease = config.lease;
  o.idle = config.idle;
  o.mailbox_depth_max = config.mailbox_depth_max;
  o.store_generation = store_generation;
  return o;
}

// The shell: sockets, the writer thread, signals and the clock. Every
// decision is NodeCore's.
class Node {
 public:
  Node(const NodeConfig& config, std::unique_ptr<store::Store> store, TimePoint start)
      : config_(config),
        writer_(std::move(store), store::BatchWriterOptions{}, [this] { wakeup_.Signal(); }),
        core_(CoreOptions(config, writer_.generation()), handler_, start),
        dealer_(context_, zmq::socket_type::dealer),
        sub_(context_, zmq::socket_type::sub) {}

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
    std::vector<std::string> voters;
    for (const NodeId& v : core_.voters()) {
      voters.push_back(v.str());
    }
    spdlog::info("node {} (incarnation {:016x}, {}voter; voters {}) serving through broker {}",
                 config_.id, core_.incarnation().value(), core_.voter() != nullptr ? "" : "non-",
                 fmt::join(voters, ","), config_.broker);

    const Duration heartbeat_interval = config_.lease / 4;
    TimePoint next_poke = Clock::now();
    std::optional<TimePoint> drain_deadline;
    std::optional<TimePoint> release_deadline;
    while (core_.fatal().ok()) {
      TimePoint now = Clock::now();
      if (StopRequested() && !drain_deadline) {
        drain_deadline = now + config_.drain_max;
        core_.BeginDrain(now);
        CarryOut(now);
      }
      if (drain_deadline && (core_.Drained() || now >= *drain_deadline)) {
        // Handoff: the names are released; wait (briefly) for the voters to
        // acknowledge, so that others can take over at once.
        if (!release_deadline) {
          release_deadline = now + config_.lease;
        }
        if (!core_.releases_pending() || now >= *release_deadline) {
          break;
        }
      }
      {
        TurnTimer timer("wake-up");
        core_.Advance(now);
        ReturnFreedMemory();
        timer.Lap("cores");
        if (now >= next_poke) {
          // Finds a database file deleted or put back even while nobody
          // writes, within a heartbeat interval.
          writer_.Poke();
          next_poke = now + heartbeat_interval;
        }
        CarryOut(now);
        timer.Lap("carry out");
      }
      // Rounded up: waking before a deadline would only spin.
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
          std::clamp<Duration>(core_.NextWake() - now, Duration::zero(), heartbeat_interval));
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
      core_.HandleStoreResult(std::move(done), Clock::now());
    }
    if (!core_.fatal().ok()) {
      for (const Note& note : core_.TakeEffects(Clock::now()).notes) {
        Log(note);
      }
      return core_.fatal();
    }
    CarryOut(Clock::now());
    spdlog::info("stopped{} (dropped {} bad messages in all)",
                 core_.Drained() ? "" : " before every worker drained", core_.bad_messages());
    return Status::Ok();
  }

 private:
  void TakeStoreResults(TimePoint now) {
    // Read before the results: a reconnection published after them must not
    // be taken for the newest generation while older results are pending.
    const StoreGeneration generation = writer_.generation();
    for (store::Done& done : writer_.TakeDone()) {
      core_.HandleStoreResult(std::move(done), now);
    }
    // A reconnection found by a poke has no result to carry it.
    core_.HandleStoreGeneration(generation, now);
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

  void HandleFrames(const net::Received& msg, TimePoint now) {
    if (msg.oversized) {
      core_.HandleBadMessage("too many frames");
      return;
    }
    Result<protocol::Envelope> env = protocol::ParseEnvelope(net::Views(msg.frames));
    if (!env.ok()) {
      core_.HandleBadMessage(env.status().message());
      return;
    }
    Result<protocol::Message> decoded = protocol::Decode(env->body);
    if (!decoded.ok()) {
      core_.HandleBadMessage(decoded.status().message());
      return;
    }
    core_.Step(env->route, std::move(decoded).value(), now);
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

  // Carries out what the core produced, until it has nothing more: store
  // jobs first (persist), then messages in order (send). A job the writer
  // refuses at once goes back to the core, which may answer it.
  void CarryOut(TimePoint now) {
    for (;;) {
      NodeEffects fx = core_.TakeEffects(now);
      for (const Note& note : fx.notes) {
        Log(note);
      }
      if (fx.store_jobs.empty() && fx.messages.empty()) {
        return;
      }
      if (!fx.store_jobs.empty()) {
        std::vector<std::uint64_t> tickets;
        tickets.reserve(fx.store_jobs.size());
        for (const store::Job& job : fx.store_jobs) {
          tickets.push_back(job.ticket);
        }
        for (auto& [index, status] : writer_.SubmitAll(std::move(fx.store_jobs))) {
          store::Done refused{tickets[index], {}, core_.store_generation()};
          refused.result.status = std::move(status);
          core_.HandleStoreResult(std::move(refused), now);
        }
      }
      for (const Outgoing& out : fx.messages) {
        const std::string body = std::visit(
            [](const auto& m) -> std::string { return protocol::Encode(m); }, out.message);
        if (out.route.empty()) {
          net::Send(dealer_, {kSignature, body});
        } else {
          net::Send(dealer_, {kSignature, body, out.route});
        }
      }
    }
  }

  // glibc keeps the memory of freed workers for reuse; after idle
  // passivation of many of them that would stay the node's peak for good.
  // Trimming only after a large drop keeps it off the steady path.
  void ReturnFreedMemory() {
    const std::size_t workers = core_.worker_count();
    workers_peak_ = std::max(workers_peak_, workers);
    if (workers_peak_ - workers >= kTrimAfterFreed) {
      malloc_trim(0);
      workers_peak_ = workers;
    }
  }

  const NodeConfig config_;
  entity::PlainHandler handler_;
  Wakeup wakeup_;  // Before writer_: the writer's thread may signal it until joined.
  store::BatchWriter writer_;
  NodeCore core_;
  zmq::context_t context_{1};
  zmq::socket_t dealer_;
  zmq::socket_t sub_;
  Status store_fault_;  // The writer's fault as last logged.
  static constexpr std::size_t kTrimAfterFreed = 1000;
  std::size_t workers_peak_ = 0;  // Since the last trim.
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
