#include "common/lock/rules.h"

#include <array>
#include <utility>

namespace tenure::lock {
namespace {

constexpr std::array<std::pair<std::string_view, bool LockRules::*>, 6> kRules = {{
    {"claim_numbers", &LockRules::claim_numbers},
    {"no_break", &LockRules::no_break},
    {"incarnation_echo", &LockRules::incarnation_echo},
    {"quiet_period", &LockRules::quiet_period},
    {"session_margin", &LockRules::session_margin},
    {"release_repeat", &LockRules::release_repeat},
}};

bool Set(LockRules& rules, std::string_view name, bool on) {
  for (const auto& [n, member] : kRules) {
    if (n == name) {
      rules.*member = on;
      return true;
    }
  }
  return false;
}

}  // namespace

bool LockRules::Parse(std::string_view text, LockRules& out) {
  LockRules rules;
  if (text == "all") {
    out = rules;
    return true;
  }
  const bool all_but = text.rfind("all-", 0) == 0;
  if (all_but) {
    text.remove_prefix(4);
  } else {
    for (const auto& [n, member] : kRules) {
      rules.*member = false;
    }
    if (text == "none") {
      out = rules;
      return true;
    }
  }
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    if (!Set(rules, name, !all_but)) {
      return false;
    }
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  out = rules;
  return true;
}

std::vector<std::string> EffectiveVoters(const std::vector<std::string>& voters,
                                         const std::string& self) {
  if (voters.empty()) {
    return self.empty() ? std::vector<std::string>{} : std::vector<std::string>{self};
  }
  std::vector<std::string> out = voters;
  if (out.size() % 2 == 0) {
    out.emplace_back(kWitnessId);
  }
  return out;
}

std::string LockRules::ToString() const {
  std::string out;
  for (const auto& [n, member] : kRules) {
    if (this->*member) {
      out += out.empty() ? "" : ",";
      out += n;
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace tenure::lock
