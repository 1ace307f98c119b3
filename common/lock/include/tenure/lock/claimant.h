// Claimant: a node's side of the quorum name lock table (DESIGN §4), as a pure
// state machine. It heartbeats every voter, keeps a deadline per voter, claims
// and releases names in batches, and answers the serving rule: the node may
// serve `name` only while the voters that granted its current claim for it,
// in their current incarnation, with their deadline unexpired without a break
// since that CLAIM was sent, form a majority.
//
// Per voter v: deadline_v = sent(newest heartbeat v acknowledged)
//                           + lease * (1 - d) / (1 + d) - margin.
// Because v received that heartbeat after it was sent, and no clock runs more
// than d off real time, the node stops counting on v before v stops counting
// the node's session (and so before v could give a name away).
//
// Name lifecycle:
//
//       +-------------> (none) <------------------------------+
//       |                 |                                   |
//       |                 | Claim()                           | rule fails (Tick): Lost,
//       |                 v                                   | RELEASE to every voter
//       |             kClaiming ----- majority counted -----> kOwned
//       |               |  ^  ^                               |
//       |               |  |  +-------------------------------+
//       |               |  |    Claim() after the rule broke, before
//       |               |  |    Tick saw it: a new claim number
//       |   denied by a |  |
//       |   majority,   |  | back-off over, still wanted
//       |   claim       |  | (Tick, EndBackoffs): a new
//       |   timeout     |  | claim number
//       |   (GiveUp)    v  |
//       +----------- kBackoff
//         back-off over, not wanted
//         (Tick, EndBackoffs)
//
//   Release(), in any state: (none), with a RELEASE to every voter (none from
//   kBackoff: GiveUp sent them). Claim() in kOwned while the rule holds reports
//   Granted again; in kBackoff it reports Denied again when the holder is known,
//   else it marks the name wanted.
//
// A lost name is forgotten, not backed off: whether it is claimed again is
// the runtime's decision (a new request claims it with a new number).
//
// | transition             | function                                  | event           |
// |------------------------|-------------------------------------------|-----------------|
// | (none) -> kClaiming    | Claim (a new claim number)                |                 |
// | kClaiming -> kOwned    | Progress (on GRANT, HB_ACK)               | Granted         |
// | kClaiming -> kBackoff  | GiveUp (on DENY: no majority left; Tick:  | Denied / Failed |
// |                        | claim timeout)                            |                 |
// | kOwned -> kOwned       | Claim (the rule holds)                    | Granted         |
// | kOwned -> kClaiming    | Claim (the rule broke since the last      |                 |
// |                        | Tick; a new claim number)                 |                 |
// | kOwned -> (none)       | Tick (the rule failed; RELEASE queued)    | Lost            |
// | kBackoff -> kBackoff   | Claim (holder known: Denied again; else   | Denied          |
// |                        | it marks the name wanted)                 |                 |
// | kBackoff -> kClaiming  | Tick, EndBackoffs (over, still wanted; a  |                 |
// |                        | new claim number)                         |                 |
// | kBackoff -> (none)     | Tick, EndBackoffs (over, not wanted)      |                 |
// | any -> (none)          | Release                                   |                 |
//
// Guarantees: MayServe(name) is true only in kOwned and only while the rule
// holds at `now`; it is evaluated from scratch at every call (no caching).
//
// Refusals: every heartbeat carries settings() (SettingsText of the voters
// and timing this node counts by). A voter or the broker whose own settings
// differ answers MISMATCH instead of HB_ACK; a voter that sees another live
// process under this node id answers NACK. Either way that voter's deadline
// does not advance, so none of its grants can count. The first refusal of a
// run is reported (kRefused); a run that lasts twin_wait() from one voter,
// with no HB_ACK from it in between, is fatal (kFatal): the process must
// exit. OnNack says why it waits.
//
// Invariants:
// (1) Claim numbers are unique per incarnation and increase with each Claim.
// (2) A grant counts only for the claim number currently pursued for its name,
//     from the voter incarnation currently known, within a continuous stretch
//     of that voter's deadline that began before the CLAIM was sent.
// (3) A name released is in pending_releases_ until every voter acknowledged.
// (4) Every name in names_ has a row of its own in grants_ and denials_ (its
//     slot); a slot not in use is in free_slots_ and its row is empty.
//
// Memory: a node holds a Name for every entity it serves, and may serve a
// million entities within 400 bytes each (runtime and voter included), so a
// Name is kept small. What it knows per voter lives in fixed rows indexed by
// the voter's number (the voter set never changes); a grant with
// voter_incarnation 0 is no grant, as it could never count. Names stay in an
// ordered map: Tick and OnHbAck emit events and CLAIMs in name order, and the
// simulator's traces depend on that order.
//
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tenure/base/time.h"
#include "tenure/entity/authority.h"
#include "tenure/lock/rules.h"
#include "tenure/protocol/messages.h"

namespace tenure::lock {

struct ClaimantOptions {
  NodeId node_id;
  Incarnation incarnation;
  // Every voter, the broker's witness included. With `timing`, it makes the
  // settings text every heartbeat carries (SettingsText).
  std::vector<NodeId> voters;
  bool voter = false;  // This node is one of them.
  LockTiming timing;
  LockRules rules;
  std::uint64_t seed = 1;  // Back-off jitter.
  std::size_t items_per_message_max = 1000;
};

struct LockEvent {
  enum class Kind {
    kGranted,  // The node may serve `name` now.
    kLost,     // The rule failed for `name`: its worker must stop now.
    kDenied,   // A majority is out of reach; `holder` holds it (may be empty).
    kFailed,   // No majority within the claim timeout.
    kRefused,  // First refusal from a voter or the broker (`holder`): a NACK (a
               // process with this id looked alive there) or a MISMATCH (its
               // settings differ; `reason` names both).
    kFatal,    // Still refused by it after twin_wait(): the process must exit.
  };
  Kind kind = Kind::kGranted;
  EntityId name;
  NodeId holder;
  std::string reason;
};

struct ClaimantEffects {
  std::vector<protocol::Heartbeat> heartbeats;
  std::vector<protocol::LockMessage> messages;
  std::vector<LockEvent> events;
};

class Claimant final : public entity::Authority {
 public:
  Claimant(ClaimantOptions options, TimePoint start);

  // Heartbeats every voter, repairs claims, expires claims and ownerships.
  // Call every heartbeat_interval() (more often is harmless).
  void Tick(TimePoint now);
  // Starts claiming `name` (a no-op if it is claimed or owned already).
  void Claim(const EntityId& name, TimePoint now);
  // Lets `name` go: RELEASE to every voter, repeated until acknowledged.
  void Release(const EntityId& name, TimePoint now);
  // A reply from a voter.
  void Step(const protocol::LockMessage& message, TimePoint now);

  // The serving rule.
  bool MayServe(std::string_view name, TimePoint now) const override;

  // When the earliest back-off ends (nullopt: none): a shell that calls
  // EndBackoffs then claims again at once instead of at its next Tick.
  std::optional<TimePoint> NextBackoffEnd() const;
  // Ends the back-offs due by `now`, as Tick does: claims again the names
  // still wanted, forgets the others.
  void EndBackoffs(TimePoint now);

  // Sends the claims and releases batched since the last call, and returns
  // everything produced so far.
  ClaimantEffects TakeEffects(TimePoint now);

  // The number of entries in heartbeats: `entities` is set by the shell.
  std::size_t owned_count() const;
  bool releases_pending() const { return !pending_releases_.empty(); }
  bool claiming(const EntityId& name) const;
  const ClaimantOptions& options() const { return options_; }
  // What this node's heartbeats carry: SettingsText(options().voters,
  // options().timing). The shell puts it in its broker heartbeats too.
  const std::string& settings() const { return settings_; }

  // Aborts (TENURE_CHECK) if invariant (1) or (4), or the guarantee that only
  // an owned name may be served, is broken. Linear in the names: for tests
  // and the simulator.
  void CheckInvariants(TimePoint now) const;

 private:
  enum class Phase : std::uint8_t { kClaiming, kOwned, kBackoff };

  struct Grant {
    Incarnation voter_incarnation;  // 0: no grant.
    TimePoint claim_sent{};
  };

  struct Name {
    ClaimNumber claim;
    // kClaiming: when the claim started; kBackoff: when the back-off ends.
    TimePoint since{};
    std::uint32_t slot = 0;  // Its rows in grants_ and denials_: invariant (4).
    Phase phase = Phase::kClaiming;
    bool wanted = false;  // Claim again when the back-off ends.
  };

  struct VoterView {
    Incarnation incarnation;  // 0: not heard from yet.
    std::optional<TimePoint> deadline;
    std::optional<TimePoint> valid_since;  // Start of the current unbroken stretch.
  };

  using Names = std::map<std::string, Name, std::less<>>;

  // The number of `voter` (its index in voter_ids_); nullopt for a stranger.
  std::optional<std::size_t> VoterIndex(std::string_view voter) const;
  Grant& GrantOf(const Name& n, std::size_t voter) {
    return grants_[n.slot * voter_ids_.size() + voter];
  }
  const Grant& GrantOf(const Name& n, std::size_t voter) const {
    return grants_[n.slot * voter_ids_.size() + voter];
  }
  void SetDenied(const Name& n, std::size_t voter, bool denied);
  std::size_t DenialCount(const Name& n) const;
  // Forgets the grants and denials of `n` (not the holder).
  void ClearVotes(const Name& n);
  // Adds `name` with a slot of its own; nothing if it is there already.
  std::pair<Names::iterator, bool> AddName(const std::string& name);
  Names::iterator EraseName(Names::iterator it);
  void CompactSlots();

  std::size_t Counted(const Name& n, TimePoint now) const;
  bool Counts(std::size_t voter, const Grant& grant, TimePoint now) const;
  void StartClaim(const std::string& name, Name& n, TimePoint now);
  void GiveUp(const std::string& name, Name& n, LockEvent::Kind why, TimePoint now);
  void Progress(const std::string& name, Name& n, TimePoint now);
  void QueueClaim(const std::string& voter, const std::string& name, ClaimNumber claim,
                  TimePoint now);
  void QueueRelease(const std::string& voter, const std::string& name, ClaimNumber claim);
  void OnHbAck(const protocol::LockMessage& m, TimePoint now);
  void OnGrant(const protocol::LockMessage& m, TimePoint now);
  void OnDeny(const protocol::LockMessage& m, TimePoint now);
  void OnReleased(const protocol::LockMessage& m);
  void OnNack(const protocol::LockMessage& m, TimePoint now);
  void OnMismatch(const protocol::LockMessage& m, TimePoint now);
  // One more refusal from `from`: kRefused at the first of a run, kFatal once
  // the run lasted twin_wait().
  void Refused(const std::string& from, const std::string& reason, TimePoint now);
  Duration DeadlineSpan() const;

  // Constant after construction.
  const ClaimantOptions options_;
  const std::size_t majority_;
  const std::string settings_;
  std::vector<std::string> voter_ids_;           // Sorted, distinct: voter number -> id.
  std::vector<std::size_t> option_voter_index_;  // options_.voters[i] -> its number.
  std::size_t denial_words_ = 0;                 // Per row of denials_.

  std::mt19937_64 rng_;
  ClaimNumber next_claim_{1};
  std::uint64_t heartbeat_seq_ = 0;
  std::map<std::uint64_t, TimePoint> heartbeat_sent_;  // seq -> sent, recent ones only.
  std::vector<VoterView> voters_;                      // By voter number.
  std::map<std::string, TimePoint> refused_since_;     // voter -> first refusal of a run.
  bool fatal_ = false;
  Names names_;
  // Per-name rows, by slot (invariant (4)): grants by voter number, denials
  // as a bit per voter number, and the holder named by the last DENY (only
  // names that have one).
  std::vector<Grant> grants_;
  std::vector<std::uint64_t> denials_;
  std::unordered_map<std::uint32_t, std::string> holders_;
  // Slot -> when the holders named by DENYs lapse at those voters if silent
  // (the latest hint), while the claim is pursued.
  std::unordered_map<std::uint32_t, TimePoint> lapse_at_;
  // (end, name) of back-offs, earliest first; an entry whose name left its
  // back-off meanwhile is skipped when popped. Bounded by the back-offs
  // started in the last half lease: every entry is due within that.
  std::priority_queue<std::pair<TimePoint, std::string>,
                      std::vector<std::pair<TimePoint, std::string>>, std::greater<>>
      backoff_ends_;
  std::vector<std::uint32_t> free_slots_;
  // (name, voter) -> newest claim released there and not yet acknowledged.
  std::map<std::pair<std::string, std::string>, ClaimNumber> pending_releases_;

  // Batches waiting for TakeEffects: voter -> items.
  std::map<std::string, std::vector<protocol::LockItem>> claim_batch_;
  std::optional<TimePoint> claim_batch_sent_;
  std::map<std::string, std::vector<protocol::LockItem>> release_batch_;
  ClaimantEffects effects_;
};

}  // namespace tenure::lock
