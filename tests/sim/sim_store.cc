#include "tests/sim/sim_store.h"

#include "common/base/check.h"

namespace tenure::sim {

SimStore::SimStore(const std::vector<std::string>& names, bool fence) : fence_(fence) {
  for (const std::string& name : names) {
    rows_.emplace(name, Row{});
  }
}

const SimStore::Row& SimStore::row(const std::string& name) const {
  auto it = rows_.find(name);
  TENURE_CHECK(it != rows_.end());
  return it->second;
}

std::optional<std::string> SimStore::Committed(const std::string& name,
                                               std::uint64_t version) const {
  const Row& r = row(name);
  auto it = r.history.find(version);
  if (it == r.history.end()) {
    return std::nullopt;
  }
  return it->second;
}

SimStore::ActivateResult SimStore::Activate(const std::string& name, const std::string& owner) {
  auto it = rows_.find(name);
  TENURE_CHECK(it != rows_.end());
  Row& r = it->second;
  const std::uint64_t before = r.epoch;
  r.epoch = r.epoch + 1;
  r.owner = owner;
  ActivateResult result{r.epoch, r.version, r.value, std::nullopt};
  if (r.epoch <= before) {
    result.violation = Violation{ViolationKind::kEpochNotIncreasing,
                                 "epoch of " + name + " went from " + std::to_string(before) +
                                     " to " + std::to_string(r.epoch)};
  }
  return result;
}

SimStore::WriteResult SimStore::Write(const std::string& name, std::uint64_t epoch,
                                      const std::string& value, const std::string& writer) {
  auto it = rows_.find(name);
  TENURE_CHECK(it != rows_.end());
  Row& r = it->second;
  TENURE_CHECK(epoch <= r.epoch);  // Epochs come from activations only.
  WriteResult result;
  if (fence_ && epoch != r.epoch) {
    result.version = r.version;
    return result;  // Zero rows changed.
  }
  if (epoch < r.epoch) {
    result.violation = Violation{ViolationKind::kDeposedWrite,
                                 "deposed write to " + name + " by " + writer + " with epoch " +
                                     std::to_string(epoch) + " landed over epoch " +
                                     std::to_string(r.epoch) + " (owner " + r.owner + ")"};
  }
  r.version = r.version + 1;
  r.value = value;
  r.history.emplace(r.version, value);
  result.ok = true;
  result.version = r.version;
  return result;
}

}  // namespace tenure::sim
