// Injects one fault at a time into a local cluster and heals it: kill -9 of a
// node then restart, SIGSTOP/SIGCONT of an entity's owner, kill -9 of the
// broker then restart, and partitions through the broker's test-only fault
// file (docs/OPERATIONS.md). Every process is the Cluster's, stopped by PID.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "integration/cluster.h"

namespace tenure::faults {

enum class FaultKind { kKill, kPause, kBroker, kPartition, kMix };

std::optional<FaultKind> ParseFaultKind(const std::string& name);
std::string FaultName(FaultKind kind);

class Injector {
 public:
  // `owner_of` names a node that owns something now (may return "").
  Injector(testing::Cluster& cluster, std::vector<std::string> nodes, std::string fault_file,
           std::uint64_t seed, std::function<std::string()> owner_of);

  // Injects a fault of `kind` (a random one for kMix), holds it, heals it.
  // Returns a line saying what was done, for the run's log.
  std::string InjectAndHeal(FaultKind kind);
  // Whatever is still broken is mended: processes restarted, resumed, joined.
  void HealAll();

  // Faults injected so far, by kind name.
  const std::map<std::string, int>& counts() const { return counts_; }

 private:
  std::chrono::milliseconds Between(int low_ms, int high_ms);
  std::string Pick(const std::vector<std::string>& from);

  testing::Cluster& cluster_;
  const std::vector<std::string> nodes_;
  const std::string fault_file_;
  std::mt19937_64 rng_;
  std::function<std::string()> owner_of_;
  std::map<std::string, int> counts_;
};

}  // namespace tenure::faults
