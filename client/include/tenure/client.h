// tenure client library: what applications link to talk to a tenure cluster.
//
//   tenure::Client client({.broker = "tcp://127.0.0.1:5555"});
//   tenure::ClientResult<tenure::Entity> e = client.Set("entity_1", "working");
//   if (!e.ok()) std::cerr << e.error().message << "\n";
//
// Each call sends one request through the broker and waits for its reply up
// to options.timeout. Errors carry the names of DESIGN §6; a write that timed
// out reports write_outcome_unknown, since it may or may not have been applied.
// Not thread-safe: use one Client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/base/status.h"

namespace tenure {

struct ClientOptions {
  std::string broker = "tcp://127.0.0.1:5555";
  std::chrono::milliseconds timeout{5000};
  std::string via;  // Enter the cluster through this node; empty = any.
};

struct Entity {
  std::string id;
  std::string state;
  std::uint64_t version = 0;
  std::string owner;  // Empty when no node owns it now.
  std::uint64_t epoch = 0;
};

struct NodeInfo {
  std::string id;
  bool voter = false;
  bool alive = false;
  std::uint64_t incarnation = 0;
  std::uint32_t entities = 0;
  std::int64_t heartbeat_age_ms = 0;
};

struct ClientError {
  ErrorCode code = ErrorCode::kUnavailable;
  std::string message;
  std::string actual_state;                     // conflict: the state found.
  std::optional<std::uint64_t> actual_version;  // conflict: the version found.
  bool write_outcome_unknown = false;           // A write timed out or was cut off.
};

template <typename T>
class [[nodiscard]] ClientResult {
 public:
  ClientResult(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design.
  ClientResult(ClientError error) : v_(std::move(error)) {}  // NOLINT: implicit by design.
  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  const ClientError& error() const { return std::get<ClientError>(v_); }

 private:
  std::variant<T, ClientError> v_;
};

struct SetOptions {
  std::string expect;                       // Required current state; empty = any.
  std::optional<std::uint64_t> if_version;  // Required current version.
};

class Client {
 public:
  explicit Client(ClientOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  ClientResult<Entity> Get(std::string_view id);
  ClientResult<Entity> Set(std::string_view id, std::string_view state,
                           const SetOptions& options = {});
  ClientResult<Entity> Create(std::string_view id, std::string_view state = "initialized");
  ClientResult<std::vector<Entity>> List(std::uint32_t limit = 0, std::string_view after = {});
  ClientResult<std::vector<NodeInfo>> Nodes();

  const ClientOptions& options() const { return options_; }

 private:
  class Impl;
  const ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenure
