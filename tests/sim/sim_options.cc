#include "sim/sim_options.h"

#include <array>
#include <utility>

namespace tenure::sim {
namespace {

constexpr std::array<std::pair<std::string_view, FaultKind>, 6> kKinds = {{
    {"pause", FaultKind::kPause},
    {"crash", FaultKind::kCrash},
    {"cut", FaultKind::kCut},
    {"twin", FaultKind::kTwin},
    {"broker", FaultKind::kBroker},
    {"reopen", FaultKind::kReopen},
}};

}  // namespace

bool ParseMisconfig(std::string_view text, Misconfig& out) {
  constexpr std::array<std::pair<std::string_view, Misconfig>, 4> kNames = {{
      {"none", Misconfig::kNone},
      {"subset", Misconfig::kSubset},
      {"disjoint", Misconfig::kDisjoint},
      {"lease", Misconfig::kLease},
  }};
  for (const auto& [name, m] : kNames) {
    if (name == text) {
      out = m;
      return true;
    }
  }
  return false;
}

std::string_view FaultKindName(FaultKind kind) {
  for (const auto& [name, k] : kKinds) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

bool ParseFaultKinds(std::string_view text, std::vector<FaultKind>& out) {
  std::vector<FaultKind> kinds;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    bool found = false;
    for (const auto& [n, k] : kKinds) {
      if (n == name) {
        kinds.push_back(k);
        found = true;
      }
    }
    if (!found) {
      return false;
    }
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (kinds.empty()) {
    return false;
  }
  out = std::move(kinds);
  return true;
}

std::string FaultKindsToString(const std::vector<FaultKind>& kinds) {
  std::string out;
  for (FaultKind k : kinds) {
    out += out.empty() ? "" : ",";
    out += FaultKindName(k);
  }
  return out;
}

}  // namespace tenure::sim
