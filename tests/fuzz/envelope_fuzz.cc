// Fuzz target for the frame envelope (tenure/protocol/envelope.h).
//
// The input is split into frames, each a 2-byte little-endian length and then
// that many bytes (the last frame takes what is left if the input ends
// early), and handed to ParseEnvelope as a node's or the broker's shell does
// after a receive. An accepted envelope's body then goes to Decode, as there.
//
// Checks:
//   1. An accepted envelope had 2 or 3 frames, the signature first, and
//      carries copies of the body and route frames, each within its limit.
//   2. A refusal is bad_request with a message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tenure/base/check.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"

namespace {

using tenure::ErrorCode;
using tenure::Result;
using tenure::protocol::Envelope;

// More frames than any message has; the cap keeps an input of many empty
// frames from spending its time in vector growth.
constexpr std::size_t kFramesMax = 16;

std::vector<std::string_view> SplitFrames(std::string_view input) {
  std::vector<std::string_view> frames;
  while (!input.empty() && frames.size() < kFramesMax) {
    std::size_t length = static_cast<unsigned char>(input[0]);
    if (input.size() >= 2) {
      length |= std::size_t{static_cast<unsigned char>(input[1])} << 8;
    }
    input.remove_prefix(std::min<std::size_t>(2, input.size()));
    length = std::min(length, input.size());
    frames.push_back(input.substr(0, length));
    input.remove_prefix(length);
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> frames =
      SplitFrames(std::string_view(reinterpret_cast<const char*>(data), size));
  const Result<Envelope> envelope = tenure::protocol::ParseEnvelope(frames);
  if (!envelope.ok()) {
    TENURE_CHECK(envelope.status().code() == ErrorCode::kBadRequest);  // Check (2).
    TENURE_CHECK(!envelope.status().message().empty());
    return 0;
  }
  // Check (1).
  TENURE_CHECK(frames.size() == 2 || frames.size() == 3);
  TENURE_CHECK(frames[0] == tenure::protocol::kSignature);
  TENURE_CHECK(envelope->body == frames[1]);
  TENURE_CHECK(!envelope->body.empty());
  TENURE_CHECK(envelope->body.size() <= tenure::protocol::kBodyBytesMax);
  TENURE_CHECK(envelope->route == (frames.size() == 3 ? frames[2] : std::string_view()));
  TENURE_CHECK(envelope->route.size() <= tenure::protocol::kRouteBytesMax);
  const auto decoded = tenure::protocol::Decode(envelope->body);
  TENURE_CHECK(decoded.ok() || decoded.status().code() == ErrorCode::kBadRequest);
  return 0;
}
