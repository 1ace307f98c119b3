#include "common/net/zmq_util.h"

namespace tenure::net {

std::optional<Received> TryRecv(zmq::socket_t& socket) {
  Received out;
  try {
    zmq::message_t first;
    if (!socket.recv(first, zmq::recv_flags::dontwait)) {
      return std::nullopt;
    }
    bool more = first.more();
    out.frames.push_back(std::move(first));
    while (more) {
      zmq::message_t part;
      // The rest of a multipart message is already here: ZeroMQ delivers it whole.
      if (!socket.recv(part, zmq::recv_flags::dontwait)) {
        break;
      }
      more = part.more();
      if (out.frames.size() < kFramesMax) {
        out.frames.push_back(std::move(part));
      } else {
        out.oversized = true;
      }
    }
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::string_view> Views(const std::vector<zmq::message_t>& frames) {
  std::vector<std::string_view> views;
  views.reserve(frames.size());
  for (const zmq::message_t& f : frames) {
    views.emplace_back(static_cast<const char*>(f.data()), f.size());
  }
  return views;
}

bool Send(zmq::socket_t& socket, const std::vector<std::string_view>& frames) {
  try {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const bool last = i + 1 == frames.size();
      zmq::send_flags flags = zmq::send_flags::dontwait;
      if (!last) {
        flags = flags | zmq::send_flags::sndmore;
      }
      if (!socket.send(zmq::const_buffer(frames[i].data(), frames[i].size()), flags)) {
        return false;
      }
    }
  } catch (const zmq::error_t&) {
    return false;  // EHOSTUNREACH from a ROUTER with mandatory routing, or a closed context.
  }
  return true;
}

Result<std::string> Bind(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.bind(endpoint);
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind " + endpoint + ": " + e.what());
  }
}

Status Connect(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot connect to " + endpoint + ": " + e.what());
  }
  return Status::Ok();
}

void Configure(zmq::socket_t& socket, int hwm) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, kMessageBytesMax);
  socket.set(zmq::sockopt::sndhwm, hwm);
  socket.set(zmq::sockopt::rcvhwm, hwm);
}

}  // namespace tenure::net
