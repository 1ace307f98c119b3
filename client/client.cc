#include "tenure/client.h"

#include <zmq.hpp>

#include "common/base/entity_state.h"
#include "common/base/ids.h"
#include "common/net/zmq_util.h"
#include "common/protocol/codec.h"
#include "common/protocol/envelope.h"

namespace tenure {
namespace {

using protocol::Op;

Entity ToEntity(const protocol::EntityView& v) {
  return {v.id, v.state, v.version, v.owner, v.epoch};
}

ClientError FromStatus(const Status& s) {
  return ClientError{s.code(), s.message(), {}, {}, false};
}

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

  ClientResult<protocol::Reply> Call(protocol::Request request) {
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
        Result<protocol::Envelope> env = protocol::ParseEnvelope(net::Views(msg->frames));
        if (!env.ok()) {
          continue;
        }
        Result<protocol::Message> decoded = protocol::Decode(env->body);
        if (!decoded.ok()) {
          continue;
        }
        auto* reply = std::get_if<protocol::Reply>(&decoded.value());
        if (reply == nullptr || reply->request_id != request.request_id) {
          continue;  // A late reply to an earlier request that timed out.
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
    ClientError timeout{ErrorCode::kUnavailable,
                        "no reply within " + std::to_string(options_.timeout.count()) + " ms",
                        {},
                        {},
                        IsWrite(request.op)};
    if (timeout.write_outcome_unknown) {
      timeout.message += "; the write may or may not have been applied";
    }
    return timeout;
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
  const protocol::Reply& reply = r.value();
  if (reply.code != ErrorCode::kOk) {
    return ClientError{reply.code, reply.message, reply.actual_state, reply.actual_version, false};
  }
  if (!reply.entity) {
    return ClientError{ErrorCode::kBadRequest, "reply carries no entity", {}, {}, false};
  }
  return ToEntity(*reply.entity);
}

std::optional<ClientError> CheckId(std::string_view id) {
  if (Status s = ValidateEntityId(id); !s.ok()) {
    return FromStatus(s);
  }
  return std::nullopt;
}

std::optional<ClientError> CheckState(std::string_view state) {
  if (!IsValidEntityState(state)) {
    return ClientError{
        ErrorCode::kInvalidState,
        "unknown state '" + std::string(state) + "'; valid states: " + ValidEntityStatesList(),
        {},
        {},
        false};
  }
  return std::nullopt;
}

}  // namespace

ClientResult<Entity> Client::Get(std::string_view id) {
  if (auto e = CheckId(id)) {
    return *e;
  }
  protocol::Request req;
  req.op = Op::kGet;
  req.entity_id = std::string(id);
  return EntityReply(impl_->Call(std::move(req)));
}

ClientResult<Entity> Client::Set(std::string_view id, std::string_view state,
                                 const SetOptions& options) {
  if (auto e = CheckId(id)) {
    return *e;
  }
  if (auto e = CheckState(state)) {
    return *e;
  }
  if (!options.expect.empty()) {
    if (auto e = CheckState(options.expect)) {
      return *e;
    }
  }
  protocol::Request req;
  req.op = Op::kSet;
  req.entity_id = std::string(id);
  req.state = std::string(state);
  req.expect = options.expect;
  req.if_version = options.if_version;
  return EntityReply(impl_->Call(std::move(req)));
}

ClientResult<Entity> Client::Create(std::string_view id, std::string_view state) {
  if (auto e = CheckId(id)) {
    return *e;
  }
  if (auto e = CheckState(state)) {
    return *e;
  }
  protocol::Request req;
  req.op = Op::kCreate;
  req.entity_id = std::string(id);
  req.state = std::string(state);
  return EntityReply(impl_->Call(std::move(req)));
}

ClientResult<std::vector<Entity>> Client::List(std::uint32_t limit, std::string_view after) {
  protocol::Request req;
  req.op = Op::kList;
  req.limit = limit;
  req.entity_id = std::string(after);
  ClientResult<protocol::Reply> r = impl_->Call(std::move(req));
  if (!r.ok()) {
    return r.error();
  }
  if (r.value().code != ErrorCode::kOk) {
    return ClientError{r.value().code, r.value().message, {}, {}, false};
  }
  std::vector<Entity> out;
  for (const protocol::EntityView& v : r.value().entities) {
    out.push_back(ToEntity(v));
  }
  return out;
}

ClientResult<std::vector<NodeInfo>> Client::Nodes() {
  protocol::Request req;
  req.op = Op::kNodes;
  ClientResult<protocol::Reply> r = impl_->Call(std::move(req));
  if (!r.ok()) {
    return r.error();
  }
  if (r.value().code != ErrorCode::kOk) {
    return ClientError{r.value().code, r.value().message, {}, {}, false};
  }
  std::vector<NodeInfo> out;
  for (const protocol::NodeView& n : r.value().nodes) {
    out.push_back({n.id, n.voter, n.alive, n.incarnation, n.entities, n.heartbeat_age_ms});
  }
  return out;
}

}  // namespace tenure
