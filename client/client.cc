#include "tenure/client.h"

#include <algorithm>
#include <exception>

#include <zmq.hpp>

#include "tenure/base/ids.h"
#include "tenure/net/zmq_util.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"
#include "tenure/protocol/topics.h"

#include "wire.h"

namespace tenure {
namespace {

using protocol::Op;
using wire::FromStatus;

bool IsWrite(Op op) { return op == Op::kSet || op == Op::kCreate; }

}  // namespace

class Client::Impl {
 public:
  explicit Impl(const ClientOptions& options)
      : options_(options), socket_(context_, zmq::socket_type::dealer) {
    net::Configure(socket_, 1000);
    // Send only over a finished connection, and wait for one up to the timeout:
    // a missing broker is then told apart from a slow cluster.
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(options_.timeout.count()));
    connect_status_ = net::Connect(socket_, options_.broker);
  }

  ClientResult<protocol::Reply> Call(ClientResult<protocol::Request> built) {
    if (!built.ok()) {
      return built.error();
    }
    protocol::Request& request = built.value();
    if (!connect_status_.ok()) {
      return FromStatus(connect_status_);
    }
    request.request_id = ++last_request_id_;
    if (request.via.empty()) {
      request.via = options_.via;
    }
    const std::string body = protocol::Encode(request);
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    try {
      zmq::send_result_t sent =
          socket_.send(zmq::const_buffer(protocol::kSignature.data(), protocol::kSignature.size()),
                       zmq::send_flags::sndmore);
      if (sent) {
        sent = socket_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
      }
      if (!sent) {
        return ClientError{ErrorCode::kUnavailable,
                           "cannot reach the broker at " + options_.broker + " within " +
                               std::to_string(options_.timeout.count()) + " ms",
                           {},
                           {},
                           false};
      }
      while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          break;
        }
        zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, left);
        std::optional<net::Received> msg = net::TryRecv(socket_);
        if (!msg) {
          continue;
        }
        std::optional<protocol::Reply> reply = wire::ParseReply(*msg);
        if (!reply || reply->request_id != request.request_id) {
          continue;  // Malformed, or a late reply to an earlier request that timed out.
        }
        return std::move(*reply);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        return ClientError{ErrorCode::kUnavailable,
                           std::string("network error: ") + e.what(),
                           {},
                           {},
                           IsWrite(request.op)};
      }
    }
    return wire::Timeout(options_.timeout, IsWrite(request.op));
  }

 private:
  const ClientOptions& options_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  Status connect_status_;
  std::uint64_t last_request_id_ = 0;
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

Client::~Client() = default;

namespace {

ClientResult<Entity> EntityReply(ClientResult<protocol::Reply> r) {
  if (!r.ok()) {
    return r.error();
  }
  return wire::EntityResult(r.value());
}

// The reply when it says ok; otherwise its error (or the call's).
ClientResult<protocol::Reply> OkReply(ClientResult<protocol::Reply> r) {
  if (!r.ok()) {
    return r.error();
  }
  if (r.value().code != ErrorCode::kOk) {
    return ClientError{r.value().code, r.value().message, {}, {}, false};
  }
  return r;
}

protocol::Request Plain(Op op) {
  protocol::Request req;
  req.op = op;
  return req;
}

}  // namespace

ClientResult<Entity> Client::Get(std::string_view id) {
  return EntityReply(impl_->Call(wire::GetRequest(id)));
}

ClientResult<Entity> Client::Set(std::string_view id, std::string_view state,
                                 const SetOptions& options) {
  return EntityReply(impl_->Call(wire::SetRequest(id, state, options)));
}

ClientResult<Entity> Client::Create(std::string_view id, std::string_view state) {
  return EntityReply(impl_->Call(wire::CreateRequest(id, state)));
}

ClientResult<std::vector<Entity>> Client::List(std::uint32_t limit, std::string_view after) {
  protocol::Request req = Plain(Op::kList);
  req.limit = limit;
  req.entity_id = std::string(after);
  ClientResult<protocol::Reply> r = OkReply(impl_->Call(std::move(req)));
  if (!r.ok()) {
    return r.error();
  }
  std::vector<Entity> out;
  for (const protocol::EntityView& v : r.value().entities) {
    out.push_back({v.id, v.state, v.version.value(), v.owner, v.epoch.value()});
  }
  return out;
}

ClientResult<std::vector<NodeInfo>> Client::Nodes() {
  ClientResult<protocol::Reply> r = OkReply(impl_->Call(Plain(Op::kNodes)));
  if (!r.ok()) {
    return r.error();
  }
  std::vector<NodeInfo> out;
  for (const protocol::NodeView& n : r.value().nodes) {
    out.push_back({n.id, n.voter, n.alive, n.incarnation.value(), n.entities, n.heartbeat_age_ms});
  }
  return out;
}

ClientResult<Entity> Client::Where(std::string_view id) {
  return EntityReply(impl_->Call(wire::WhereRequest(id)));
}

ClientResult<std::vector<Tenure>> Client::History(std::string_view id) {
  ClientResult<protocol::Reply> r = OkReply(impl_->Call(wire::HistoryRequest(id)));
  if (!r.ok()) {
    return r.error();
  }
  std::vector<Tenure> out;
  for (const protocol::TenureView& t : r.value().tenures) {
    out.push_back({t.node, t.epoch.value(), t.acquired_at, t.released_at, t.reason});
  }
  return out;
}

// --- Watcher ---------------------------------------------------------------

class Watcher::Impl {
 public:
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::sub};
};

namespace {

// The event in one PUB message [topic, TNR1, body]; nullopt if the message is
// malformed, or its topic is not the one the broker files its event under
// (so a subscription to "entity:a\x1f" takes nothing but news of "a").
std::optional<WatchEvent> ParseNews(const net::Received& msg) {
  if (msg.oversized || msg.frames.size() != 3) {
    return std::nullopt;
  }
  const net::FrameViews frames = net::Views(msg.frames);
  Result<protocol::Envelope> env = protocol::ParseEnvelope(frames.from(1));
  if (!env.ok()) {
    return std::nullopt;
  }
  Result<protocol::Message> decoded = protocol::Decode(env->body);
  if (!decoded.ok()) {
    return std::nullopt;
  }
  const auto* ev = std::get_if<protocol::Event>(&decoded.value());
  if (ev == nullptr || protocol::TopicFor(*ev) != frames[0]) {
    return std::nullopt;
  }
  return WatchEvent{std::string(protocol::EventKindName(ev->kind)),
                    ev->entity_id,
                    ev->state,
                    ev->version.value(),
                    ev->epoch.value(),
                    ev->node,
                    ev->reason};
}

}  // namespace

Watcher::Watcher(std::string pub, std::vector<std::string> ids) {
  for (const std::string& id : ids) {
    if (Status s = ValidateEntityId(id); !s.ok()) {
      error_ = FromStatus(s);
      return;
    }
  }
  std::vector<std::string> topics;
  if (ids.empty()) {
    topics = {std::string(protocol::kEntityTopicPrefix), std::string(protocol::kNodeTopicPrefix)};
  } else {
    for (const std::string& id : ids) {
      topics.push_back(protocol::EntityTopic(id));
    }
    std::sort(topics.begin(), topics.end());
    topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  }
  try {
    impl_ = std::make_unique<Impl>();
    net::Configure(impl_->socket, kWatchQueueDepthMax);
    for (const std::string& topic : topics) {
      impl_->socket.set(zmq::sockopt::subscribe, topic);
    }
    if (Status s = net::Connect(impl_->socket, pub); !s.ok()) {
      error_ = FromStatus(s);
    }
  } catch (const std::exception& e) {
    error_ = ClientError{ErrorCode::kUnavailable,
                         std::string("cannot subscribe to ") + pub + ": " + e.what(),
                         {},
                         {},
                         false};
  }
  if (error_) {
    impl_.reset();
  }
}

Watcher::~Watcher() = default;

std::optional<WatchEvent> Watcher::Next(std::chrono::milliseconds timeout) {
  if (error_ || !impl_) {
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::max(timeout, timeout.zero());
  try {
    while (true) {
      if (std::optional<net::Received> msg = net::TryRecv(impl_->socket)) {
        if (std::optional<WatchEvent> event = ParseNews(*msg)) {
          return event;
        }
        ++malformed_count_;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return std::nullopt;
      }
      zmq::pollitem_t items[] = {{impl_->socket.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, left);
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) {  // EINTR: a signal came; the caller decides whether to go on.
      error_ = ClientError{
          ErrorCode::kUnavailable, std::string("watch stopped: ") + e.what(), {}, {}, false};
    }
  } catch (const std::exception& e) {
    error_ = ClientError{
        ErrorCode::kUnavailable, std::string("watch stopped: ") + e.what(), {}, {}, false};
  }
  return std::nullopt;
}

}  // namespace tenure
