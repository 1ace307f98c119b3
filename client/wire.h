// What the blocking Client and the Pipeline share: request building with its
// checks, and turning reply messages into results. Internal to the library.
#pragma once

#include <optional>

#include "tenure/client.h"
#include "tenure/net/zmq_util.h"
#include "tenure/protocol/messages.h"

namespace tenure::wire {

ClientError FromStatus(const Status& s);

// The request for get / set / create, or why it cannot be sent (a bad id or
// state: checked here so that a bad call never reaches the network).
ClientResult<protocol::Request> GetRequest(std::string_view id);
ClientResult<protocol::Request> SetRequest(std::string_view id, std::string_view state,
                                           const SetOptions& options);
ClientResult<protocol::Request> CreateRequest(std::string_view id, std::string_view state);
ClientResult<protocol::Request> WhereRequest(std::string_view id);
ClientResult<protocol::Request> HistoryRequest(std::string_view id);

// The reply inside one message from the broker; nullopt if it is not a
// well-formed reply (a client skips those).
std::optional<protocol::Reply> ParseReply(const net::Received& msg);

// The entity of an ok reply, or the error it carries.
ClientResult<Entity> EntityResult(const protocol::Reply& reply);

// No reply in time. A write that timed out may or may not have been applied.
ClientError Timeout(std::chrono::milliseconds timeout, bool write);

}  // namespace tenure::wire
