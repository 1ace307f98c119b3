// Small ZeroMQ helpers shared by the shells: bounded multipart receive, frame
// send, and socket set-up. Exceptions from cppzmq stop here and become Status
// values; callers run inside event loops that must never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "common/base/status.h"

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

// Views of the frames, valid while `frames` lives.
std::vector<std::string_view> Views(const std::vector<zmq::message_t>& frames);

// Sends all frames without blocking. false if the peer is gone or its queue
// is full (the message is dropped, as a ROUTER does).
bool Send(zmq::socket_t& socket, const std::vector<std::string_view>& frames);

// Binds and returns the resolved endpoint (a tcp://host:* port filled in).
Result<std::string> Bind(zmq::socket_t& socket, const std::string& endpoint);
Status Connect(zmq::socket_t& socket, const std::string& endpoint);

// Linger 0, bounded message size, and the given high-water marks.
void Configure(zmq::socket_t& socket, int hwm);

}  // namespace tenure::net
