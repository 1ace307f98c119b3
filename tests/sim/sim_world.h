// SimWorld: one deterministic run of the quorum name lock table (DESIGN §4)
// against the real state machines of common/lock and the broker's real
// RouterCore, under pauses, crashes, one-way cuts, twins and broker restarts.
//
// Real time (microseconds) drives an event heap ordered by (time, sequence).
// Every process has its own clock, local = offset + rate * t with
// |rate - 1| <= drift, drawn again at every start. Processes are
//   - nodes ("A", "B", ..): a lock::Session each, ticked every lease / 4
//     local (which also sends the broker its heartbeat), plus a worker model
//     per name (a small model of entity::Runtime's worker, not the class
//     itself): a request checks MayServe, then after a short processing gap
//     answers a get from the cache or writes through the SimStore with the
//     worker's epoch; a request it may not serve makes it Claim; kGranted
//     starts an activation, whose result is used only if the rule held
//     without a break from issue to result (a token bumped at every loss; the
//     rule is re-checked before every input the node handles). A voting
//     node's process also holds the lock::Voter of its id;
//   - voters of their own ("v1", ..) when there are more voters than nodes, or
//     all of them without `colocate`;
//   - the broker ("@broker"): every message passes it, and is lost while it
//     is down. It routes lock traffic for a node id with broker::RouterCore,
//     fed by the nodes' broker heartbeats (or, with Routing::kLastSender, to
//     whichever process last sent under the id, whatever its incarnation),
//     and holds the witness voter when the configured voter count is even.
// Messages go through the SimNetwork in one hop: the broker decides where a
// message goes as it arrives, on the broker's clock. A paused process queues its inputs
// while its clock runs; a crashed one loses everything and restarts with a
// new incarnation and a new clock. After every event the checkers of
// checkers.h run; the first violation ends the run.
//
// Not thread-safe: one run, one thread. Deterministic: the same options and
// seed give the same run, trace and trace hash.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/router_core.h"
#include "common/lock/session.h"
#include "common/lock/voter.h"
#include "tests/sim/checkers.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_options.h"
#include "tests/sim/sim_random.h"
#include "tests/sim/sim_store.h"

namespace tenure::sim {

struct SimStats {
  std::uint64_t events = 0;
  std::uint64_t messages = 0;
  std::uint64_t requests = 0;
  std::uint64_t reads = 0;
  std::uint64_t writes_acked = 0;
  std::uint64_t writes_fenced = 0;
  std::uint64_t activations = 0;
  std::uint64_t stale_activations = 0;  // Reached the store after the issuer lost the rule.
  std::uint64_t faults = 0;
  std::uint64_t fatal_exits = 0;  // NACKed processes that exited.
};

struct RunResult {
  std::uint64_t seed = 0;
  std::optional<Violation> violation;
  double violation_at_ms = 0;
  std::vector<LivenessFailure> liveness;
  std::deque<std::string> tail;  // The last `tail` trace lines.
  std::uint64_t trace_hash = 0;  // FNV-1a over every trace line of the run.
  SimStats stats;

  bool safe() const { return !violation.has_value(); }
  bool ok() const { return safe() && liveness.empty(); }
};

class SimWorld {
 public:
  SimWorld(const SimOptions& options, std::uint64_t seed);
  ~SimWorld();
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;

  RunResult Run();

 private:
  enum class Status { kDown, kUp, kPaused };
  enum class Kind { kVoter, kNode, kBroker };
  struct Worker;
  struct Proc;
  struct Target {
    Proc* proc = nullptr;   // nullptr: the message is lost.
    std::uint64_t gen = 0;  // The incarnation it is for; 0: whichever runs.
  };
  using Input = std::function<void(Proc&)>;
  using Message = std::variant<protocol::Heartbeat, protocol::LockMessage>;

  // Event heap.
  void At(SimTime at, std::function<void()> fn);
  SimTime AfterLocal(const Proc& p, Duration local) const;
  TimePoint LocalNow(const Proc& p) const;
  bool Faulty() const { return now_ < t_fault_; }

  // Processes.
  Proc& AddProc(const std::string& id, Kind kind, const std::string& label);
  void Start(Proc& p);
  void Restart(Proc& p);
  void Crash(Proc& p, double down_ms, const char* why);
  void Pause(Proc& p, double duration_ms);
  void Resume(Proc& p, std::uint64_t gen);
  // Runs `input` in `p` now, queues it if `p` is paused, drops it if `p` is
  // down or (gen != 0) restarted since. `sweep` re-checks the rule first.
  void Dispatch(Proc& p, std::uint64_t gen, Input input, bool sweep = true);
  // The newest process started under `id`.
  Proc& Newest(const std::string& id);

  // Network and broker. Every message passes the broker: it is lost while
  // the broker is down.
  void Send(Proc& from, const std::string& to, Message message);
  void Deliver(const std::string& to, const Message& message, const std::string& from_route);
  // Where a message for `id` goes now; `incarnation` as the broker's
  // RouteOfNode takes it (0: the current process of the id).
  Target Resolve(const std::string& id, std::uint64_t incarnation);

  // Voters and the broker.
  void VoterTick(Proc& p);
  void FlushVoter(Proc& p);
  void BrokerTick(Proc& p);

  // Nodes and their workers.
  void NodeTick(Proc& p);
  void FlushNode(Proc& p);
  void Sweep(Proc& p);
  void StopWorker(Proc& p, const std::string& name, Worker& w, const char* why);
  void Activate(Proc& p, const std::string& name, Worker& w);
  void OnActivated(Proc& p, const std::string& name, std::uint64_t token,
                   const SimStore::ActivateResult& result);
  void OnRequest(Proc& p, const std::string& name, bool get, const std::string& value);
  void Served(const Proc& p, const std::string& name);
  void DoRequest(Proc& p, const std::string& name, bool get, const std::string& value,
                 std::uint64_t acked_before, std::uint64_t token);
  void OnWrite(Proc& p, const std::string& name, std::uint64_t token, bool ok,
               std::uint64_t version, const std::string& value);
  SimTime StoreDelay();

  // Workload and faults.
  void NextRequest();
  void RandomFault();
  void Twin(const std::string& id, double pause_ms);
  void HealAll();

  // Checkers and trace.
  void Check();
  void Fail(Violation violation);
  void Log(const std::string& who, const char* format, ...) __attribute__((format(printf, 3, 4)));

  // Constant after construction.
  const SimOptions options_;
  const std::uint64_t seed_;
  const lock::LockTiming timing_;
  const SimTime t_fault_;
  const SimTime t_end_;
  std::vector<std::string> node_ids_;
  std::vector<std::string> voter_ids_;
  std::vector<std::string> fault_ids_;  // One per process id, voters first.
  std::vector<std::string> names_;

  SimRandom rng_;
  SimNetwork network_;
  SimStore store_;
  LivenessChecker liveness_;

  SimTime now_ = 0;
  struct Event;
  std::vector<Event> heap_;
  std::uint64_t event_seq_ = 0;

  std::vector<std::unique_ptr<Proc>> procs_;  // Every process ever started, twins included.
  Proc* broker_ = nullptr;
  std::unique_ptr<broker::RouterCore> router_;      // The broker's; replaced when it restarts.
  std::map<std::string, Target> routes_;            // ROUTER identity -> process incarnation.
  std::map<std::string, Proc*> standalone_;         // Voter-only processes and the broker, by id.
  std::map<std::string, Proc*> last_sender_;        // Routing::kLastSender: id -> process.
  std::map<std::string, std::uint64_t> acked_;      // name -> newest version acknowledged.
  std::map<std::string, std::string> last_server_;  // name -> node id that served it last.
  std::uint64_t value_seq_ = 0;

  std::optional<Violation> violation_;
  double violation_at_ms_ = 0;
  std::deque<std::string> tail_;
  std::uint64_t trace_hash_ = 14695981039346656037ULL;
  SimStats stats_;
};

// One run: SimWorld(options, seed).Run().
RunResult RunSeed(const SimOptions& options, std::uint64_t seed);

}  // namespace tenure::sim
