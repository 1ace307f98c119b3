// SimStore: the entities table of DESIGN §3, reduced to what the lock table
// protects: per name an owner epoch, a version, a value and the history of
// committed values.
//
//   Activate: owner_epoch = owner_epoch + 1, returns (epoch, version, value).
//   Write:    version = version + 1 if owner_epoch = the writer's epoch.
//
// With fencing off (`fence` false) a write is applied whatever its epoch; the
// store then reports the write that a fenced store would have refused, which
// is invariant (c) of checkers.h failing. The world adds the delays: this
// class applies an operation at the instant it reaches the database.
//
// Not thread-safe: one run, one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/checkers.h"

namespace tenure::sim {

class SimStore {
 public:
  struct Row {
    std::uint64_t epoch = 0;
    std::uint64_t version = 0;
    std::string value = "v0";
    std::string owner;
    std::map<std::uint64_t, std::string> history{{0, "v0"}};  // version -> committed value.
  };
  struct ActivateResult {
    std::uint64_t epoch = 0;
    std::uint64_t version = 0;
    std::string value;
    std::optional<Violation> violation;  // (b) broken.
  };
  struct WriteResult {
    bool ok = false;  // Applied; false means fenced (zero rows changed).
    std::uint64_t version = 0;
    std::optional<Violation> violation;  // (c) broken: a deposed write landed.
  };

  SimStore(const std::vector<std::string>& names, bool fence);

  ActivateResult Activate(const std::string& name, const std::string& owner);
  WriteResult Write(const std::string& name, std::uint64_t epoch, const std::string& value,
                    const std::string& writer);

  const Row& row(const std::string& name) const;
  // nullopt: `version` of `name` was never committed.
  std::optional<std::string> Committed(const std::string& name, std::uint64_t version) const;

 private:
  const bool fence_;
  std::map<std::string, Row> rows_;
};

}  // namespace tenure::sim
