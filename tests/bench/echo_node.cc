// echo_node: the fabric's own limit. It joins the broker as a node does
// (heartbeats for the broker's liveness table, requests with the client's
// route) and answers every request at once with a fixed entity, with no lock
// table, runtime or store. It decodes each request and encodes each reply
// with tenure's codec, as a node must: what it leaves out is exactly tenure.
//
//   echo_node --id echo --broker tcp://127.0.0.1:5555 [--lease 2000]
//
// Clients reach it with --via echo. Stops on SIGTERM or SIGINT.
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "tenure/base/signals.h"
#include "tenure/base/time.h"
#include "tenure/lock/rules.h"
#include "tenure/net/zmq_util.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"

namespace tenure {
namespace {

using namespace tenure::literals;

int Serve(const std::string& id, const std::string& broker, Duration lease) {
  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  net::Configure(dealer, 100000);
  if (Status s = net::Connect(dealer, broker); !s.ok()) {
    std::fprintf(stderr, "echo_node: %s\n", s.message().c_str());
    return 1;
  }
  std::random_device device;
  protocol::Heartbeat hb;
  hb.node = id;
  hb.incarnation = Incarnation((std::uint64_t{device()} << 32) ^ device());
  // What a broker without --voters expects of node `id`: a cluster of one.
  lock::LockTiming timing;
  timing.lease = lease;
  hb.settings = lock::SettingsText(lock::EffectiveVoters({}, NodeId(id)), timing);

  protocol::Reply reply;
  reply.owner = id;
  reply.entity = protocol::EntityView{{}, "working", 1_version, id, 1_epoch};
  const Duration heartbeat_interval = lease / 4;
  TimePoint next_heartbeat = Clock::now();
  std::uint64_t answered = 0;
  while (!StopRequested()) {
    const TimePoint now = Clock::now();
    if (now >= next_heartbeat) {
      ++hb.seq;
      hb.sent_ms = ToMillis(now.time_since_epoch());
      const std::string body = protocol::Encode(hb);
      net::Send(dealer, {protocol::kSignature, body});
      next_heartbeat = now + heartbeat_interval;
    }
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, std::chrono::duration_cast<milliseconds>(next_heartbeat - now));
    } catch (const zmq::error_t&) {
      continue;  // EINTR: the loop checks for a stop.
    }
    // Bounded, as a node's loop is: heartbeats must not starve under load.
    for (int i = 0; i < 4096; ++i) {
      std::optional<net::Received> msg = net::TryRecv(dealer);
      if (!msg) {
        break;
      }
      Result<protocol::Envelope> env = protocol::ParseEnvelope(net::Views(msg->frames));
      if (!env.ok() || env->route.empty()) {
        continue;
      }
      Result<protocol::Message> decoded = protocol::Decode(env->body);
      const auto* request =
          decoded.ok() ? std::get_if<protocol::Request>(&decoded.value()) : nullptr;
      if (request == nullptr) {
        continue;
      }
      reply.request_id = request->request_id;
      reply.entity->id = request->entity_id;
      const std::string body = protocol::Encode(reply);
      net::Send(dealer, {protocol::kSignature, body, env->route});
      ++answered;
    }
  }
  std::fprintf(stderr, "echo_node: answered %llu requests\n",
               static_cast<unsigned long long>(answered));
  return 0;
}

}  // namespace
}  // namespace tenure

int main(int argc, char** argv) {
  std::string id = "echo";
  std::string broker = "tcp://127.0.0.1:5555";
  int lease_ms = 2000;
  CLI::App app("echo_node: answers every request with a fixed entity (the fabric's limit)");
  app.add_option("--id", id, "Node id (clients use --via ID)")->capture_default_str();
  app.add_option("--broker", broker, "Broker ROUTER endpoint")->capture_default_str();
  app.add_option("--lease", lease_ms, "The broker's lease, ms")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  tenure::InstallStopSignalHandlers();
  return tenure::Serve(id, broker, tenure::milliseconds(lease_ms));
}
