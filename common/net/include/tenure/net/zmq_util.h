// Small ZeroMQ helpers shared by the shells: bounded multipart receive, frame
// send, and socket set-up. Exceptions from cppzmq stop here and become Status
// values; callers run inside event loops that must never throw.
#pragma once

#include <array>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "tenure/base/status.h"

namespace tenure::net {

// Frames per message beyond which the rest is drained and the message dropped.
inline constexpr std::size_t kFramesMax = 8;
// Messages larger than this make libzmq drop the connection (ZMQ_MAXMSGSIZE).
inline constexpr std::int64_t kMessageBytesMax = 2 << 20;

struct Received {
  std::vector<zmq::message_t> frames;
  bool oversized = false;  // More than kFramesMax frames: `frames` is incomplete.
};

// Receives one whole multipart message without blocking; nullopt if none waits.
std::optional<Received> TryRecv(zmq::socket_t& socket);
// The same into `into`, reusing its storage (event loops keep one); false if
// no message waits.
bool TryRecv(zmq::socket_t& socket, Received& into);

// Views of up to kFramesMax frames, on the stack: no allocation per message.
class FrameViews {
 public:
  explicit FrameViews(const std::vector<zmq::message_t>& frames);
  std::size_t size() const { return size_; }
  std::string_view operator[](std::size_t i) const { return views_[i]; }
  std::span<const std::string_view> all() const { return {views_.data(), size_}; }
  operator std::span<const std::string_view>() const { return all(); }  // NOLINT: a view.
  // Every frame from the `first`th on.
  std::span<const std::string_view> from(std::size_t first) const { return all().subspan(first); }

 private:
  std::array<std::string_view, kFramesMax> views_;
  std::size_t size_ = 0;
};

// Views of the frames, valid while `frames` lives.
inline FrameViews Views(const std::vector<zmq::message_t>& frames) { return FrameViews(frames); }

// Sends all frames without blocking. false if the peer is gone or its queue
// is full (the message is dropped, as a ROUTER does).
bool Send(zmq::socket_t& socket, std::initializer_list<std::string_view> frames);

// Binds and returns the resolved endpoint (a tcp://host:* port filled in).
Result<std::string> Bind(zmq::socket_t& socket, const std::string& endpoint);
Status Connect(zmq::socket_t& socket, const std::string& endpoint);

// Linger 0, bounded message size, and the given high-water marks.
void Configure(zmq::socket_t& socket, int hwm);

}  // namespace tenure::net
