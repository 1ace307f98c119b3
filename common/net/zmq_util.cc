#include "tenure/net/zmq_util.h"

namespace tenure::net {

bool TryRecv(zmq::socket_t& socket, Received& into) {
  into.frames.clear();
  into.oversized = false;
  try {
    zmq::message_t first;
    if (!socket.recv(first, zmq::recv_flags::dontwait)) {
      return false;
    }
    bool more = first.more();
    into.frames.push_back(std::move(first));
    while (more) {
      zmq::message_t part;
      // The rest of a multipart message is already here: ZeroMQ delivers it whole.
      if (!socket.recv(part, zmq::recv_flags::dontwait)) {
        break;
      }
      more = part.more();
      if (into.frames.size() < kFramesMax) {
        into.frames.push_back(std::move(part));
      } else {
        into.oversized = true;
      }
    }
  } catch (const zmq::error_t&) {
    into.frames.clear();
    return false;
  }
  return true;
}

std::optional<Received> TryRecv(zmq::socket_t& socket) {
  Received out;
  if (!TryRecv(socket, out)) {
    return std::nullopt;
  }
  return out;
}

FrameViews::FrameViews(const std::vector<zmq::message_t>& frames) {
  for (const zmq::message_t& f : frames) {
    if (size_ == views_.size()) {
      break;  // TryRecv keeps no more than kFramesMax.
    }
    views_[size_++] = std::string_view(static_cast<const char*>(f.data()), f.size());
  }
}

bool Send(zmq::socket_t& socket, std::initializer_list<std::string_view> frames) {
  try {
    std::size_t i = 0;
    for (std::string_view frame : frames) {
      const bool last = ++i == frames.size();
      zmq::send_flags flags = zmq::send_flags::dontwait;
      if (!last) {
        flags = flags | zmq::send_flags::sndmore;
      }
      if (!socket.send(zmq::const_buffer(frame.data(), frame.size()), flags)) {
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
