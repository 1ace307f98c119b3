#include "broker/broker.h"

#include <cstdio>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "broker/router_core.h"
#include "common/base/signals.h"
#include "common/net/zmq_util.h"
#include "common/protocol/codec.h"
#include "common/protocol/envelope.h"
#include "common/protocol/topics.h"

namespace tenure::broker {
namespace {

using protocol::kSignature;

// Messages handled per poll iteration before timers get a turn.
constexpr int kMessagesPerTurn = 4096;

class Broker {
 public:
  explicit Broker(const BrokerConfig& config)
      : config_(config),
        core_(RouterOptions{config.lease, config.voters}),
        router_(context_, zmq::socket_type::router),
        pub_(context_, zmq::socket_type::pub) {}

  Status Run() {
    net::Configure(router_, 100000);
    net::Configure(pub_, 10000);  // A slow subscriber loses news, never slows the broker.
    Result<std::string> router_ep = net::Bind(router_, config_.router);
    if (!router_ep.ok()) {
      return router_ep.status();
    }
    Result<std::string> pub_ep = net::Bind(pub_, config_.pub);
    if (!pub_ep.ok()) {
      return pub_ep.status();
    }
    std::printf("broker ready router=%s pub=%s\n", router_ep->c_str(), pub_ep->c_str());
    std::fflush(stdout);
    spdlog::info("listening: router {} pub {}, lease {} ms", *router_ep, *pub_ep,
                 ToMillis(config_.lease));

    const Duration tick = config_.lease / 4;
    TimePoint next_tick = Clock::now() + tick;
    while (!StopRequested()) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(Duration::zero(), next_tick - Clock::now()));
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 1, wait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) {
          continue;
        }
        return Status::Unavailable(std::string("poll failed: ") + e.what());
      }
      for (int i = 0; i < kMessagesPerTurn; ++i) {
        std::optional<net::Received> msg = net::TryRecv(router_);
        if (!msg) {
          break;
        }
        HandleFrames(*msg);
      }
      const TimePoint now = Clock::now();
      if (now >= next_tick) {
        core_.Tick(now);
        next_tick = now + tick;
      }
      Publish(core_.TakeEvents());
    }
    spdlog::info("stopping (dropped {} bad messages in all)", bad_messages_);
    return Status::Ok();
  }

 private:
  void HandleFrames(const net::Received& msg) {
    if (msg.oversized || msg.frames.size() < 2) {
      Drop("wrong number of frames");
      return;
    }
    const std::vector<std::string_view> views = net::Views(msg.frames);
    const std::string peer(views[0]);
    Result<protocol::Envelope> env =
        protocol::ParseEnvelope(std::vector<std::string_view>(views.begin() + 1, views.end()));
    if (!env.ok()) {
      Drop(env.status().message());
      return;
    }
    Result<protocol::Message> decoded = protocol::Decode(env->body);
    if (!decoded.ok()) {
      Drop(decoded.status().message());
      return;
    }
    const TimePoint now = Clock::now();
    if (auto* hb = std::get_if<protocol::Heartbeat>(&decoded.value())) {
      core_.HandleHeartbeat(peer, *hb, now);
    } else if (auto* req = std::get_if<protocol::Request>(&decoded.value())) {
      OnRequest(peer, env->body, *req, now);
    } else if (auto* rep = std::get_if<protocol::Reply>(&decoded.value())) {
      if (env->route.empty()) {
        Drop("reply without a route");
        return;
      }
      core_.LearnFromReply(*rep);
      net::Send(router_, {env->route, kSignature, env->body});
    } else if (auto* ev = std::get_if<protocol::Event>(&decoded.value())) {
      const std::string topic = protocol::TopicFor(*ev);
      net::Send(pub_, {topic, kSignature, env->body});
    }
  }

  void OnRequest(const std::string& peer, const std::string& body, const protocol::Request& req,
                 TimePoint now) {
    if (req.op == protocol::Op::kNodes) {
      Reply(peer, core_.NodesReply(req.request_id, now));
      return;
    }
    Result<std::string> node = core_.RouteRequest(req, now);
    if (!node.ok()) {
      protocol::Reply reply;
      reply.request_id = req.request_id;
      reply.code = node.status().code();
      reply.message = node.status().message();
      Reply(peer, reply);
      return;
    }
    if (!net::Send(router_, {*node, kSignature, body, peer})) {
      protocol::Reply reply;
      reply.request_id = req.request_id;
      reply.code = ErrorCode::kUnavailable;
      reply.message = "the chosen node is not reachable; retry";
      Reply(peer, reply);
    }
  }

  void Reply(const std::string& peer, const protocol::Reply& reply) {
    const std::string body = protocol::Encode(reply);
    net::Send(router_, {peer, kSignature, body});
  }

  void Publish(const std::vector<protocol::Event>& events) {
    for (const protocol::Event& e : events) {
      spdlog::info("node {} is {}{}{}", e.node,
                   e.kind == protocol::Event::Kind::kNodeUp ? "up" : "down",
                   e.reason.empty() ? "" : ": ", e.reason);
      const std::string body = protocol::Encode(e);
      net::Send(pub_, {protocol::TopicFor(e), kSignature, body});
    }
  }

  // Counts every bad message; logs the first ones and then one in a thousand,
  // so a flood of garbage cannot flood the log.
  void Drop(const std::string& why) {
    ++bad_messages_;
    if (bad_messages_ <= 10 || bad_messages_ % 1000 == 0) {
      spdlog::warn("dropped a bad message ({} so far): {}", bad_messages_, why);
    }
  }

  const BrokerConfig config_;
  RouterCore core_;
  zmq::context_t context_{1};
  zmq::socket_t router_;
  zmq::socket_t pub_;
  std::uint64_t bad_messages_ = 0;
};

}  // namespace

Status RunBroker(const BrokerConfig& config) {
  Broker broker(config);
  return broker.Run();
}

}  // namespace tenure::broker
