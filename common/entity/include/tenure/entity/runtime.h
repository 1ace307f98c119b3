// Runtime: the entity workers of one node, as a pure state machine.
//
// Each entity this node serves has a lightweight worker (a struct, not a
// thread): its cached row, its fencing epoch and a bounded mailbox. Requests are
// executed one at a time per worker (turn-based); a `get` of an active worker is
// answered from the cache, a `set` goes to the store and is answered after the
// commit. The runtime never touches sockets, the store or a clock: the shell
// feeds it requests, store results, lock decisions and ticks with `now`, and
// carries out the Effects it returns in order: store calls first, then
// replies and events (persist, then send).
//
// Worker lifecycle:
//
//                  (none)
//                    |
//                    | request (emits a claim)
//                    v
//                kClaiming ------------------------------------------> (none)
//                    |            denied, failed, lost, draining
//                    | granted
//                    v
//    +---------> kActivating ----------------------------------------> (none)
//    |              |  ^  ^ |       lost; activation failed; read but it
//    |              |  |  +-+       may not serve; store reopened and it
//    |              |  |    store   may not serve
//    |              |  |    reopened, may serve: activates again
//    |    row read, |  |
//    |    may serve |  | restart, may serve: the handler threw or gave
//    |              |  | a bad state, a write was fenced, a create lost
//    |              v  | a race, the store reopened
//    |             kActive ------------------------------------------> (none)
//    |                |          lost; a write fenced or a create lost a
//    |                |          race and it may not serve; no entity and
//    |                |          nothing waiting; store reopened and it
//    |                |          may not serve
//    |   idle (Tick), |
//    |       draining |
//    |                v
//    +---------- kPassivating --------------------------------------> (none)
//      requests waiting when        row closed and nothing waiting (or
//      the row is closed            draining); lost
//
// | transition                 | function                                         |
// |----------------------------|--------------------------------------------------|
// | (none) -> kClaiming        | HandleRequest (emits a claim)                    |
// | kClaiming -> kActivating   | HandleGranted (emits an ActivateOp; a create at  |
// |                            | the mailbox head is folded into the activation   |
// |                            | and answered by it)                              |
// | kClaiming -> (none)        | HandleDenied (forwards once), HandleFailed,      |
// |                            | HandleLost, BeginDrain (emits a release)         |
// | kActivating -> kActive     | OnActivated (row read, MayServe holds)           |
// | kActivating -> kActivating | HandleStoreReopened -> Restart (re-issued)       |
// | kActivating -> (none)      | OnActivated (store error: emits a release;       |
// |                            | MayServe fails: HandleLost), HandleLost,         |
// |                            | HandleStoreReopened (may not serve)              |
// | kActive -> kActivating     | Restart, from ExecuteSet (handler threw or gave  |
// |                            | an unknown state), OnWritten (fenced, or create  |
// |                            | conflict, while MayServe holds),                 |
// |                            | HandleStoreReopened (MayServe holds)             |
// | kActive -> kPassivating    | Passivate, from Tick (idle), BeginDrain, Pump    |
// |                            | (draining)                                       |
// | kActive -> (none)          | HandleLost (also from Pump and OnWritten when    |
// |                            | MayServe fails), Pump (no entity and nothing     |
// |                            | waiting: emits a release), HandleStoreReopened   |
// |                            | (may not serve)                                  |
// | kPassivating -> kActivating| OnTenureClosed (requests waiting, not draining:  |
// |                            | a new tenure; no new claim, the lock was kept)   |
// | kPassivating -> (none)     | OnTenureClosed (emits a release), HandleLost     |
//
// Every (re)start (HandleRequest, Restart, OnTenureClosed) begins a new run of
// the worker (a WorkerRun number); store results carry the run of the worker
// that asked.
//
// Guarantees per phase:
// - kClaiming, kActivating: requests wait in the mailbox; nothing is answered
//   from memory (there is no cache yet).
// - kActive: the cache equals the committed row of this worker's epoch, unless
//   the store fences the next write (then the worker restarts or stops).
// - kActive for an id with no entity: the mailbox is answered from that
//   activation's read, then the worker is dropped. Absence is never cached,
//   so a create committed meanwhile is always seen by the next request.
// - kPassivating: no request is executed; new ones wait, and once the tenure
//   is closed the worker activates again (a new tenure) without claiming: the
//   node kept the lock while the row was being closed.
//
// Invariants:
// (1) At most one store write per worker is in flight (turn-based execution),
//     not counting writes of an older store generation, which the store
//     refuses (HandleStoreReopened).
// (2) The cache changes only from a committed store result of the worker's
//     current run.
// (3) A store result of an older run of the worker never changes it;
//     its request is still answered from that result.
// (4) Every request received is answered exactly once.
// (5) idle_order_ (idle_front_ .. idle_back_, linked through the workers) holds
//     exactly the workers with in_idle_order set, idle_count_ of them, least
//     recently used first.
//
// A create folded into an activation is a write in flight like a CreateOp:
// once sent, it is answered from its store result only (created, conflict,
// or the error that wrote nothing), even if the worker is gone by then. It
// can commit after the node lost the name, as a CreateOp sent just before
// the loss can: the store inserts only where no row exists and takes an
// epoch above every epoch the id had, in the same transaction, so it
// overwrites nothing and the next owner's activation fences it out.
// A create_state the schema refuses fails the activation as a whole, and
// the requests behind it with it (the runtime checks states first, so only
// a schema that disagrees with the build can do that).
//
// Memory: a node may hold a million active workers, so a worker is a value in
// workers_ (no allocation of its own), is linked into idle_order_ through
// itself, keeps its id only as the map's key, and has a mailbox only while a
// request waits.
//
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tenure/base/strong_id.h"
#include "tenure/base/time.h"
#include "tenure/entity/authority.h"
#include "tenure/entity/handler.h"
#include "tenure/entity/id_hash.h"
#include "tenure/protocol/messages.h"
#include "tenure/store/store.h"

namespace tenure::entity {

// Which (re)start of a worker a store call belongs to (invariant (3)).
using WorkerRun = Strong<struct WorkerRunTag, std::uint64_t>;

struct RuntimeOptions {
  NodeId node_id;
  Duration idle = std::chrono::minutes(10);  // Passivate after this long unused.
  std::size_t mailbox_depth_max = 1024;      // Requests queued per worker.
};

struct StoreCall {
  std::uint64_t ticket = 0;  // Passed back to HandleStoreResult.
  store::StoreOp op;
};

struct ReplyTo {
  std::string route;  // Opaque client route from the request's envelope.
  protocol::Reply reply;
};

// A request sent on, once, to the node that holds its entity.
struct Forward {
  std::string route;          // The client's route: the reply goes straight back.
  protocol::Request request;  // via = the holder, forwarded = true.
};

// Outputs, carried out in this order by the shell.
struct Effects {
  std::vector<StoreCall> store_calls;  // 1. Persist.
  std::vector<ReplyTo> replies;        // 2. Send.
  std::vector<Forward> forwards;
  std::vector<protocol::Event> events;
  std::vector<EntityId> claims;    // Names to acquire; answered by HandleGranted/HandleLost.
  std::vector<EntityId> releases;  // Names this node no longer needs.

  bool empty() const {
    return store_calls.empty() && replies.empty() && forwards.empty() && events.empty() &&
           claims.empty() && releases.empty();
  }
};

struct RuntimeStats {
  std::uint64_t cache_reads = 0;   // gets answered from memory.
  std::uint64_t activations = 0;   // ActivateOps issued (store reads of a row).
  std::uint64_t writes = 0;        // WriteOps and CreateOps issued.
  std::uint64_t restarts = 0;      // Workers restarted after a handler threw or a fence.
  std::uint64_t busy_replies = 0;  // Requests refused for a full mailbox.
  std::uint64_t forwards = 0;      // Requests sent on to the holder.
};

class Runtime {
 public:
  // `authority` and `handler` must outlive the runtime.
  Runtime(RuntimeOptions options, const Authority& authority, Handler& handler);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  void HandleRequest(std::string route, protocol::Request request, TimePoint now);
  void HandleStoreResult(std::uint64_t ticket, store::StoreResult result, TimePoint now);
  // The lock layer granted `id` to this node.
  void HandleGranted(const EntityId& id, TimePoint now);
  // The lock layer says this node may no longer serve `id`: its worker stops.
  void HandleLost(const EntityId& id, TimePoint now);
  // The claim for `id` was denied by a majority; `holder` (may be empty) holds
  // it. Waiting requests go on to the holder once, or fail as unavailable.
  void HandleDenied(const EntityId& id, const NodeId& holder, TimePoint now);
  // The claim for `id` found no majority in time: waiting requests fail.
  void HandleFailed(const EntityId& id, TimePoint now);
  // The store reconnected to its database, which may be another copy now
  // (an older one put back after the file was deleted): nothing cached may be
  // trusted. Every worker with a cache, or an activation in flight, activates
  // again (a new tenure and epoch read from the database as it is now); the
  // results still in flight are discarded (invariant (3)). Workers this node
  // may no longer serve stop.
  //
  // Why serving again is safe: the shell stamps every store call with the
  // store generation it knows, and the store refuses older stamps, so no
  // epoch or version read from the lost file ever reaches the new one. And a
  // write applies only while the row still has the (epoch, version) its
  // worker read, in whichever file: a write that passes the fence finds
  // exactly the row its worker saw.
  void HandleStoreReopened(TimePoint now);
  // Passivates workers idle for options.idle.
  void Tick(TimePoint now);
  // Graceful stop: refuse new requests, finish mailboxes, release every worker.
  void BeginDrain(TimePoint now);
  // True once draining and no worker and no store call is left.
  bool Drained() const;

  // Moves out what the calls so far produced.
  Effects TakeEffects();

  // When Tick next has work to do; nullopt means never (no active worker).
  std::optional<TimePoint> NextDeadline() const;
  std::size_t worker_count() const { return workers_.size(); }
  const RuntimeStats& stats() const { return stats_; }

  // Aborts (TENURE_CHECK) if invariant (1) or (5) is broken. Linear in the
  // workers and store calls in flight: for tests and the simulator.
  void CheckInvariants() const;

 private:
  struct Worker;
  struct Pending;
  struct Mailbox;
  struct Ticket;

  Worker* Find(std::string_view id);
  void Enqueue(Worker& w, Pending p);
  // Frees w's mailbox (all of it answered or moved on), or keeps it as the spare.
  void DropMailbox(Worker& w);
  void Pump(Worker& w, TimePoint now);
  void Execute(Worker& w, Pending p, TimePoint now);
  void ExecuteSet(Worker& w, Pending p);
  void ExecuteCreate(Worker& w, Pending p);
  void Activate(Worker& w);
  void Restart(Worker& w);
  WorkerRun NewRun() {
    WorkerRun run = next_run_;
    next_run_ = Next(next_run_);
    return run;
  }
  void Passivate(Worker& w, const char* reason);
  void Remove(Worker& w);
  void FailMailbox(Worker& w, const Status& status);
  // Moves w to the back of idle_order_ (most recently used).
  void Touch(Worker& w, TimePoint now);
  // Takes w out of idle_order_ if it is in it.
  void Unlink(Worker& w);

  void OnActivated(Ticket t, store::StoreResult r, TimePoint now);
  std::optional<protocol::Event> AnswerFoldedCreate(const Ticket& t, const store::StoreResult& r);
  void OnWritten(Ticket t, store::StoreResult r, TimePoint now);
  void OnTenureClosed(Ticket t);
  void OnListed(Ticket t, store::StoreResult r);

  std::uint64_t Call(store::StoreOp op, Ticket t);
  void Reply(const std::string& route, protocol::Reply reply);
  void ReplyError(const std::string& route, std::uint64_t request_id, const Status& status);
  protocol::EntityView View(const Worker& w) const;

  // Constant after construction.
  const RuntimeOptions options_;
  const Authority& authority_;
  Handler& handler_;

  // Iterated only where the order of the effects does not matter
  // (HandleStoreReopened, BeginDrain); IdHash keeps std::hash's order anyway.
  std::unordered_map<std::string, Worker, IdHash, std::equal_to<>> workers_;
  // idle_order_: active workers, least recently used first (invariant (5)).
  Worker* idle_front_ = nullptr;
  Worker* idle_back_ = nullptr;
  std::size_t idle_count_ = 0;
  std::unique_ptr<Mailbox> spare_mailbox_;             // Empty; reused by the next Enqueue.
  std::unordered_map<std::uint64_t, Ticket> tickets_;  // Store calls in flight.
  std::uint64_t next_ticket_ = 1;
  WorkerRun next_run_{1};
  bool draining_ = false;
  Effects effects_;
  RuntimeStats stats_;
};

}  // namespace tenure::entity
