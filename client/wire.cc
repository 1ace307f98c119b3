#include "wire.h"

#include "tenure/base/entity_state.h"
#include "tenure/base/ids.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"

namespace tenure::wire {
namespace {

using protocol::Op;

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

ClientResult<protocol::Request> ForId(Op op, std::string_view id) {
  if (auto e = CheckId(id)) {
    return *e;
  }
  protocol::Request req;
  req.op = op;
  req.entity_id = std::string(id);
  return req;
}

}  // namespace

ClientError FromStatus(const Status& s) {
  return ClientError{s.code(), s.message(), {}, {}, false};
}

ClientResult<protocol::Request> GetRequest(std::string_view id) { return ForId(Op::kGet, id); }

ClientResult<protocol::Request> WhereRequest(std::string_view id) { return ForId(Op::kWhere, id); }

ClientResult<protocol::Request> HistoryRequest(std::string_view id) {
  return ForId(Op::kHistory, id);
}

ClientResult<protocol::Request> SetRequest(std::string_view id, std::string_view state,
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
  if (options.if_version) {
    req.if_version = Version(*options.if_version);
  }
  return req;
}

ClientResult<protocol::Request> CreateRequest(std::string_view id, std::string_view state) {
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
  return req;
}

std::optional<protocol::Reply> ParseReply(const net::Received& msg) {
  Result<protocol::Envelope> env = protocol::ParseEnvelope(net::Views(msg.frames));
  if (!env.ok()) {
    return std::nullopt;
  }
  Result<protocol::Message> decoded = protocol::Decode(env->body);
  if (!decoded.ok()) {
    return std::nullopt;
  }
  auto* reply = std::get_if<protocol::Reply>(&decoded.value());
  if (reply == nullptr) {
    return std::nullopt;
  }
  return std::move(*reply);
}

ClientResult<Entity> EntityResult(const protocol::Reply& reply) {
  if (reply.code != ErrorCode::kOk) {
    std::optional<std::uint64_t> actual_version;
    if (reply.actual_version) {
      actual_version = reply.actual_version->value();
    }
    return ClientError{reply.code, reply.message, reply.actual_state, actual_version, false};
  }
  if (!reply.entity) {
    return ClientError{ErrorCode::kBadRequest, "reply carries no entity", {}, {}, false};
  }
  const protocol::EntityView& v = *reply.entity;
  return Entity{v.id, v.state, v.version.value(), v.owner, v.epoch.value()};
}

ClientError Timeout(std::chrono::milliseconds timeout, bool write) {
  ClientError e{ErrorCode::kUnavailable,
                "no reply within " + std::to_string(timeout.count()) + " ms",
                {},
                {},
                write};
  if (write) {
    e.message += "; the write may or may not have been applied";
  }
  return e;
}

}  // namespace tenure::wire
