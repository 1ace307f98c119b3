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

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "tenure/base/status.h"

namespace tenure::protocol {

inline constexpr std::string_view kSignature = "TNR1";
inline constexpr std::size_t kRouteBytesMax = 256;

// Views into the frames it was parsed from: valid while they live.
struct Envelope {
  std::string_view body;
  std::string_view route;  // Empty when absent.
};

// Checks frame count, signature and sizes. Frames are in order, after any
// ROUTER identity frame.
Result<Envelope> ParseEnvelope(std::span<const std::string_view> frames);
inline Result<Envelope> ParseEnvelope(std::initializer_list<std::string_view> frames) {
  return ParseEnvelope(std::span<const std::string_view>(frames.begin(), frames.size()));
}

}  // namespace tenure::protocol
