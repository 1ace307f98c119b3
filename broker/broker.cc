#include "broker.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "tenure/base/ids.h"
#include "tenure/base/signals.h"
#include "tenure/lock/rules.h"
#include "tenure/lock/voter.h"
#include "tenure/net/zmq_util.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"
#include "tenure/protocol/topics.h"
#include "tenure/router/partition.h"
#include "tenure/router/router_core.h"

namespace tenure::broker {
namespace {

using protocol::kSignature;

// Messages handled per poll iteration before timers get a turn.
constexpr int kMessagesPerTurn = 4096;

class Broker {
 public:
  explicit Broker(const BrokerConfig& config)
      : config_(config),
        core_(RouterOptions{config.lease, NodeIds(config.voters)}),
        router_(context_, zmq::socket_type::router),
        pub_(context_, zmq::socket_type::pub) {
    const std::vector<NodeId> voters = lock::EffectiveVoters(NodeIds(config.voters), NodeId());
    if (std::find(voters.begin(), voters.end(), lock::WitnessId()) != voters.end()) {
      lock::LockTiming timing;
      timing.lease = config.lease;
      std::random_device device;
      const Incarnation incarnation((std::uint64_t{device()} << 32) ^ device());
      witness_.emplace(lock::VoterOptions{lock::WitnessId(), incarnation, timing, {}, voters},
                       Clock::now());
    }
  }

  Status Run() {
    net::Configure(router_, 100000);
    // A send to a peer that is gone fails instead of vanishing, so a request
    // routed to a node that just died is answered at once.
    router_.set(zmq::sockopt::router_mandatory, true);
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
    spdlog::info("listening: router {} pub {}, lease {} ms{}; node settings must be '{}'",
                 *router_ep, *pub_ep, ToMillis(config_.lease), witness_ ? ", witness voter" : "",
                 core_.SettingsFor("<id>"));

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
      for (int i = 0; i < kMessagesPerTurn && net::TryRecv(router_, received_); ++i) {
        HandleFrames(received_);
      }
      const TimePoint now = Clock::now();
      if (now >= next_tick) {
        LoadFaults();
        core_.Tick(now);
        if (witness_) {
          witness_->Tick(now);
        }
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
    const net::FrameViews views = net::Views(msg.frames);
    const std::string_view peer = views[0];
    Result<protocol::Envelope> env = protocol::ParseEnvelope(views.from(1));
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
      if (hb->to.empty()) {
        core_.HandleHeartbeat(std::string(peer), *hb, now);
        SendRefusals();
        SendQuiet();
        return;
      }
      // A node the broker refused (or never heard from) reaches no voter.
      // Not counted as bad: the refusal was logged once, and after a broker
      // restart a live node's voter heartbeats may come before its next
      // broker heartbeat (they are repeated).
      if (!core_.Registered(peer, NodeId(hb->node)) || partition_.Blocks(hb->node, hb->to)) {
        return;
      }
      if (hb->to == lock::kWitnessId && witness_) {
        witness_->Step(*hb, now);
        FlushWitness();
      } else {
        ToNode(NodeId(hb->to), env->body);
      }
    } else if (auto* lock = std::get_if<protocol::LockMessage>(&decoded.value())) {
      if (lock->kind == protocol::LockMessage::Kind::kQuiet) {
        Drop("QUIET comes from the broker only");
        return;
      }
      if (!core_.Registered(peer, NodeId(lock->from)) || partition_.Blocks(lock->from, lock->to)) {
        return;  // As for voter heartbeats above.
      }
      if (lock->to == lock::kWitnessId && witness_) {
        witness_->Step(*lock, now);
        FlushWitness();
      } else {
        ToNode(NodeId(lock->to), env->body, lock->to_incarnation);
      }
    } else if (auto* req = std::get_if<protocol::Request>(&decoded.value())) {
      // A node forwarding a request passes the client's route along.
      const std::string_view client = req->forwarded && !env->route.empty() ? env->route : peer;
      OnRequest(client, env->body, *req, now);
    } else if (auto* rep = std::get_if<protocol::Reply>(&decoded.value())) {
      if (env->route.empty()) {
        Drop("reply without a route");
        return;
      }
      core_.LearnFromReply(*rep);
      net::Send(router_, {env->route, kSignature, env->body});
    } else if (auto* ev = std::get_if<protocol::Event>(&decoded.value())) {
      if (ev->kind == protocol::Event::Kind::kNodeDown) {
        core_.HandleGoodbye(std::string(peer),
                            NodeId(ev->node));  // Published with the broker's own news.
        return;
      }
      if (ev->entity_id.empty()) {
        Drop("membership news comes from the broker only");
        return;
      }
      const std::string topic = protocol::TopicFor(*ev);
      net::Send(pub_, {topic, kSignature, env->body});
    }
  }

  void OnRequest(std::string_view peer, std::string_view body, const protocol::Request& req,
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
      // The node's connection is gone (it died): route around it now rather
      // than after its session lapses.
      core_.HandleUnreachable(*node);
      node = core_.RouteRequest(req, now);
      if (node.ok() && net::Send(router_, {*node, kSignature, body, peer})) {
        return;
      }
      protocol::Reply reply;
      reply.request_id = req.request_id;
      reply.code = ErrorCode::kUnavailable;
      reply.message = "the chosen node is not reachable; retry";
      Reply(peer, reply);
    }
  }

  // Lock traffic goes to the newest process known under the node id, alive or
  // not: the protocol itself decides what a late message means.
  void ToNode(const NodeId& node, std::string_view body, Incarnation incarnation = {}) {
    std::optional<std::string> route = core_.RouteOfNode(node, incarnation);
    if (!route) {
      return;  // Never seen: the sender repeats what matters.
    }
    net::Send(router_, {*route, kSignature, body});
  }

  // A node that disagrees about the cluster is told so (it logs both
  // settings and exits), and logged here once per incarnation.
  void SendRefusals() {
    for (const HeartbeatRefusal& r : core_.TakeRefusals()) {
      if (r.first) {
        spdlog::error(
            "refused node {} (incarnation {:016x}): its settings '{}' differ from the broker's "
            "'{}'; it gets no route and no voter hears from it",
            r.reply.to, r.reply.to_incarnation.value(), r.node_settings, r.reply.settings);
      }
      net::Send(router_, {r.route, kSignature, protocol::Encode(r.reply)});
    }
  }

  // A voter id's traffic goes to a process other than before: it is quiet
  // for a full period from now (voter.h says why). Sent before anything
  // else is routed there, on the same connection, so it is handled first.
  void SendQuiet() {
    for (const auto& [node, incarnation] : core_.TakeTakeovers()) {
      protocol::LockMessage quiet;
      quiet.kind = protocol::LockMessage::Kind::kQuiet;
      quiet.to = node.str();
      quiet.to_incarnation = incarnation;
      ToNode(node, protocol::Encode(quiet), incarnation);
    }
  }

  // Re-reads the test-only fault file; a missing file means no faults.
  void LoadFaults() {
    if (config_.fault_file.empty()) {
      return;
    }
    std::ifstream in(config_.fault_file);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str() == fault_text_) {
      return;
    }
    fault_text_ = text.str();
    if (Status s = partition_.Load(fault_text_); !s.ok()) {
      spdlog::error("{}", s.message());
      return;
    }
    spdlog::warn("fault file: isolated [{}]", fmt::join(partition_.isolated(), ","));
  }

  void FlushWitness() {
    // Never expected: a node reaches the witness only once registered, with
    // the same settings as the witness's (SendRefusals logs the others).
    for (const lock::Refusal& r : witness_->TakeRefusals()) {
      spdlog::error("witness refused node {} (incarnation {:016x}): settings '{}', its own '{}'",
                    r.node.str(), r.incarnation.value(), r.settings, witness_->settings());
    }
    for (const protocol::LockMessage& m : witness_->TakeOutbox()) {
      if (partition_.Blocks(m.from, m.to)) {
        continue;
      }
      ToNode(NodeId(m.to), protocol::Encode(m), m.to_incarnation);
    }
  }

  void Reply(std::string_view peer, const protocol::Reply& reply) {
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
  std::optional<lock::Voter> witness_;  // Set when the voter list is even.
  Partition partition_;                 // Test-only faults (--fault-file).
  std::string fault_text_;
  net::Received received_;  // Reused for every message: no frame list allocated per message.
};

}  // namespace

Status RunBroker(const BrokerConfig& config) {
  Broker broker(config);
  return broker.Run();
}

}  // namespace tenure::broker
