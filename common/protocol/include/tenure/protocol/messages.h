// The typed messages of the tenure wire protocol (docs/PROTOCOL.md).
//
// Plain structs with no behaviour: the codec turns them into msgpack bodies and
// back, the cores consume and produce them. Optional fields use an empty string
// or nullopt to mean "absent", as documented per field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/strong_id.h"

namespace tenure::protocol {

// Operations a client may request.
enum class Op : std::uint8_t { kGet, kSet, kCreate, kList, kNodes, kWhere, kHistory };

std::string_view OpName(Op op);
// nullopt means `name` is not an operation.
std::optional<Op> ParseOp(std::string_view name);

// client -> broker -> node. A node answers with a Reply carrying the same id.
struct Request {
  std::uint64_t request_id = 0;
  Op op = Op::kGet;
  std::string entity_id;              // list: rows after this id; empty for nodes.
  std::string state;                  // set/create: the new state; empty = default.
  std::string expect;                 // set: required current state; empty = any.
  std::optional<Version> if_version;  // set: required current version.
  std::uint32_t limit = 0;            // list: rows wanted; 0 = server default.
  std::string via;                    // Enter through this node; empty = any.
  bool forwarded = false;             // Sent on once by a node that does not own the entity.

  bool operator==(const Request&) const = default;
};

struct EntityView {
  std::string id;
  std::string state;
  Version version;
  std::string owner;  // Empty when no node owns it now.
  Epoch epoch;

  bool operator==(const EntityView&) const = default;
};

struct TenureView {  // One row of an entity's ownership history.
  std::string node;
  Epoch epoch;
  std::string acquired_at;
  std::string released_at;  // Empty while the tenure lasts.
  std::string reason;

  bool operator==(const TenureView&) const = default;
};

struct NodeView {
  std::string id;
  bool voter = false;
  bool alive = false;
  Incarnation incarnation;
  std::uint32_t entities = 0;  // Active workers it reported.
  std::int64_t heartbeat_age_ms = 0;

  bool operator==(const NodeView&) const = default;
};

// node or broker -> client.
struct Reply {
  std::uint64_t request_id = 0;
  ErrorCode code = ErrorCode::kOk;
  std::string message;                    // Human text; set when code != kOk.
  std::string owner;                      // Node that answered as owner; empty if none.
  std::optional<EntityView> entity;       // get/set/create.
  std::vector<EntityView> entities;       // list.
  std::vector<NodeView> nodes;            // nodes.
  std::vector<TenureView> tenures;        // history: oldest first.
  std::string actual_state;               // conflict: the state found; empty otherwise.
  std::optional<Version> actual_version;  // conflict on --if-version.

  bool operator==(const Reply&) const = default;
};

// node -> voter (through the broker), every lease/4: keeps the node's session
// alive at that voter. One with an empty `to` is for the broker alone: only
// those tell the broker a node is alive.
struct Heartbeat {
  std::string node;
  Incarnation incarnation;
  std::uint64_t seq = 0;
  std::int64_t sent_ms = 0;  // The node's monotonic clock, milliseconds.
  bool voter = false;
  std::uint32_t entities = 0;
  std::string to;  // The voter it is for; empty = the broker only.
  // The sender's lock settings (lock::SettingsText): its voter set and
  // timing. A voter or the broker refuses a heartbeat whose settings differ
  // from its own; empty (an older sender) differs from every setting.
  std::string settings = {};

  bool operator==(const Heartbeat&) const = default;
};

// One name in a lock message. `holder` and `lapse_ms` are set in DENY only.
struct LockItem {
  std::string name;
  ClaimNumber claim;
  std::string holder;
  // DENY: how long until the holder's session lapses at that voter if it
  // stops heartbeating now, in ms; 0 = not said. A hint for the claimant's
  // back-off: the voter decides by its own clock whatever the claimant does.
  std::uint32_t lapse_ms = 0;

  bool operator==(const LockItem&) const = default;
};

// The lock table protocol of DESIGN §4 (everything but HEARTBEAT), between a
// node and a voter, routed by the broker on `to`.
struct LockMessage {
  enum class Kind : std::uint8_t {
    kHbAck,     // voter -> node: `seq` received.
    kNack,      // voter -> node: another incarnation of this id is alive here.
    kMismatch,  // voter or broker -> node: your heartbeat's settings differ from `settings`.
    kClaim,     // node -> voter: claim `items` (name, claim number); `sent_ms` set.
    kGrant,     // voter -> node: granted `items`; echoes the CLAIM's `sent_ms`.
    kDeny,      // voter -> node: denied `items`, each naming its holder.
    kRelease,   // node -> voter: free `items` if still held under claim <= it.
    kReleased,  // voter -> node: the RELEASE of `items` was processed.
    kQuiet,     // broker -> voter: you just became the route of your id; be quiet.
  };
  Kind kind = Kind::kHbAck;
  std::string from;  // Sender id: a node id, or the broker's witness id.
  Incarnation from_incarnation;
  std::string to;              // Receiver id.
  Incarnation to_incarnation;  // Voter replies: the node incarnation answered.
  std::uint64_t seq = 0;       // kHbAck: the heartbeat acknowledged.
  std::int64_t sent_ms = 0;    // kClaim: node's clock; kGrant: echoed.
  std::vector<LockItem> items;
  std::string settings = {};  // kMismatch: the refusing voter's (or broker's) own settings.

  bool operator==(const LockMessage&) const = default;
};

std::string_view LockKindName(LockMessage::Kind kind);

// News: node -> broker, then broker PUB -> subscribers.
struct Event {
  enum class Kind : std::uint8_t { kChanged, kActivated, kPassivated, kNodeUp, kNodeDown };
  Kind kind = Kind::kChanged;
  std::string entity_id;  // Empty for node events.
  std::string state;
  Version version;
  Epoch epoch;
  std::string node;
  std::string reason;

  bool operator==(const Event&) const = default;
};

std::string_view EventKindName(Event::Kind kind);

using Message = std::variant<Request, Reply, Heartbeat, Event, LockMessage>;

}  // namespace tenure::protocol
