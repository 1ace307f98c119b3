// tenure::Pipeline: many requests in flight over one connection, for
// throughput (client bench, bulk loaders). Where Client waits for each reply,
// a Pipeline sends and returns at once; replies come back, in any order, from
// Wait() as Completions carrying the caller's tag.
//
//   tenure::Pipeline p({.broker = "tcp://127.0.0.1:5555"});
//   p.Get("entity_1", /*tag=*/1);
//   p.Set("entity_2", "working", {}, /*tag=*/2);
//   std::vector<tenure::Completion> done;
//   while (p.in_flight() > 0) p.Wait(std::chrono::milliseconds(100), done);
//
// Every call produces exactly one Completion: the reply, a timeout after
// options.timeout (a write that timed out has write_outcome_unknown), or the
// reason it could not be sent (a bad id or state, no broker). Not
// thread-safe: one Pipeline per thread. No exception escapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "tenure/client.h"

namespace tenure {

struct Completion {
  std::uint64_t tag = 0;
  ClientResult<Entity> result = ClientError{};
  // From the call until its reply was taken off the socket.
  std::chrono::steady_clock::duration latency{};
};

class Pipeline {
 public:
  explicit Pipeline(ClientOptions options);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline();

  void Get(std::string_view id, std::uint64_t tag);
  void Set(std::string_view id, std::string_view state, const SetOptions& options,
           std::uint64_t tag);
  void Create(std::string_view id, std::string_view state, std::uint64_t tag);

  // Appends the completions that are ready, waiting up to `timeout` for the
  // first one; returns how many it appended.
  std::size_t Wait(std::chrono::milliseconds timeout, std::vector<Completion>& out);

  // Calls whose Completion has not been handed out yet.
  std::size_t in_flight() const;
  const ClientOptions& options() const { return options_; }

 private:
  class Impl;
  const ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenure
