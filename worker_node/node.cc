#include "worker_node/node.h"

#include <random>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/base/signals.h"
#include "common/entity/authority.h"
#include "common/entity/handler.h"
#include "common/entity/runtime.h"
#include "common/net/zmq_util.h"
#include "common/protocol/codec.h"
#include "common/protocol/envelope.h"
#include "common/protocol/topics.h"
#include "common/store/batch_writer.h"

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

std::uint64_t NewIncarnation() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

class Node {
 public:
  Node(const NodeConfig& config, std::unique_ptr<store::Store> store)
      : config_(config),
        runtime_(entity::RuntimeOptions{config.id, config.idle, config.mailbox_depth_max},
                 authority_, handler_),
        writer_(std::move(store), store::BatchWriterOptions{}, [this] { wakeup_.Signal(); }),
        dealer_(context_, zmq::socket_type::dealer),
        sub_(context_, zmq::socket_type::sub),
        incarnation_(NewIncarnation()) {}

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
    spdlog::info("node {} (incarnation {:016x}) serving through broker {}", config_.id,
                 incarnation_, config_.broker);

    const Duration heartbeat_interval = config_.lease / 4;
    TimePoint next_heartbeat = Clock::now();
    std::optional<TimePoint> drain_deadline;
    while (true) {
      TimePoint now = Clock::now();
      if (StopRequested() && !drain_deadline) {
        spdlog::info("stopping: draining {} workers", runtime_.worker_count());
        drain_deadline = now + config_.drain_max;
        runtime_.BeginDrain(now);
        CarryOut(now);
      }
      if (drain_deadline && (runtime_.Drained() || now >= *drain_deadline)) {
        break;
      }
      if (now >= next_heartbeat) {
        SendHeartbeat(now);
        runtime_.Tick(now);
        CarryOut(now);
        next_heartbeat = now + heartbeat_interval;
      }
      TimePoint wake = next_heartbeat;
      if (std::optional<TimePoint> d = runtime_.NextDeadline(); d && *d < wake) {
        wake = *d;
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
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
      // Store results first: they free workers whose next requests may follow.
      for (store::Done& done : writer_.TakeDone()) {
        runtime_.HandleStoreResult(done.ticket, std::move(done.result), now);
      }
      for (int i = 0; i < kMessagesPerTurn; ++i) {
        std::optional<net::Received> msg = net::TryRecv(dealer_);
        if (!msg) {
          break;
        }
        HandleFrames(*msg, now);
      }
      for (int i = 0; i < kMessagesPerTurn; ++i) {
        std::optional<net::Received> msg = net::TryRecv(sub_);
        if (!msg) {
          break;
        }
        HandleNews(*msg);
      }
      CarryOut(now);
    }
    writer_.Stop();
    for (store::Done& done : writer_.TakeDone()) {
      runtime_.HandleStoreResult(done.ticket, std::move(done.result), Clock::now());
    }
    CarryOut(Clock::now());
    spdlog::info("stopped{} (dropped {} bad messages in all)",
                 runtime_.Drained() ? "" : " before every worker drained", bad_messages_);
    return Status::Ok();
  }

 private:
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
    auto* request = std::get_if<protocol::Request>(&decoded.value());
    if (request == nullptr || env->route.empty()) {
      Drop("a node only takes routed requests");
      return;
    }
    runtime_.HandleRequest(std::move(env->route), std::move(*request), now);
  }

  void HandleNews(const net::Received& msg) {
    if (msg.oversized || msg.frames.size() != 3) {
      return;
    }
    const std::vector<std::string_view> views = net::Views(msg.frames);
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

  // Carries out the runtime's effects until none are left: persist, then send.
  // Claims are granted at once: with this node as the only voter, nobody else
  // can hold a name.
  void CarryOut(TimePoint now) {
    for (;;) {
      entity::Effects fx = runtime_.TakeEffects();
      if (fx.empty()) {
        return;
      }
      for (entity::StoreCall& call : fx.store_calls) {
        Status s = writer_.Submit(store::Job{call.ticket, std::move(call.op)});
        if (!s.ok()) {
          store::StoreResult refused;
          refused.status = s;
          runtime_.HandleStoreResult(call.ticket, std::move(refused), now);
        }
      }
      for (const entity::ReplyTo& r : fx.replies) {
        const std::string body = protocol::Encode(r.reply);
        net::Send(dealer_, {kSignature, body, r.route});
      }
      for (const protocol::Event& e : fx.events) {
        const std::string body = protocol::Encode(e);
        net::Send(dealer_, {kSignature, body});
      }
      for (const std::string& id : fx.claims) {
        runtime_.HandleGranted(id, now);
      }
    }
  }

  void SendHeartbeat(TimePoint now) {
    protocol::Heartbeat hb;
    hb.node = config_.id;
    hb.incarnation = incarnation_;
    hb.seq = ++heartbeat_seq_;
    hb.sent_ms = ToMillis(now.time_since_epoch());
    hb.voter = true;
    hb.entities = static_cast<std::uint32_t>(runtime_.worker_count());
    const std::string body = protocol::Encode(hb);
    net::Send(dealer_, {kSignature, body});
  }

  void Drop(const std::string& why) {
    ++bad_messages_;
    if (bad_messages_ <= 10 || bad_messages_ % 1000 == 0) {
      spdlog::warn("dropped a bad message ({} so far): {}", bad_messages_, why);
    }
  }

  const NodeConfig config_;
  entity::SoleVoterAuthority authority_;
  entity::PlainHandler handler_;
  Wakeup wakeup_;  // Before writer_: the writer's thread may signal it until joined.
  entity::Runtime runtime_;
  store::BatchWriter writer_;
  zmq::context_t context_{1};
  zmq::socket_t dealer_;
  zmq::socket_t sub_;
  const std::uint64_t incarnation_;
  std::uint64_t heartbeat_seq_ = 0;
  std::uint64_t bad_messages_ = 0;
};

}  // namespace

Status RunNode(const NodeConfig& config) {
  if (!config.voters.empty() && (config.voters.size() != 1 || config.voters[0] != config.id)) {
    return Status::BadRequest(
        "--voters lists other nodes, but this build serves a single-voter cluster only "
        "(the quorum lock table is not built yet); use --voters " +
        config.id);
  }
  store::SqliteOptions options;
  options.path = config.db;
  options.sync = config.sync;
  Result<std::unique_ptr<store::Store>> store = store::OpenSqliteStore(options);
  if (!store.ok()) {
    return store.status();
  }
  Node node(config, std::move(store).value());
  return node.Run();
}

}  // namespace tenure::node
