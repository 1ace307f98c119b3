// Fuzz target for the message decoder (tenure/protocol/codec.h).
//
// The input is a message body as it arrives from the network. Decode reads the
// message type from the body's "t" key, so the whole input is the body: a
// leading byte to pick the type would only be one more byte for the fuzzer to
// get right (the seed corpus holds a body of every type and kind instead).
//
// Checks, beyond "never crashes, throws or allocates without bound" (the
// sanitizers and libFuzzer's -rss_limit_mb see to those):
//   1. A refusal is bad_request with a message, never another code.
//   2. Whatever decodes re-encodes to a body that decodes to an equal message,
//      and re-encoding that gives the same bytes (Encode is canonical).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tenure/base/check.h"
#include "tenure/protocol/codec.h"

namespace {

using tenure::ErrorCode;
using tenure::Result;
using tenure::protocol::Decode;
using tenure::protocol::Encode;
using tenure::protocol::kBodyBytesMax;
using tenure::protocol::Message;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Result<Message> decoded = Decode(body);
  if (!decoded.ok()) {
    TENURE_CHECK(decoded.status().code() == ErrorCode::kBadRequest);  // Check (1).
    TENURE_CHECK(!decoded.status().message().empty());
    return 0;
  }
  const std::string encoded = Encode(*decoded);
  // The decoder fills absent row fields with defaults that Encode then writes
  // out, so a body near kBodyBytesMax holding many sparse rows can grow past
  // the limit. Real senders never come close (ids are at most 255 bytes and a
  // reply at most 1000 rows), so that case is not a broken round trip.
  if (encoded.size() > kBodyBytesMax) {
    return 0;
  }
  const Result<Message> again = Decode(encoded);  // Check (2).
  TENURE_CHECK(again.ok());
  TENURE_CHECK(*again == *decoded);
  TENURE_CHECK(Encode(*again) == encoded);
  return 0;
}
