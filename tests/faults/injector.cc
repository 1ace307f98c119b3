#include "faults/injector.h"

#include <csignal>
#include <fstream>

namespace tenure::faults {

using std::chrono::milliseconds;
using testing::Hold;

std::optional<FaultKind> ParseFaultKind(const std::string& name) {
  for (FaultKind k : {FaultKind::kKill, FaultKind::kPause, FaultKind::kBroker,
                      FaultKind::kPartition, FaultKind::kMix}) {
    if (FaultName(k) == name) {
      return k;
    }
  }
  return std::nullopt;
}

std::string FaultName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKill:
      return "kill";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kBroker:
      return "broker";
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kMix:
      return "mix";
  }
  return "?";
}

Injector::Injector(testing::Cluster& cluster, std::vector<std::string> nodes,
                   std::string fault_file, std::uint64_t seed,
                   std::function<std::string()> owner_of)
    : cluster_(cluster),
      nodes_(std::move(nodes)),
      fault_file_(std::move(fault_file)),
      rng_(seed),
      owner_of_(std::move(owner_of)) {}

milliseconds Injector::Between(int low_ms, int high_ms) {
  return milliseconds(low_ms +
                      static_cast<int>(rng_() % static_cast<std::uint64_t>(high_ms - low_ms + 1)));
}

std::string Injector::Pick(const std::vector<std::string>& from) {
  return from[rng_() % from.size()];
}

std::string Injector::InjectAndHeal(FaultKind kind) {
  if (kind == FaultKind::kMix) {
    kind = static_cast<FaultKind>(rng_() % 4);
  }
  const int lease = static_cast<int>(cluster_.lease().count());
  ++counts_[FaultName(kind)];
  switch (kind) {
    case FaultKind::kKill: {
      const std::string victim = Pick(nodes_);
      const milliseconds down = Between(0, 3 * lease);
      cluster_.Kill(cluster_.node(victim), SIGKILL);
      Hold(down);
      cluster_.StartNode(victim);
      return "kill -9 " + victim + ", restarted after " + std::to_string(down.count()) + " ms";
    }
    case FaultKind::kPause: {
      std::string victim = owner_of_();
      if (victim.empty() || cluster_.node(victim).pid() <= 0) {
        victim = Pick(nodes_);
      }
      // Shorter and longer than a lease: a short pause must not cost the
      // tenure, a long one must depose the owner without a stale reply.
      const milliseconds paused = Between(lease / 2, 3 * lease);
      cluster_.node(victim).Signal(SIGSTOP);
      Hold(paused);
      cluster_.node(victim).Signal(SIGCONT);
      return "SIGSTOP " + victim + " for " + std::to_string(paused.count()) + " ms";
    }
    case FaultKind::kBroker: {
      const milliseconds down = Between(lease / 4, 2 * lease);
      cluster_.Kill(cluster_.broker(), SIGKILL);
      Hold(down);
      cluster_.StartBroker({"--fault-file", fault_file_});
      return "kill -9 broker, restarted after " + std::to_string(down.count()) + " ms";
    }
    case FaultKind::kPartition: {
      const std::string victim = Pick(nodes_);
      const milliseconds cut = Between(lease, 4 * lease);
      std::ofstream(fault_file_) << "isolate " << victim << "\n";
      Hold(cut);
      std::ofstream(fault_file_) << "";
      return "isolate " + victim + " for " + std::to_string(cut.count()) + " ms";
    }
    case FaultKind::kMix:
      break;
  }
  return "nothing";
}

void Injector::HealAll() {
  std::ofstream(fault_file_) << "";
  if (!cluster_.broker().running()) {
    cluster_.StartBroker({"--fault-file", fault_file_});
  }
  for (const std::string& id : nodes_) {
    cluster_.node(id).Signal(SIGCONT);
    if (!cluster_.node(id).running()) {
      cluster_.StartNode(id);
    }
  }
}

}  // namespace tenure::faults
