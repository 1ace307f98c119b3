#include "sim/checkers.h"

#include <algorithm>

#include "tenure/base/check.h"

#include "sim/sim_store.h"

namespace tenure::sim {

std::string_view ViolationKindName(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kDoubleServing:
      return "double_serving";
    case ViolationKind::kEpochNotIncreasing:
      return "epoch_not_increasing";
    case ViolationKind::kDeposedWrite:
      return "deposed_write";
    case ViolationKind::kStaleRead:
      return "stale_read";
    case ViolationKind::kUncommittedRead:
      return "uncommitted_read";
    case ViolationKind::kDoubleAnswer:
      return "double_answer";
  }
  return "unknown";
}

std::optional<Violation> CheckOneServer(const std::string& name,
                                        const std::vector<std::string>& holders) {
  if (holders.size() <= 1) {
    return std::nullopt;
  }
  std::string who;
  for (const std::string& h : holders) {
    who += who.empty() ? "" : ", ";
    who += h;
  }
  return Violation{ViolationKind::kDoubleServing, name + " served by " + who + " at once"};
}

std::optional<Violation> CheckRead(const SimStore& store, const std::string& name,
                                   const std::string& node, Version version,
                                   const std::string& value, Version acked_before) {
  const std::optional<std::string> committed = store.Committed(name, version);
  if (!committed || *committed != value) {
    return Violation{ViolationKind::kUncommittedRead,
                     "read of " + name + " at " + node + " returned uncommitted v" +
                         std::to_string(version.value()) + "=" + value};
  }
  if (version < acked_before) {
    return Violation{ViolationKind::kStaleRead,
                     "stale read of " + name + " at " + node + ": v" +
                         std::to_string(version.value()) + " but v" +
                         std::to_string(acked_before.value()) +
                         " was acknowledged before the request was sent"};
  }
  return std::nullopt;
}

LivenessChecker::LivenessChecker(const std::vector<std::string>& names, SimTime heal, SimTime bound)
    : heal_(heal), bound_(bound) {
  TENURE_CHECK(bound > 0);
  for (const std::string& name : names) {
    gaps_.emplace(name, Gap{});
  }
}

void LivenessChecker::Served(const std::string& name, SimTime now) {
  if (now < heal_) {
    return;
  }
  auto it = gaps_.find(name);
  TENURE_CHECK(it != gaps_.end());
  Gap& g = it->second;
  g.max = std::max(g.max, now - g.last.value_or(heal_));
  g.last = now;
}

std::vector<LivenessFailure> LivenessChecker::Finish(SimTime end) const {
  std::vector<LivenessFailure> out;
  for (const auto& [name, g] : gaps_) {
    const SimTime gap = std::max(g.max, end - g.last.value_or(heal_));
    if (gap > bound_) {
      out.push_back({name, ToMillis(gap)});
    }
  }
  return out;
}

}  // namespace tenure::sim
