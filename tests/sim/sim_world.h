// SimWorld: one deterministic run of whole tenure nodes (DESIGN §4, §5):
// the real node::NodeCore of every worker_node (lock Claimant, Voter, entity
// Runtime and their wiring), standalone lock::Voters and the broker's real
// RouterCore, over a simulated network, clock and store.
//
// Real time (microseconds) drives an event heap ordered by (time, sequence).
// Every process has its own clock, local = offset + rate * t with
// |rate - 1| <= drift, drawn again at every start. Processes are
//   - nodes ("A", "B", ..): a NodeCore each, woken at its NextWake() (which
//     sends heartbeats, repairs claims and ends back-offs) and at every input,
//     as the node shell is. Its store jobs go to the SimStore in FIFO
//     batches (one per TakeEffects, as the writer thread commits them), each
//     after a delay that is sometimes long, sometimes failing as a whole, and
//     stamped with the node's store generation, which a "reopen" fault
//     bumps. The handler throws now and then while faults are on, so that
//     workers restart. A voting node's core holds the Voter of its id;
//   - voters of their own ("v1", ..) when there are more voters than nodes, or
//     all of them without `colocate`;
//   - the broker ("@broker"): every message passes it, and is lost while it
//     is down. It routes client requests and forwards with RouterCore (which
//     learns owners from the replies passing it), lock traffic for a node id
//     with RouterCore too, fed by the nodes' broker heartbeats (or, with
//     Routing::kLastSender, to the process that last sent under the id), and
//     holds the witness voter when the configured voter count is even;
//   - clients: a request every few tens of ms, get or set on a random name,
//     through the broker (entering at a random node or where the broker
//     routes it); the reply is checked on arrival.
// Lock messages go through the SimNetwork in one hop: the broker decides
// where a message goes as it arrives, on the broker's clock. A paused process
// queues its inputs while its clock runs; a crashed one loses everything and
// restarts with a new incarnation and a new clock. After every event the
// checkers of checkers.h and every core's CheckInvariants() run; the first
// violation ends the run.
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

#include "tenure/entity/handler.h"
#include "tenure/lock/voter.h"
#include "tenure/node/node_core.h"
#include "tenure/router/router_core.h"
#include "tenure/store/store.h"

#include "sim/checkers.h"
#include "sim/sim_network.h"
#include "sim/sim_options.h"
#include "sim/sim_random.h"
#include "sim/sim_store.h"

namespace tenure::sim {

struct SimStats {
  std::uint64_t events = 0;
  std::uint64_t messages = 0;
  std::uint64_t requests = 0;
  std::uint64_t reads = 0;
  std::uint64_t writes_acked = 0;
  std::uint64_t errors = 0;  // Requests answered with an error (retryable).
  std::uint64_t store_batches = 0;
  std::uint64_t batch_faults = 0;  // Store batches failed as a whole.
  std::uint64_t activations = 0;
  std::uint64_t handler_throws = 0;
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
  struct Proc;
  struct Target {
    Proc* proc = nullptr;   // nullptr: the message is lost.
    std::uint64_t gen = 0;  // The process start it is for; 0: whichever runs.
  };
  using Input = std::function<void(Proc&)>;
  using Message = std::variant<protocol::Heartbeat, protocol::LockMessage>;
  struct ClientRequest {
    std::string name;
    protocol::Op op = protocol::Op::kGet;
    Version acked_before;  // Newest version acknowledged when it was sent.
    bool answered = false;
  };
  // Throws now and then while faults are on: the runtime restarts the worker.
  class FaultyHandler final : public entity::Handler {
   public:
    explicit FaultyHandler(SimWorld& world) : world_(world) {}
    std::string NextState(const protocol::EntityView& current,
                          const protocol::Request& request) override;

   private:
    SimWorld& world_;
  };

  // Event heap.
  void At(SimTime at, std::function<void()> fn);
  SimTime AfterLocal(const Proc& p, Duration local) const;
  TimePoint LocalNow(const Proc& p) const;
  bool Faulty() const { return now_ < t_fault_; }

  // Processes.
  Proc& AddProc(const std::string& id, Kind kind, const std::string& label);
  void Start(Proc& p);
  void StartNode(Proc& p);
  void Restart(Proc& p);
  void Crash(Proc& p, double down_ms, const char* why);
  void Pause(Proc& p, double duration_ms);
  void Resume(Proc& p, std::uint64_t gen);
  // Runs `input` in `p` now, queues it if `p` is paused, drops it if `p` is
  // down or (gen != 0) restarted since.
  void Dispatch(Proc& p, std::uint64_t gen, Input input);
  // The newest process started under `id`.
  Proc& Newest(const std::string& id);

  // Network and broker. Every message passes the broker: it is lost while
  // the broker is down.
  void Send(Proc& from, const std::string& to, Message message);
  void Deliver(const std::string& to, const Message& message, const std::string& from_route);
  // Where a message for `id` goes now; `incarnation` as the broker's
  // RouteOfNode takes it (0: the current process of the id).
  Target Resolve(const std::string& id, Incarnation incarnation);
  // A client request, or a node's forward of one, reaching the broker.
  void RouteRequest(const std::string& route, const protocol::Request& request);

  // Voters and the broker.
  void VoterTick(Proc& p);
  void FlushVoter(Proc& p);
  void BrokerTick(Proc& p);
  void StepVoter(Proc& p, const lock::Voter& voter, const Input& step,
                 const std::vector<protocol::LockItem>& items);

  // Nodes.
  void FlushNode(Proc& p);
  void ScheduleWake(Proc& p);
  void SubmitJobs(Proc& p, std::vector<store::Job> jobs);
  void Reopen(Proc& p);
  SimTime StoreDelay();

  // Clients.
  void NextRequest();
  void OnReply(const protocol::Reply& reply, const std::string& route, const std::string& from);

  // Faults.
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
  std::vector<std::string> configured_voters_;  // voter_ids_ without the witness: --voters.
  std::vector<std::string> fault_ids_;          // One per process id, voters first.
  std::vector<std::string> names_;

  SimRandom rng_;
  SimNetwork network_;
  SimStore store_;
  LivenessChecker liveness_;
  FaultyHandler handler_{*this};

  SimTime now_ = 0;
  struct Event;
  std::vector<Event> heap_;
  std::uint64_t event_seq_ = 0;

  std::vector<std::unique_ptr<Proc>> procs_;  // Every process ever started, twins included.
  Proc* broker_ = nullptr;
  std::unique_ptr<broker::RouterCore> router_;       // The broker's; replaced when it restarts.
  std::map<std::string, Target> routes_;             // ROUTER identity -> process incarnation.
  std::map<std::string, Proc*> standalone_;          // Voter-only processes and the broker, by id.
  std::map<std::string, Proc*> last_sender_;         // Routing::kLastSender: id -> process.
  std::map<std::string, Version> acked_;             // name -> newest version acknowledged.
  std::map<std::uint64_t, ClientRequest> requests_;  // request id -> what the client sent.
  std::uint64_t request_seq_ = 0;

  std::optional<Violation> violation_;
  double violation_at_ms_ = 0;
  std::deque<std::string> tail_;
  std::uint64_t trace_hash_ = 14695981039346656037ULL;
  SimStats stats_;
};

// One run: SimWorld(options, seed).Run().
RunResult RunSeed(const SimOptions& options, std::uint64_t seed);

}  // namespace tenure::sim
