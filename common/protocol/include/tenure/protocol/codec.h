// The msgpack codec: typed messages <-> message bodies.
//
// A body is one msgpack map with string keys; key "t" names the message type.
// Decode is strict: it checks every size and type, rejects trailing bytes and
// duplicate keys, ignores unknown keys (so newer peers can add fields), and
// returns bad_request for anything else. It never throws. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tenure/base/status.h"
#include "tenure/protocol/messages.h"

namespace tenure::protocol {

inline constexpr std::size_t kBodyBytesMax = 1u << 20;
inline constexpr std::size_t kListRowsMax = 1000;

std::string Encode(const Message& message);
// The same, without first copying the message into a Message.
std::string Encode(const Request& message);
std::string Encode(const Reply& message);
std::string Encode(const Heartbeat& message);
std::string Encode(const LockMessage& message);
std::string Encode(const Event& message);
Result<Message> Decode(std::string_view body);

}  // namespace tenure::protocol
