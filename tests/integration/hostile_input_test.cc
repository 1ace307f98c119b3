// Bad input at a high rate: for a few seconds a peer floods the broker's
// ROUTER with garbage frames, wrong signatures, oversized bodies, truncated
// msgpack, and requests that decode but are wrong (the broker routes those on
// to the node). Meanwhile a normal client keeps doing get and set, and every
// one of its requests must succeed. bad_input_test.cc sends each kind once;
// this is the same under load.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"

#include "integration/cluster.h"

namespace tenure::testing {
namespace {

using namespace tenure::literals;

using protocol::kSignature;
using Frames = std::vector<std::string>;

// Valid bodies of every message type, to truncate and to sign wrongly.
std::vector<std::string> ValidBodies() {
  protocol::Request get;
  get.request_id = 1;
  get.entity_id = "steady";
  protocol::Request create = get;
  create.op = protocol::Op::kCreate;
  create.state = "working";
  protocol::LockMessage lock;
  lock.from = "foo";
  lock.to = "foo";
  return {protocol::Encode(get), protocol::Encode(create),
          protocol::Encode(protocol::Heartbeat{"foo", 1_inc, 1, 0, false, 0, {}}),
          protocol::Encode(lock)};
}

// Requests that decode but can never change anything: bad ids, unknown states.
std::vector<std::string> WrongRequests() {
  std::vector<std::string> bodies;
  for (const std::string& id : {std::string(""), std::string(300, 'x'), std::string("a\tb")}) {
    for (protocol::Op op : {protocol::Op::kGet, protocol::Op::kSet, protocol::Op::kHistory}) {
      protocol::Request r;
      r.op = op;
      r.entity_id = id;
      r.state = "working";
      bodies.push_back(protocol::Encode(r));
    }
  }
  for (const std::string& state : {std::string("bogus"), std::string(100000, 's')}) {
    protocol::Request set;
    set.op = protocol::Op::kSet;
    set.entity_id = "steady";
    set.state = state;
    bodies.push_back(protocol::Encode(set));
    protocol::Request create = set;
    create.op = protocol::Op::kCreate;
    create.entity_id = "never";
    bodies.push_back(protocol::Encode(create));
  }
  protocol::Request expect;
  expect.op = protocol::Op::kSet;
  expect.entity_id = "steady";
  expect.state = "working";
  expect.expect = "zzz";
  bodies.push_back(protocol::Encode(expect));
  return bodies;
}

// Sends bad messages as fast as the broker takes them, until stopped.
class Flood {
 public:
  explicit Flood(std::uint64_t seed) : rng_(seed) {}

  void Run(const std::string& endpoint, const std::atomic<bool>& stop) {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(endpoint);
    while (!stop.load()) {
      const Frames frames = Next();
      bool sent = true;
      for (std::size_t i = 0; i < frames.size() && sent; ++i) {
        const auto more = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        // Without blocking: a full queue drops the message, as a flood would.
        sent = s.send(zmq::buffer(frames[i]), more | zmq::send_flags::dontwait).has_value();
      }
      sent_ += sent ? 1 : 0;
      for (zmq::message_t reply; s.recv(reply, zmq::recv_flags::dontwait);) {
        ++replies_;  // Errors for the wrong requests; they must not pile up.
      }
    }
  }

  std::uint64_t sent() const { return sent_; }
  std::uint64_t replies() const { return replies_; }

 private:
  std::string Bytes(std::size_t size) {
    std::string out(size, '\0');
    for (char& c : out) {
      c = static_cast<char>(rng_());
    }
    return out;
  }

  Frames Next() {
    const std::uint64_t n = ++count_;
    if (n % 512 == 0) {  // Beyond the broker's limit: libzmq drops the connection.
      return {std::string(kSignature), std::string((5 << 20) / 2, 'z')};
    }
    if (n % 128 == 0) {  // Oversized, but under the limit: read and refused.
      return {std::string(kSignature), Bytes(3 << 19)};
    }
    const std::string& valid = valid_[rng_() % valid_.size()];
    switch (rng_() % 5) {
      case 0: {
        Frames frames(1 + rng_() % 12);
        for (std::string& f : frames) {
          f = Bytes(rng_() % 200);
        }
        return frames;
      }
      case 1:
        return {Bytes(4), valid};  // A wrong signature.
      case 2:
        return {std::string(kSignature), valid.substr(0, rng_() % valid.size())};
      case 3:
        return {std::string(kSignature), Bytes(1 + rng_() % 64)};
      default:
        return {std::string(kSignature), wrong_[rng_() % wrong_.size()]};
    }
  }

  std::mt19937_64 rng_;
  const std::vector<std::string> valid_ = ValidBodies();
  const std::vector<std::string> wrong_ = WrongRequests();
  std::uint64_t count_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t replies_ = 0;
};

TEST(HostileInput, FloodOfBadMessagesDoesNotDisturbANormalClient) {
  Cluster cluster;
  cluster.StartBroker();
  cluster.StartNode("foo");
  ASSERT_EQ(cluster.Client({"create", "steady", "initialized"}).exit, 0);

  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("flood seed " + std::to_string(seed));
  Flood flood(seed);
  std::atomic<bool> stop{false};
  std::thread flooder([&] { flood.Run(cluster.router(), stop); });

  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  int sets = 0;
  const char* states[] = {"working", "finalized", "initialized"};
  while (std::chrono::steady_clock::now() < end) {
    const std::string state = states[sets % 3];
    CommandResult set = cluster.Client({"set", "steady", state});
    EXPECT_EQ(set.exit, 0) << set.err;
    sets += set.exit == 0 ? 1 : 0;
    CommandResult got = cluster.Client({"get", "steady"});
    EXPECT_EQ(got.exit, 0) << got.err;
    EXPECT_NE(got.out.find("steady  " + state), std::string::npos) << got.out;
  }
  stop = true;
  flooder.join();

  EXPECT_GT(flood.sent(), 1000u) << "the flood was not one";
  EXPECT_GT(sets, 0);
  EXPECT_TRUE(cluster.broker().running());
  EXPECT_TRUE(cluster.node("foo").running());
  EXPECT_NE(cluster.broker().Log().find("dropped a bad message"), std::string::npos);
  EXPECT_TRUE(cluster.NodeAlive("foo"));
  // Only the normal client's writes are in the database.
  EXPECT_EQ(Query(cluster.db(), "SELECT id, version FROM entities"),
            (std::vector<std::vector<std::string>>{{"steady", std::to_string(1 + sets)}}));
  EXPECT_EQ(Query(cluster.db(), "SELECT DISTINCT id FROM ownership"),
            (std::vector<std::vector<std::string>>{{"steady"}}));
  EXPECT_EQ(Query(cluster.db(), "PRAGMA integrity_check")[0][0], "ok");
  std::printf("flood: %llu messages sent, %llu replies; %d sets meanwhile\n",
              static_cast<unsigned long long>(flood.sent()),
              static_cast<unsigned long long>(flood.replies()), sets);
}

}  // namespace
}  // namespace tenure::testing
