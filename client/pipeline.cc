#include "tenure/pipeline.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include <zmq.hpp>

#include "tenure/net/zmq_util.h"
#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"

#include "wire.h"

namespace tenure {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Requests queued towards the broker before a send waits; far above any
// useful number in flight.
constexpr int kQueueDepthMax = 1 << 20;

}  // namespace

class Pipeline::Impl {
 public:
  explicit Impl(const ClientOptions& options)
      : options_(options), socket_(context_, zmq::socket_type::dealer) {
    net::Configure(socket_, kQueueDepthMax);
    // As in Client: wait for a finished connection up to the timeout, so a
    // missing broker is reported instead of queued for.
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(options_.timeout.count()));
    connect_status_ = net::Connect(socket_, options_.broker);
  }

  void Send(ClientResult<protocol::Request> built, std::uint64_t tag) {
    const SteadyClock::time_point start = SteadyClock::now();
    if (!built.ok()) {
      ready_.push_back({tag, built.error(), {}});
      return;
    }
    if (!connect_status_.ok()) {
      ready_.push_back({tag, wire::FromStatus(connect_status_), {}});
      return;
    }
    protocol::Request& request = built.value();
    request.request_id = ++last_request_id_;
    if (request.via.empty()) {
      request.via = options_.via;
    }
    const bool write = request.op != protocol::Op::kGet;
    const std::string body = protocol::Encode(request);
    bool sent = false;
    try {
      sent = socket_
                 .send(zmq::const_buffer(protocol::kSignature.data(), protocol::kSignature.size()),
                       zmq::send_flags::sndmore)
                 .has_value() &&
             socket_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)
                 .has_value();
    } catch (const zmq::error_t& e) {
      ready_.push_back(
          {tag,
           ClientError{
               ErrorCode::kUnavailable, std::string("network error: ") + e.what(), {}, {}, write},
           {}});
      return;
    }
    if (!sent) {
      ready_.push_back({tag,
                        ClientError{ErrorCode::kUnavailable,
                                    "cannot reach the broker at " + options_.broker + " within " +
                                        std::to_string(options_.timeout.count()) + " ms",
                                    {},
                                    {},
                                    false},
                        {}});
      return;
    }
    pending_.emplace(request.request_id, Pending{tag, start, write});
    // One timeout for all: deadlines come in the order of the calls.
    deadlines_.emplace_back(request.request_id, start + options_.timeout);
  }

  std::size_t Wait(std::chrono::milliseconds timeout, std::vector<Completion>& out) {
    const std::size_t before = out.size();
    std::move(ready_.begin(), ready_.end(), std::back_inserter(out));
    ready_.clear();
    Drain(out);
    if (out.size() == before && !pending_.empty() && timeout.count() > 0) {
      auto wait = timeout;
      if (!deadlines_.empty()) {
        wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                  deadlines_.front().second - SteadyClock::now()));
      }
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 1, std::max(wait, std::chrono::milliseconds(0)));
      } catch (const zmq::error_t&) {
        // EINTR or a closed context: the caller's loop decides what next.
      }
      Drain(out);
    }
    Expire(out);
    return out.size() - before;
  }

  std::size_t in_flight() const { return pending_.size() + ready_.size(); }

 private:
  struct Pending {
    std::uint64_t tag = 0;
    SteadyClock::time_point start;
    bool write = false;
  };

  void Drain(std::vector<Completion>& out) {
    while (true) {
      if (!net::TryRecv(socket_, received_)) {
        return;
      }
      const SteadyClock::time_point now = SteadyClock::now();
      std::optional<protocol::Reply> reply = wire::ParseReply(received_);
      if (!reply) {
        continue;
      }
      auto it = pending_.find(reply->request_id);
      if (it == pending_.end()) {
        continue;  // Timed out already: its Completion was handed out.
      }
      out.push_back({it->second.tag, wire::EntityResult(*reply), now - it->second.start});
      pending_.erase(it);
    }
  }

  void Expire(std::vector<Completion>& out) {
    const SteadyClock::time_point now = SteadyClock::now();
    while (!deadlines_.empty()) {
      const auto [id, deadline] = deadlines_.front();
      auto it = pending_.find(id);
      if (it == pending_.end()) {
        deadlines_.pop_front();  // Answered.
        continue;
      }
      if (deadline > now) {
        return;
      }
      out.push_back({it->second.tag, wire::Timeout(options_.timeout, it->second.write),
                     now - it->second.start});
      pending_.erase(it);
      deadlines_.pop_front();
    }
  }

  const ClientOptions& options_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  Status connect_status_;
  std::uint64_t last_request_id_ = 0;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::deque<std::pair<std::uint64_t, SteadyClock::time_point>> deadlines_;
  std::vector<Completion> ready_;  // Failed before reaching the network.
  net::Received received_;         // Reused for every reply.
};

Pipeline::Pipeline(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

Pipeline::~Pipeline() = default;

void Pipeline::Get(std::string_view id, std::uint64_t tag) {
  impl_->Send(wire::GetRequest(id), tag);
}

void Pipeline::Set(std::string_view id, std::string_view state, const SetOptions& options,
                   std::uint64_t tag) {
  impl_->Send(wire::SetRequest(id, state, options), tag);
}

void Pipeline::Create(std::string_view id, std::string_view state, std::uint64_t tag) {
  impl_->Send(wire::CreateRequest(id, state), tag);
}

std::size_t Pipeline::Wait(std::chrono::milliseconds timeout, std::vector<Completion>& out) {
  return impl_->Wait(timeout, out);
}

std::size_t Pipeline::in_flight() const { return impl_->in_flight(); }

}  // namespace tenure
