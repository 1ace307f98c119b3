// RouterCore: the broker's decisions, as a pure state machine.
//
// It tracks which nodes are alive (by their heartbeats), remembers which node
// last answered as the owner of an entity, and picks the node a client request
// goes to: the remembered owner if it is alive, else the live node chosen by
// rendezvous hashing of the entity id (so every broker incarnation picks the
// same node for the same id and live set). It holds no entity data.
//
// A node heartbeat must carry the broker's own settings (SettingsFor: the
// SettingsText of the voters and lease the broker was given). One that does
// not is refused: the node is not registered (no route, not alive, never
// routed to) and is answered with MISMATCH, so that it logs both settings and
// exits. A node that disagrees about who votes or how long a lease is would
// count voters by other rules than theirs, and could serve a name that the
// cluster's majority granted to another node.
//
// Invariants:
// (1) A request is only ever routed to a node whose session is alive
//     (now - last_seen < lease).
// (2) route_cache_ never holds more than kRouteCacheEntriesMax entries.
// (3) Only a heartbeat with the broker's settings registers a route in
//     nodes_ (when options.settings_check).
//
// Not thread-safe: one owner thread (the broker loop).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/time.h"
#include "tenure/lock/rules.h"
#include "tenure/protocol/messages.h"

namespace tenure::broker {

inline constexpr std::size_t kRouteCacheEntriesMax = 1 << 20;
// Refusals not taken yet; beyond it they are dropped (the node's next
// heartbeat is refused again).
inline constexpr std::size_t kRefusalsPendingMax = 1024;

struct RouterOptions {
  Duration lease = std::chrono::milliseconds(2000);
  std::vector<NodeId> voters;  // As configured (--voters): the witness is added as nodes do.
  // Refuse node heartbeats whose settings differ from SettingsFor(node). Off
  // only in the simulator, which checks at the voters alone.
  bool settings_check = true;
  // The rest of the nodes' lock::LockTiming, for SettingsFor. No flag sets
  // them: the defaults are every process's.
  Duration margin = lock::LockTiming{}.margin;
  double drift = lock::LockTiming{}.drift;
};

// A node heartbeat refused for its settings. The shell sends `reply` to
// `route`, and logs the refusal when `first`.
struct HeartbeatRefusal {
  std::string route;
  protocol::LockMessage reply;  // MISMATCH from @broker, carrying the broker's settings.
  std::string node_settings;    // What the node sent.
  bool first = false;           // The first refusal of this node incarnation.
};

class RouterCore {
 public:
  explicit RouterCore(RouterOptions options);

  // A heartbeat for the broker arrived from the peer whose ROUTER identity is
  // `route`. A new incarnation of a node id takes over its routes only once
  // the current one's session lapsed (as at a voter): a second process
  // started under a live id cannot divert the first one's traffic.
  void HandleHeartbeat(const std::string& route, const protocol::Heartbeat& hb, TimePoint now);
  // The node behind `route` is stopping: route nothing new to it.
  void HandleGoodbye(const std::string& route, const NodeId& node);
  // A send to `route` failed: the peer is gone.
  void HandleUnreachable(const std::string& route);
  // The ROUTER identity of incarnation `incarnation` of node `node` (0: the
  // current one), alive or not; nullopt if never seen.
  std::optional<std::string> RouteOfNode(const NodeId& node, Incarnation incarnation = {}) const;
  // True if `route` is a process of `node` whose broker heartbeat was
  // accepted: its current one or another recent incarnation, alive or not (a
  // node that said goodbye still releases its names). Only such a peer's
  // lock traffic is passed on: a refused node must reach no voter.
  bool Registered(std::string_view route, const NodeId& node) const;
  // The settings a heartbeat of `node` must carry: SettingsText of the
  // voters as `node` derives them (EffectiveVoters) and of the timing.
  std::string SettingsFor(const NodeId& node) const;
  // A reply passed through: remember its owner for the entity it names.
  void LearnFromReply(const protocol::Reply& reply);
  // The ROUTER identity of the node `request` should go to.
  Result<std::string> RouteRequest(const protocol::Request& request, TimePoint now) const;
  // The answer to a `nodes` request.
  protocol::Reply NodesReply(std::uint64_t request_id, TimePoint now) const;
  // Marks nodes whose session lapsed as down.
  void Tick(TimePoint now);
  // node_up / node_down news produced so far.
  std::vector<protocol::Event> TakeEvents();
  // (node id, incarnation) whose traffic was routed to a process other than
  // the one before (or to anyone, for the first time since this broker
  // started) since the last call: the broker tells its voter (QUIET).
  std::vector<std::pair<NodeId, Incarnation>> TakeTakeovers();
  // Heartbeats refused for their settings since the last call (at most
  // kRefusalsPendingMax).
  std::vector<HeartbeatRefusal> TakeRefusals();

  std::size_t live_node_count(TimePoint now) const;

 private:
  struct Node {
    std::string route;
    Incarnation incarnation;
    TimePoint last_seen{};
    bool voter = false;
    bool up = false;    // As last published.
    bool gone = false;  // Said goodbye or became unreachable: not alive until it heartbeats.
    std::uint32_t entities = 0;
    // Other incarnations seen recently (a predecessor, or a refused twin):
    // lock replies addressed to them still reach them.
    std::map<Incarnation, std::string> others;
  };

  // The newest incarnation of a node id refused for its settings.
  struct Refused {
    Incarnation incarnation;
    TimePoint last_seen{};
  };

  bool Alive(const Node& node, TimePoint now) const {
    return !node.gone && now - node.last_seen < options_.lease;
  }
  // Keeps invariant (3): true (and a refusal queued) if `hb` must not register.
  bool Refuse(const std::string& route, const protocol::Heartbeat& hb, TimePoint now);

  const RouterOptions options_;
  std::map<std::string, Node> nodes_;                         // Ordered: `nodes` lists them by id.
  std::unordered_map<std::string, std::string> route_cache_;  // entity id -> node id.
  std::vector<protocol::Event> events_;
  std::vector<std::pair<NodeId, Incarnation>> takeovers_;
  std::map<std::string, Refused> refused_;  // node id -> its refused incarnation.
  std::vector<HeartbeatRefusal> refusals_;
};

// Rendezvous (highest random weight) score of `node` for `key`; stable across
// processes and builds.
std::uint64_t RendezvousScore(std::string_view node, std::string_view key);

}  // namespace tenure::broker
