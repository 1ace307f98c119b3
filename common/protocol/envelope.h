// The ZeroMQ frame envelope around message bodies.
//
// Between a DEALER (client, node) and the broker's ROUTER a message is
//   [signature, body]            or
//   [signature, body, route]
// where route is the opaque ROUTER identity of the client a request came from
// (broker -> node) or a reply goes back to (node -> broker). The ROUTER's own
// identity frame is added and removed by ZeroMQ. News on the PUB socket is
//   [topic, signature, body].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace tenure::protocol {

inline constexpr std::string_view kSignature = "TNR1";
inline constexpr std::size_t kRouteBytesMax = 256;

struct Envelope {
  std::string body;
  std::string route;  // Empty when absent.
};

// Checks frame count, signature and sizes. Frames are in order, after any
// ROUTER identity frame.
Result<Envelope> ParseEnvelope(const std::vector<std::string_view>& frames);

}  // namespace tenure::protocol
