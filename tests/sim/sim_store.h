// SimStore: the database of DESIGN §3 in memory, applying the store ops the
// real entity runtime issues (store/store.h) with the semantics of the SQLite
// store: activation takes a new epoch, every write is fenced by (epoch,
// version), a create is fenced by the newest epoch the id had, a release
// closes only its own tenure.
//
// Each name starts as an entity at version 1 ("initialized", epoch 0, no
// owner). The store keeps the history of committed states per version, so
// that a read can be checked against what was really committed. With fencing
// off (`fence` false) a write ignores its epoch (the version check stays, as
// in a store that compares versions only); the store then reports a write
// that a fenced store would have refused, which is invariant (c) of
// checkers.h failing.
//
// The world adds delays, batch faults and generations: this class applies a
// batch at the instant it reaches the database.
//
// Not thread-safe: one run, one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tenure/store/store.h"

#include "sim/checkers.h"

namespace tenure::sim {

class SimStore {
 public:
  struct Row {
    std::string state = "initialized";
    Version version{1};
    Epoch epoch;        // The newest epoch the id had.
    std::string owner;  // Empty: no open tenure.
    std::map<Version, std::string> history{{Version{1}, "initialized"}};  // version -> state.
  };

  SimStore(const std::vector<std::string>& names, bool fence);

  // Applies `jobs` as one transaction for the node `writer`, whose store
  // connection is at `generation`: a job stamped with another generation
  // that depends on a cached view is refused, as BatchWriter refuses it.
  // Results in order.
  std::vector<store::StoreResult> Apply(std::span<const store::Job> jobs,
                                        StoreGeneration generation, const std::string& writer);

  // Set once a batch broke invariant (b) or (c); the run ends there.
  const std::optional<Violation>& violation() const { return violation_; }
  const Row& row(const std::string& name) const;
  // nullopt: `version` of `name` was never committed.
  std::optional<std::string> Committed(const std::string& name, Version version) const;

 private:
  store::StoreResult Activate(const store::ActivateOp& op);
  store::StoreResult Write(const store::WriteOp& op, const std::string& writer);
  store::StoreResult Create(const store::CreateOp& op);
  store::StoreResult CloseTenure(const store::CloseTenureOp& op);
  store::EntityRow View(const std::string& name, const Row& r) const;
  Row* Find(const std::string& name);

  const bool fence_;
  std::map<std::string, Row> rows_;
  std::optional<Violation> violation_;
};

}  // namespace tenure::sim
