#include "tenure/router/router_core.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "tenure/base/check.h"
#include "tenure/base/ids.h"

namespace tenure::broker {
namespace {

constexpr std::size_t kOtherIncarnationsMax = 4;

std::uint64_t Fnv1a(std::uint64_t h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// splitmix64's finaliser: spreads FNV's weak low bits over the whole word.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

std::uint64_t RendezvousScore(std::string_view node, std::string_view key) {
  std::uint64_t h = Fnv1a(0xcbf29ce484222325ULL, node);
  h = Fnv1a(h ^ 0xff, key);
  return Mix(h);
}

RouterCore::RouterCore(RouterOptions options) : options_(std::move(options)) {
  TENURE_CHECK(options_.lease > Duration::zero());
}

std::string RouterCore::SettingsFor(const NodeId& node) const {
  lock::LockTiming timing;
  timing.lease = options_.lease;
  timing.margin = options_.margin;
  timing.drift = options_.drift;
  return lock::SettingsText(lock::EffectiveVoters(options_.voters, node), timing);
}

bool RouterCore::Refuse(const std::string& route, const protocol::Heartbeat& hb, TimePoint now) {
  if (!options_.settings_check) {
    return false;
  }
  std::string expected = SettingsFor(NodeId(hb.node));
  if (hb.settings == expected) {
    return false;
  }
  auto [it, fresh] = refused_.try_emplace(hb.node);
  const bool first = fresh || it->second.incarnation != hb.incarnation;
  it->second = Refused{hb.incarnation, now};
  if (refusals_.size() < kRefusalsPendingMax) {
    protocol::LockMessage reply;
    reply.kind = protocol::LockMessage::Kind::kMismatch;
    reply.from = std::string(lock::kWitnessId);
    reply.to = hb.node;
    reply.to_incarnation = hb.incarnation;
    reply.seq = hb.seq;
    reply.settings = std::move(expected);
    refusals_.push_back({route, std::move(reply), hb.settings, first});
  }
  return true;
}

void RouterCore::HandleHeartbeat(const std::string& route, const protocol::Heartbeat& hb,
                                 TimePoint now) {
  if (!ValidateNodeId(hb.node).ok()) {
    return;
  }
  if (Refuse(route, hb, now)) {
    return;  // Invariant (3).
  }
  auto [it, first_seen] = nodes_.try_emplace(hb.node);
  Node& node = it->second;
  const bool restarted = !first_seen && node.incarnation != hb.incarnation;
  if (restarted && Alive(node, now)) {
    if (node.others.size() >= kOtherIncarnationsMax) {
      node.others.erase(node.others.begin());
    }
    node.others[hb.incarnation] = route;
    return;
  }
  if (restarted) {
    if (node.others.size() >= kOtherIncarnationsMax) {
      node.others.erase(node.others.begin());
    }
    node.others[node.incarnation] = node.route;
    node.others.erase(hb.incarnation);
  }
  if ((first_seen || restarted) && hb.voter) {
    takeovers_.emplace_back(NodeId(hb.node), hb.incarnation);
  }
  node.route = route;
  node.incarnation = hb.incarnation;
  node.last_seen = now;
  node.gone = false;
  node.voter = hb.voter;
  node.entities = hb.entities;
  if (!node.up || restarted) {
    node.up = true;
    events_.push_back({protocol::Event::Kind::kNodeUp,
                       {},
                       {},
                       {},
                       {},
                       hb.node,
                       restarted ? "new incarnation" : ""});
  }
}

void RouterCore::HandleGoodbye(const std::string& route, const NodeId& node) {
  auto it = nodes_.find(node.str());
  if (it == nodes_.end() || it->second.route != route) {
    return;  // Only a node's own connection may say it is leaving.
  }
  it->second.gone = true;
  if (it->second.up) {
    it->second.up = false;
    events_.push_back({protocol::Event::Kind::kNodeDown, {}, {}, {}, {}, node.str(), "stopped"});
  }
}

void RouterCore::HandleUnreachable(const std::string& route) {
  for (auto& [id, node] : nodes_) {
    if (node.route == route) {
      HandleGoodbye(route, NodeId(id));
      return;
    }
  }
}

std::optional<std::string> RouterCore::RouteOfNode(const NodeId& node,
                                                   Incarnation incarnation) const {
  auto it = nodes_.find(node.str());
  if (it == nodes_.end()) {
    return std::nullopt;
  }
  if (incarnation == Incarnation{} || incarnation == it->second.incarnation) {
    return it->second.route;
  }
  auto other = it->second.others.find(incarnation);
  if (other == it->second.others.end()) {
    return std::nullopt;
  }
  return other->second;
}

bool RouterCore::Registered(std::string_view route, const NodeId& node) const {
  auto it = nodes_.find(node.str());
  if (it == nodes_.end()) {
    return false;
  }
  if (it->second.route == route) {
    return true;
  }
  for (const auto& [incarnation, other] : it->second.others) {
    if (other == route) {
      return true;
    }
  }
  return false;
}

void RouterCore::LearnFromReply(const protocol::Reply& reply) {
  if (reply.owner.empty() || !reply.entity) {
    return;
  }
  if (route_cache_.size() >= kRouteCacheEntriesMax &&
      route_cache_.find(reply.entity->id) == route_cache_.end()) {
    route_cache_.clear();  // Keeps invariant (2); the hash still routes well.
  }
  route_cache_[reply.entity->id] = reply.owner;
}

Result<std::string> RouterCore::RouteRequest(const protocol::Request& request,
                                             TimePoint now) const {
  if (!request.via.empty()) {
    auto it = nodes_.find(request.via);
    if (it == nodes_.end() || !Alive(it->second, now)) {
      return Status::Unavailable("node '" + request.via + "' is not alive");
    }
    return it->second.route;
  }
  if (!request.entity_id.empty()) {
    auto cached = route_cache_.find(request.entity_id);
    if (cached != route_cache_.end()) {
      auto it = nodes_.find(cached->second);
      if (it != nodes_.end() && Alive(it->second, now)) {
        return it->second.route;  // Keeps invariant (1).
      }
    }
  }
  const Node* best = nullptr;
  std::uint64_t best_score = 0;
  for (const auto& [id, node] : nodes_) {
    if (!Alive(node, now)) {
      continue;
    }
    const std::uint64_t score = RendezvousScore(id, request.entity_id);
    if (best == nullptr || score > best_score) {
      best = &node;
      best_score = score;
    }
  }
  if (best == nullptr) {
    return Status::Unavailable("no live worker_node is connected to the broker");
  }
  return best->route;
}

protocol::Reply RouterCore::NodesReply(std::uint64_t request_id, TimePoint now) const {
  protocol::Reply reply;
  reply.request_id = request_id;
  for (const auto& [id, node] : nodes_) {
    const bool listed_voter = std::find(options_.voters.begin(), options_.voters.end(),
                                        NodeId(id)) != options_.voters.end();
    reply.nodes.push_back({id, node.voter || listed_voter, Alive(node, now), node.incarnation,
                           node.entities, ToMillis(now - node.last_seen)});
  }
  return reply;
}

void RouterCore::Tick(TimePoint now) {
  for (auto& [id, node] : nodes_) {
    if (node.up && !Alive(node, now)) {
      node.up = false;
      events_.push_back({protocol::Event::Kind::kNodeDown, {}, {}, {}, {}, id, "session expired"});
    }
  }
  // Bounded: a refused node silent for a few leases is forgotten (and
  // reported again if it comes back).
  for (auto it = refused_.begin(); it != refused_.end();) {
    it = now - it->second.last_seen > 4 * options_.lease ? refused_.erase(it) : std::next(it);
  }
}

std::vector<protocol::Event> RouterCore::TakeEvents() { return std::exchange(events_, {}); }

std::vector<std::pair<NodeId, Incarnation>> RouterCore::TakeTakeovers() {
  return std::exchange(takeovers_, {});
}

std::vector<HeartbeatRefusal> RouterCore::TakeRefusals() { return std::exchange(refusals_, {}); }

std::size_t RouterCore::live_node_count(TimePoint now) const {
  return static_cast<std::size_t>(std::count_if(
      nodes_.begin(), nodes_.end(), [&](const auto& kv) { return Alive(kv.second, now); }));
}

}  // namespace tenure::broker
