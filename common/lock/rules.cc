#include "tenure/lock/rules.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "tenure/base/check.h"

namespace tenure::lock {
namespace {

constexpr std::array<std::pair<std::string_view, bool LockRules::*>, 7> kRules = {{
    {"claim_numbers", &LockRules::claim_numbers},
    {"no_break", &LockRules::no_break},
    {"incarnation_echo", &LockRules::incarnation_echo},
    {"quiet_period", &LockRules::quiet_period},
    {"session_margin", &LockRules::session_margin},
    {"release_repeat", &LockRules::release_repeat},
    {"settings_check", &LockRules::settings_check},
}};

// In the largest unit that keeps it exact: two leases that differ by a
// nanosecond must not print alike.
std::string DurationText(Duration d) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  if (d % milliseconds(1) == Duration::zero()) {
    return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  }
  if (d % microseconds(1) == Duration::zero()) {
    return std::to_string(duration_cast<microseconds>(d).count()) + "us";
  }
  return std::to_string(std::chrono::nanoseconds(d).count()) + "ns";
}

// The shortest text that reads back as the same double.
std::string DoubleText(double value) {
  std::array<char, 32> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  TENURE_CHECK(error == std::errc());
  return std::string(buffer.data(), end);
}

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

std::vector<NodeId> EffectiveVoters(const std::vector<NodeId>& voters, const NodeId& self) {
  if (voters.empty()) {
    return self.empty() ? std::vector<NodeId>{} : std::vector<NodeId>{self};
  }
  std::vector<NodeId> out = voters;
  if (out.size() % 2 == 0) {
    out.push_back(WitnessId());
  }
  return out;
}

std::string SettingsText(std::vector<NodeId> voters, const LockTiming& timing) {
  std::sort(voters.begin(), voters.end());
  std::string out = "voters=";
  for (std::size_t i = 0; i < voters.size(); ++i) {
    // Node ids have neither (ids.h): the text stays unambiguous.
    TENURE_CHECK(voters[i].str().find_first_of(", ") == std::string::npos);
    out += (i == 0 ? "" : ",") + voters[i].str();
  }
  out += " lease=" + DurationText(timing.lease);
  out += " margin=" + DurationText(timing.margin);
  out += " drift=" + DoubleText(timing.drift);
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
