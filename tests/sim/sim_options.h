// SimOptions: every parameter of a simulated run of the lock table (DESIGN §4),
// with its default: three voting nodes and two names under a minute of faults,
// then a calm end (DESIGN §8). Times are real-time milliseconds unless the name
// says otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenure/lock/rules.h"

namespace tenure::sim {

enum class FaultKind {
  kPause,   // SIGSTOP: inputs queue, the clock runs; resumed later.
  kCrash,   // kill -9 and restart: new incarnation, new clock, volatile state lost.
  kCut,     // One direction between a node and a voter stops carrying messages.
  kTwin,    // A node is paused and a second process starts under its id.
  kBroker,  // The broker crashes and restarts: routes and its witness voter lost.
  kReopen,  // A node's store connection is replaced: a new store generation.
};

// How the broker routes lock traffic for a node id.
enum class Routing {
  // As tenure's broker (tenure/router/router_core.h, the real RouterCore): a new
  // incarnation takes over an id only once the current one's session lapsed
  // at the broker; replies go to the incarnation they name.
  kBroker,
  // Last-sender routing: everything for an id goes to whichever process last
  // sent a message under that id, whatever its incarnation, so a twin and its
  // original receive each other's replies.
  kLastSender,
};

// A node ("R") whose settings disagree with the cluster's, as an operator's
// mistake makes one: the cluster must refuse it (DESIGN §4.9).
enum class Misconfig {
  kNone,
  kSubset,    // --voters lists one of the cluster's voters only.
  kDisjoint,  // --voters lists itself only: it votes for itself.
  kLease,     // The cluster's voters, a lease three times as long.
};

std::string_view FaultKindName(FaultKind kind);
// "none", "subset", "disjoint", "lease"; false for anything else.
bool ParseMisconfig(std::string_view text, Misconfig& out);
// Parses a comma list such as "pause,crash,cut,cut,cut,twin" (repeats weight
// a kind). False if a name is unknown or the list is empty.
bool ParseFaultKinds(std::string_view text, std::vector<FaultKind>& out);
std::string FaultKindsToString(const std::vector<FaultKind>& kinds);

struct SimOptions {
  // Cluster. Nodes are "A", "B", ...; the first `voters` of them are voting
  // nodes. As tenure runs them, a voting node's process holds the Voter of its
  // id (one clock; paused, crashed and twinned together) and reaches even its
  // own voter through the broker. Voters beyond the node count are processes
  // of their own ("v4", ...). An even count gets the broker's witness voter
  // ("@broker") added, as the broker does. With `colocate` false every voter
  // is a process of its own ("v1", "v2", ...), apart from every node.
  int voters = 3;
  int nodes = 3;
  int names = 2;
  bool colocate = true;
  Routing routing = Routing::kBroker;
  Misconfig misconfig = Misconfig::kNone;  // Adds node "R" with other settings.

  lock::LockRules rules;     // Safety rules of the lock code (all on by default).
  bool fence = true;         // The store rejects writes with an old epoch.
  double lease_ms = 2000.0;  // Heartbeats every lease / 4 of local time.
  double margin_ms = 50.0;
  double drift = 0.01;  // |clock rate - 1| bound, per process, against real time.

  double t_fault_ms = 60000.0;  // Faults start in [0, t_fault); then all cuts heal.
  double t_end_ms = 110000.0;

  // Network, while faults are on (afterwards: no loss, no duplicates, short delays).
  double drop = 0.05;
  double dup = 0.03;
  double delay_min_ms = 1.0;
  double delay_max_ms = 20.0;
  double p_long = 0.05;  // Chance of a long delay, up to long_max (reorders).
  double long_max_ms = 3000.0;

  // Faults: one every Exponential(fault_gap), its kind drawn from `kinds`.
  double fault_gap_ms = 1500.0;
  std::vector<FaultKind> kinds = {FaultKind::kPause,  FaultKind::kCrash, FaultKind::kCut,
                                  FaultKind::kCut,    FaultKind::kCut,   FaultKind::kTwin,
                                  FaultKind::kBroker, FaultKind::kReopen};
  double pause_max_leases = 3.0;
  double down_max_leases = 2.0;
  double cut_max_leases = 3.0;

  // Store: each operation takes a short delay, sometimes a long one while
  // faults are on (a slow disk or a lock wait).
  double store_min_ms = 0.5;
  double store_max_ms = 5.0;
  double store_slow_p = 0.03;
  double store_slow_min_ms = 100.0;
  double store_slow_max_ms = 3000.0;
  double store_fail_p = 0.02;  // A batch fails as a whole (disk full), nothing written.

  // Chance that the application's handler throws on a set while faults are
  // on: the runtime answers it unavailable and restarts the worker.
  double throw_p = 0.02;

  // Workload and workers.
  double request_gap_min_ms = 20.0;
  double request_gap_max_ms = 150.0;
  double get_fraction = 0.7;
  // Chance that a request goes where the broker routes it (the node that
  // last answered for its name, DESIGN §5) instead of entering at a node
  // picked at random, which forwards it to the holder.
  double route_to_owner = 0.5;
  double idle_ms = 5000.0;  // Passivation.

  // After heal, every name is served again within this many leases. The
  // workload must reach the owner often enough for it: with short leases
  // raise it (requests arrive every 20-150 ms whatever the lease).
  double liveness_bound_leases = 4.0;

  std::size_t tail = 40;          // Trace lines kept for the report.
  bool verbose = false;           // Print every trace line as it happens.
  bool trace_heartbeats = false;  // Also trace HEARTBEAT and HB_ACK deliveries.
};

}  // namespace tenure::sim
