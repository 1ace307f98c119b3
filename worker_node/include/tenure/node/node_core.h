// NodeCore: everything a worker_node decides, as one pure state machine
// (DESIGN §2.4). It owns the node's lock Claimant, its Voter when the node votes,
// and the entity Runtime, and wires them together: requests go to the
// runtime, lock replies to the session, claims and releases to the voters,
// lock decisions (granted, lost, denied, failed) back to the runtime, store
// results and store reopenings to the runtime.
//
// Inputs are decoded messages, store results and the time; outputs are store
// jobs, messages and log notes. It never touches a socket, a thread, a clock,
// the store or a logger: the shell (node.cc) feeds it, and the simulator
// (tests/sim) runs the very same class over a simulated network and store.
//
// Contract with the shell, per turn of its loop:
//   1. feed inputs (Step, HandleStoreResult, HandleStoreGeneration, Advance);
//   2. TakeEffects(now), and carry them out in order: submit every store job
//      (persist), then send every message in order (send); a job the writer
//      refuses at once goes back through HandleStoreResult;
//   3. sleep until NextWake() or the next input.
// TakeEffects runs the cores until nothing more follows from the inputs fed
// so far, so that claims, releases and lock messages of one turn leave in one
// batch per voter.
//
// Invariants:
// (1) Every store job carries the store generation the core knew when the
//     runtime formed it; a job formed before a reopening is never stamped
//     with the new generation (HandleStoreGeneration flushes first).
// (2) store_generation_ never decreases.
// Once fatal() is set the core emits nothing more but log notes: another
// process is this node now.
// Plus the invariants of its parts (Claimant, Voter, Runtime), checked by
// CheckInvariants.
//
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/time.h"
#include "tenure/entity/handler.h"
#include "tenure/entity/runtime.h"
#include "tenure/lock/claimant.h"
#include "tenure/lock/rules.h"
#include "tenure/lock/voter.h"
#include "tenure/protocol/messages.h"
#include "tenure/store/store.h"

namespace tenure::node {

struct NodeCoreOptions {
  NodeId id;
  Incarnation incarnation;     // This process's, random per start.
  std::vector<NodeId> voters;  // As configured (--voters); empty: this node alone.
  lock::LockTiming timing;
  lock::LockRules rules;
  Duration idle = std::chrono::minutes(10);
  std::size_t mailbox_depth_max = 1024;
  StoreGeneration store_generation{1};  // The store's when the core starts.
};

// A message to send to the broker. A reply or a forward carries the route of
// the client that asked (sent as the last frame); others have none.
struct Outgoing {
  protocol::Message message;
  std::string route;
};

// A line for the log: the core decides what is worth saying, the shell says it.
struct Note {
  enum class Level { kDebug, kInfo, kWarn, kError };
  Level level = Level::kInfo;
  std::string text;
};

struct NodeEffects {
  std::vector<store::Job> store_jobs;  // 1. Persist.
  std::vector<Outgoing> messages;      // 2. Then send, in this order.
  std::vector<Note> notes;

  bool empty() const { return store_jobs.empty() && messages.empty() && notes.empty(); }
};

class NodeCore {
 public:
  // `handler` must outlive the core.
  NodeCore(NodeCoreOptions options, entity::Handler& handler, TimePoint start);
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // A message from the broker, decoded. `route` is the client route of a
  // request (empty for anything else). What the node does not take (a reply,
  // a heartbeat for a voter it is not, ...) is counted as a bad message.
  void Step(std::string_view route, protocol::Message message, TimePoint now);
  // A message the shell could not decode: counted and noted, nothing else.
  void HandleBadMessage(std::string_view why);
  // A store result, with the generation that produced it.
  void HandleStoreResult(store::Done done, TimePoint now);
  // The store reports `generation` with no result to carry it (a
  // reconnection found between batches). Nothing happens if it is not new.
  void HandleStoreGeneration(StoreGeneration generation, TimePoint now);
  // Time passes: heartbeats and claim repairs when a heartbeat interval is
  // due, back-offs that ended, idle passivation. Harmless at any rate.
  void Advance(TimePoint now);
  // Graceful stop: tells the broker this node is going, refuses new
  // requests, finishes mailboxes and releases every name.
  void BeginDrain(TimePoint now);

  // Runs the cores until quiet and moves out what they produced.
  NodeEffects TakeEffects(TimePoint now);

  // When Advance next has work to do.
  TimePoint NextWake() const;
  // True once draining and no worker and no store job is left.
  bool Drained() const { return runtime_.Drained(); }
  // Releases sent and not yet acknowledged by every voter.
  bool releases_pending() const { return claimant_.releases_pending(); }
  // Set when another live process runs under this id: the shell exits.
  const Status& fatal() const { return fatal_; }

  // The serving rule for `name` (for checkers).
  bool MayServe(std::string_view name, TimePoint now) const {
    return claimant_.MayServe(name, now);
  }
  std::size_t worker_count() const { return runtime_.worker_count(); }
  Incarnation incarnation() const { return options_.incarnation; }
  std::uint64_t bad_messages() const { return bad_messages_; }
  StoreGeneration store_generation() const { return store_generation_; }
  const std::vector<NodeId>& voters() const { return voters_; }
  const lock::Claimant& claimant() const { return claimant_; }
  const lock::Voter* voter() const { return voter_ ? &*voter_ : nullptr; }
  const entity::Runtime& runtime() const { return runtime_; }

  // Aborts (TENURE_CHECK) if an invariant of the core or its parts is broken.
  void CheckInvariants(TimePoint now) const;

 private:
  void Pump(TimePoint now);
  void OnLockEvent(const lock::LockEvent& e, TimePoint now);
  void SendBrokerHeartbeat(TimePoint now);
  void Emit(protocol::Message message, std::string route = {});
  void Say(Note::Level level, std::string text);

  // Constant after construction.
  const NodeCoreOptions options_;
  const std::vector<NodeId> voters_;  // Witness included.

  lock::Claimant claimant_;
  std::optional<lock::Voter> voter_;  // Set when this node votes.
  entity::Runtime runtime_;

  TimePoint next_tick_;
  bool draining_ = false;
  StoreGeneration store_generation_;  // Of the results taken so far: invariant (2).
  std::uint64_t broker_heartbeat_seq_ = 0;
  std::uint64_t bad_messages_ = 0;
  Status fatal_;
  NodeEffects effects_;
};

}  // namespace tenure::node
