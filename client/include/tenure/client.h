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
//
// News (entity changes, activations, membership) comes from the broker's PUB
// socket through a Watcher, a separate object with its own socket:
//
//   tenure::Watcher watcher("tcp://127.0.0.1:5556", {"entity_1"});
//   while (auto event = watcher.Next(std::chrono::seconds(1))) { ... }
//
// Not thread-safe either: one Watcher per thread. Neither class lets an
// exception escape.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tenure/base/status.h"

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

// One tenure of an entity on a node: from the activation that gave the node
// the entity to the passivation, shutdown or takeover that ended it.
struct Tenure {
  std::string node;
  std::uint64_t epoch = 0;
  std::string acquired_at;  // UTC, ISO 8601 ("2026-01-02T03:04:05.678Z").
  std::string released_at;  // Empty while the tenure lasts.
  std::string reason;       // Why it ended (superseded, shutdown, ...); empty while it lasts.
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
  T& value() { return std::get<T>(v_); }
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
  // The entity with its current owner and epoch, answered by the owner (from
  // its memory, like Get). Activates the entity if no node owns it yet.
  ClientResult<Entity> Where(std::string_view id);
  // The entity's tenures from the store, oldest first; not_found if it never
  // had one.
  ClientResult<std::vector<Tenure>> History(std::string_view id);

  const ClientOptions& options() const { return options_; }

 private:
  class Impl;
  const ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// One piece of news from the broker's PUB socket (docs/PROTOCOL.md §3.4).
struct WatchEvent {
  std::string kind;   // changed, activated, passivated, node_up or node_down.
  std::string id;     // The entity; empty for node news.
  std::string state;  // Empty when the event carries none.
  std::uint64_t version = 0;
  std::uint64_t epoch = 0;
  std::string node;    // The node the event is about or comes from.
  std::string reason;  // Why, in words; often empty.
};

// A subscription to news. It subscribes to exactly the topics of `ids`
// ("entity:<id>\x1f", so entity_1 does not also get entity_10), or to every
// entity and every node when `ids` is empty. ZeroMQ subscriptions take a
// moment to reach the broker: news published right after construction may be
// missed (PUB/SUB has no replay), and so may news a slow reader lets pile up
// past kWatchQueueDepthMax. Use version and epoch to notice a gap, then Get.
class Watcher {
 public:
  // Messages queued for a reader before ZeroMQ drops news (ZMQ_RCVHWM).
  static constexpr int kWatchQueueDepthMax = 10000;

  Watcher(std::string pub, std::vector<std::string> ids);
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher();

  // Waits up to `timeout` for the next event; nullopt on timeout, when a
  // signal interrupts the wait, or when error() is set. News that is not a
  // well-formed TNR1 event under its own topic is counted and skipped.
  std::optional<WatchEvent> Next(std::chrono::milliseconds timeout);

  // nullopt means the watcher is subscribed; otherwise why it is not (a bad
  // id is bad_request, an endpoint that cannot be used is unavailable).
  const std::optional<ClientError>& error() const { return error_; }
  // News messages skipped as malformed so far.
  std::uint64_t malformed_count() const { return malformed_count_; }

 private:
  class Impl;
  std::optional<ClientError> error_;
  std::uint64_t malformed_count_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenure
