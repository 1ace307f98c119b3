#include "tenure/protocol/envelope.h"

#include "tenure/protocol/codec.h"

namespace tenure::protocol {

Result<Envelope> ParseEnvelope(std::span<const std::string_view> frames) {
  if (frames.size() != 2 && frames.size() != 3) {
    return Status::BadRequest("expected 2 or 3 frames, got " + std::to_string(frames.size()));
  }
  if (frames[0] != kSignature) {
    return Status::BadRequest("bad protocol signature frame");
  }
  if (frames[1].empty() || frames[1].size() > kBodyBytesMax) {
    return Status::BadRequest("body frame of " + std::to_string(frames[1].size()) +
                              " bytes is out of range");
  }
  Envelope out;
  out.body = frames[1];
  if (frames.size() == 3) {
    if (frames[2].empty() || frames[2].size() > kRouteBytesMax) {
      return Status::BadRequest("route frame of " + std::to_string(frames[2].size()) +
                                " bytes is out of range");
    }
    out.route = frames[2];
  }
  return out;
}

}  // namespace tenure::protocol
