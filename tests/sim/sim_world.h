// SimWorld: one deterministic run of the quorum name lock table (DESIGN §4)
// against the real state machines of common/lock, with the faults of
// /work/shared/reference/locksim.py.
//
// Real time (microseconds) drives an event heap ordered by (time, sequence).
// Every process has its own clock, local = offset + rate * t with
// |rate - 1| <= drift, drawn again at every start. Processes are
//   - voters ("v1".., plus the broker's witness "broker" when the configured
//     count is even): a lock::Voter each, ticked every lease / 4 local;
//   - nodes ("A", "B", ..): a lock::Session each, ticked every lease / 4
//     local, plus a worker model per name (locksim's Node): a request checks
//     MayServe, then after a short processing gap answers a get from the
//     cache or writes through the SimStore with the worker's epoch; a request
//     it may not serve makes it Claim; kGranted starts an activation, whose
//     result is used only if the rule held without a break from issue to
//     result (a token bumped at every loss, and the rule is re-checked before
//     every input the node handles).
// Messages go through the SimNetwork; a message for a node id goes to the
// process that last sent under that id (the broker routes that way), so a
// twin and its original can receive each other's replies. A paused process
// queues its inputs while its clock runs; a crashed one loses everything and
// restarts with a new incarnation and a new clock. After every event the
// checkers of checkers.h run; the first violation ends the run.
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
  struct Worker;
  struct Proc;
  using Input = std::function<void(Proc&)>;
  using Message = std::variant<protocol::Heartbeat, protocol::LockMessage>;

  // Event heap.
  void At(SimTime at, std::function<void()> fn);
  SimTime AfterLocal(const Proc& p, Duration local) const;
  TimePoint LocalNow(const Proc& p) const;
  bool Faulty() const { return now_ < t_fault_; }

  // Processes.
  Proc& AddProc(const std::string& id, bool node, const std::string& label);
  void Start(Proc& p);
  void Restart(Proc& p);
  void Crash(Proc& p, double down_ms, const char* why);
  void Pause(Proc& p, double duration_ms);
  void Resume(Proc& p, std::uint64_t gen);
  // Runs `input` in `p` now, queues it if `p` is paused, drops it if `p` is
  // down or (gen != 0) restarted since. `sweep` re-checks the rule first.
  void Dispatch(Proc& p, std::uint64_t gen, Input input, bool sweep = true);
  Proc& Route(const std::string& id);

  // Network.
  void Send(Proc& from, const std::string& to, Message message);
  void Deliver(const std::string& to, const Message& message);

  // Voters.
  void VoterTick(Proc& p);
  void FlushVoter(Proc& p);

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
  std::vector<std::string> voter_ids_;
  std::vector<std::string> node_ids_;
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
  std::map<std::string, Proc*> route_;        // id -> the process messages for it reach.
  std::map<std::string, std::uint64_t> acked_;  // name -> newest version acknowledged.
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
