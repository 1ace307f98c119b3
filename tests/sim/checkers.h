// Checkers: the invariants of DESIGN §4, asked after every event of a run.
//
//   (a) at most one process may serve a name at any instant of real time;
//   (b) owner epochs in the store strictly increase (SimStore);
//   (c) a deposed worker's write never changes the store (SimStore), and a
//       read never returns a version older than one acknowledged before the
//       request arrived, nor one that was never committed;
//   (d) after the faults heal, every name is served again within a bound.
//
// Not thread-safe: one run, one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenure/base/strong_id.h"

#include "sim/sim_network.h"

namespace tenure::sim {

class SimStore;

enum class ViolationKind {
  kDoubleServing,
  kEpochNotIncreasing,
  kDeposedWrite,
  kStaleRead,
  kUncommittedRead,
  kDoubleAnswer,  // A request answered twice (the runtime's invariant (4)).
};

std::string_view ViolationKindName(ViolationKind kind);

struct Violation {
  ViolationKind kind = ViolationKind::kDoubleServing;
  std::string text;
};

// (a): `holders` are the labels of the processes whose serving rule holds for
// `name` now.
std::optional<Violation> CheckOneServer(const std::string& name,
                                        const std::vector<std::string>& holders);

// (c), replies: `version`/`value` is the entity a reply from `node` carries
// (a get answered from the cache, or a set's new version); `acked_before` is
// the newest version acknowledged to a client before the request was sent.
std::optional<Violation> CheckRead(const SimStore& store, const std::string& name,
                                   const std::string& node, Version version,
                                   const std::string& value, Version acked_before);

struct LivenessFailure {
  std::string name;
  double gap_ms = 0;  // Longest stretch after heal with no request served.
};

// (d): records when each name is served after `heal`; a gap longer than
// `bound` (including the one up to the end of the run) is a failure.
class LivenessChecker {
 public:
  LivenessChecker(const std::vector<std::string>& names, SimTime heal, SimTime bound);

  void Served(const std::string& name, SimTime now);
  std::vector<LivenessFailure> Finish(SimTime end) const;
  SimTime heal() const { return heal_; }

 private:
  struct Gap {
    std::optional<SimTime> last;
    SimTime max = 0;
  };

  const SimTime heal_;
  const SimTime bound_;
  std::map<std::string, Gap> gaps_;
};

}  // namespace tenure::sim
