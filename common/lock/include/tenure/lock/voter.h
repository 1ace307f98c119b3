// Voter: one voter's share of the quorum name lock table (DESIGN §4), as a
// pure state machine.
//
// It keeps a session per node (alive while now - last_seen < lease) and a table
// name -> (node, incarnation, claim). It answers heartbeats (HB_ACK, or NACK to
// a second live incarnation of an id), claims (GRANT or DENY naming the
// holder) and releases (RELEASED). Every reply echoes the node incarnation it
// answers. A voter starts with an empty table and, for lease + margin (the
// quiet period), answers no claim at all: every node deadline that counted on
// its previous incarnation has passed by then.
//
// The quiet period runs from the first input this incarnation receives, not
// from its start, and again from the first input after a silence of a lease
// or more. The broker routes a voter id's traffic to one process at a time; a
// process that becomes that voter later (its predecessor's session lapsed at
// the broker), or becomes it again (a twin had the id meanwhile), must still
// wait out every deadline that counted on the other process, which ran until
// that process stopped getting traffic. Another process can have granted
// anything only after its own quiet period, so a silence shorter than a
// lease means nobody else voted under this id meanwhile, as seen from here.
// That misses one case the simulator found (seed 1039 with back-off
// wake-ups): a process paused with messages queued for it handles them on
// resuming, which starts its quiet period while the other process still has
// the routes and votes; if the broker gives it the routes back within a
// lease (the other one crashed), it is not silent enough to go quiet again,
// and its quiet period ends before the other one's grants stop counting. So
// the broker also says when it switches an id's routes to a process (QUIET),
// and the voter is quiet for a full period from then.
//
//                   first input               lease + margin later
//   (no input) ---------------> quiet ------------------------------> serving
//                                 ^                                      |
//                                 +--------------------------------------+
//                                   QUIET from the broker (Step), or the first
//                                   input after a silence of about a lease or
//                                   more (NoteInput)
//
// Before its first input and while quiet, a voter answers no CLAIM at all.
// A QUIET or a silence during the quiet period makes it end later.
//
// Before anything else, a heartbeat must carry this voter's settings
// (SettingsText of the cluster's voters and timing, rules.h). A node that
// disagrees about who votes or how long a lease is would count this voter by
// other rules than the ones it votes by: with a smaller voter set, a grant
// here could be its whole majority while the real cluster's majority grants
// the name to another node. Such a heartbeat opens no session and changes
// nothing; it is answered with MISMATCH (this voter's settings), and without
// a session the node is granted nothing.
//
// | input      | serving: what changes                                       | function        |
// |------------|-------------------------------------------------------------|-----------------|
// | HEARTBEAT  | other settings: nothing (MISMATCH, and a refusal to log);   | Step(Heartbeat) |
// |            | else session of (node, inc) seen now; new incarnation       |                 |
// |            | replaces a lapsed one and frees its names; NACK if the old  |                 |
// |            | one lives                                                   |                 |
// | CLAIM      | none without a live session of the claimant; per name:      | OnClaim         |
// |            | grant if free, holder lapsed, or holder is the claimant     |                 |
// |            | with claim <= this one; ignore an older claim of the        |                 |
// |            | holder; else deny, saying when the holder's session lapses  |                 |
// |            | here if it stays silent (the claimant's back-off)           |                 |
// | RELEASE    | per name: free it if held by the sender's incarnation with  | OnRelease       |
// |            | claim <= the released one                                   |                 |
// | QUIET      | (from the broker, when it routes this id here instead of to | Step            |
// |            | another process) a quiet period from now                    |                 |
//
// Invariants:
// (1) An entry's claim number for a given (node, incarnation) never decreases.
// (2) A name is granted to a new holder only when its previous holder's
//     session is not alive at this voter.
// (3) No GRANT is sent during the quiet period.
// (4) holders_[h].entries is the number of table_ entries naming h; a holder
//     with none is in free_holders_ and not in holder_index_.
// (5) A session is opened or renewed only by a heartbeat carrying settings_
//     (when rules.settings_check), and a name is granted only to a claimant
//     whose session is alive here.
//
// Memory: a node that is also a voter keeps an entry here for every name any
// node owns, and a node may own a million names, so an entry is kept small:
// the (node, incarnation) it names is stored once, in holders_, and the entry
// keeps its index.
//
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tenure/base/time.h"
#include "tenure/entity/id_hash.h"
#include "tenure/lock/rules.h"
#include "tenure/protocol/messages.h"

namespace tenure::lock {

struct VoterOptions {
  NodeId id;
  Incarnation incarnation;
  LockTiming timing;
  LockRules rules;
  // The cluster's voters as every node has them (EffectiveVoters: the witness
  // included when present), in any order: with `timing`, what a heartbeat's
  // settings must be. REQUIRES: non-empty when rules.settings_check.
  std::vector<NodeId> voters = {};
};

// A heartbeat refused for its settings, for the shell to log.
struct Refusal {
  NodeId node;
  Incarnation incarnation;
  std::string settings;  // The node's; the voter's own are Voter::settings().

  bool operator==(const Refusal&) const = default;
};

struct Holder {
  NodeId node;
  Incarnation incarnation;
  ClaimNumber claim;

  bool operator==(const Holder&) const = default;
};

class Voter {
 public:
  // `start` is when this incarnation started; the quiet period runs from the
  // first input at or after it.
  Voter(VoterOptions options, TimePoint start);

  void Step(const protocol::Heartbeat& hb, TimePoint now);
  void Step(const protocol::LockMessage& message, TimePoint now);
  // Forgets entries and sessions that lapsed long ago (bounded memory).
  void Tick(TimePoint now);

  // Replies produced so far.
  std::vector<protocol::LockMessage> TakeOutbox();
  // The heartbeats refused for their settings since the last call: each node
  // incarnation once (again only after it fell silent for a few leases), at
  // most kRefusalsPendingMax of them (the rest are dropped).
  std::vector<Refusal> TakeRefusals();
  static constexpr std::size_t kRefusalsPendingMax = 64;

  // True while `node`'s session of `incarnation` is alive here.
  bool HasSession(const NodeId& node, Incarnation incarnation, TimePoint now) const {
    return Alive(node.str(), incarnation, now);
  }
  // The entry for `name`, alive or not; nullopt means none.
  std::optional<Holder> HolderOf(const EntityId& name) const;
  // True during the quiet period, and before any input (it has not begun).
  bool Quiet(TimePoint now) const;
  const NodeId& id() const { return options_.id; }
  Incarnation incarnation() const { return options_.incarnation; }
  // What every heartbeat must carry (SettingsText of the options' voters and
  // timing); empty when rules.settings_check is off.
  const std::string& settings() const { return settings_; }

  // Aborts (TENURE_CHECK) if invariant (4) is broken. Linear in the table:
  // for tests and the simulator.
  void CheckInvariants() const;

 private:
  struct Session {
    Incarnation incarnation;
    TimePoint last_seen{};
  };

  // The newest incarnation of a node id refused for its settings.
  struct Refused {
    Incarnation incarnation;
    TimePoint last_seen{};
  };

  // A (node, incarnation) named by table entries.
  struct HolderSlot {
    std::string node;
    Incarnation incarnation;
    std::size_t entries = 0;  // Keeps invariant (4).
  };

  struct Entry {
    std::uint32_t holder = 0;  // Index in holders_.
    ClaimNumber claim;
  };

  using Table = std::unordered_map<std::string, Entry, entity::IdHash, std::equal_to<>>;

  bool Alive(const std::string& node, Incarnation incarnation, TimePoint now) const;
  bool Alive(const HolderSlot& holder, TimePoint now) const {
    return Alive(holder.node, holder.incarnation, now);
  }
  // For a DENY: ms until `holder`'s session lapses here, if it is silent.
  std::uint32_t LapseMillis(const HolderSlot& holder, TimePoint now) const;
  // The index of (node, incarnation) in holders_, made if new. The caller
  // counts the entries it makes with it.
  std::uint32_t Intern(const std::string& node, Incarnation incarnation);
  // Counts one entry fewer naming holders_[h], and frees h with its last.
  void Unref(std::uint32_t h);
  // Drops the entry at `it`; returns the next one.
  Table::iterator Erase(Table::iterator it);
  void NoteInput(TimePoint now);
  // Keeps invariant (5): MISMATCH for a heartbeat with other settings.
  bool Refuse(const protocol::Heartbeat& hb, TimePoint now);
  void OnClaim(const protocol::LockMessage& m, TimePoint now);
  void OnRelease(const protocol::LockMessage& m);
  protocol::LockMessage Reply(protocol::LockMessage::Kind kind, const std::string& node,
                              Incarnation node_incarnation) const;

  // Constant after construction.
  const VoterOptions options_;
  const TimePoint start_;
  const std::string settings_;

  std::optional<TimePoint> quiet_until_;  // Set by the first input (after a silence).
  std::optional<TimePoint> last_input_;

  std::map<std::string, Session> sessions_;  // node id -> its newest session.
  // name -> holder. No answer depends on its order: it is only looked up,
  // and swept for entries to drop.
  Table table_;
  std::vector<HolderSlot> holders_;
  std::vector<std::uint32_t> free_holders_;  // Indexes in holders_ with no entry.
  std::map<std::pair<std::string, Incarnation>, std::uint32_t> holder_index_;
  std::vector<protocol::LockMessage> outbox_;
  std::map<std::string, Refused> refused_;  // node id -> its refused incarnation.
  std::vector<Refusal> refusals_;           // Not taken yet: at most kRefusalsPendingMax.
};

}  // namespace tenure::lock
