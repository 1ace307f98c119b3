#include "sim/sim_store.h"

#include <variant>

#include "tenure/base/check.h"

namespace tenure::sim {
namespace {

store::StoreResult Fenced(const std::string& what) {
  store::StoreResult r;
  r.status = Status::Unavailable(what + " was fenced: ownership moved; retry");
  r.fenced = true;
  return r;
}

// As BatchWriter::DependsOnCache: what carries an epoch or a version read
// from the database.
bool DependsOnCache(const store::StoreOp& op) {
  return !std::holds_alternative<store::ListOp>(op) &&
         !std::holds_alternative<store::HistoryOp>(op);
}

}  // namespace

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

SimStore::Row* SimStore::Find(const std::string& name) {
  auto it = rows_.find(name);
  return it == rows_.end() ? nullptr : &it->second;
}

std::optional<std::string> SimStore::Committed(const std::string& name, Version version) const {
  auto it = rows_.find(name);
  if (it == rows_.end()) {
    return std::nullopt;
  }
  auto v = it->second.history.find(version);
  if (v == it->second.history.end()) {
    return std::nullopt;
  }
  return v->second;
}

store::EntityRow SimStore::View(const std::string& name, const Row& r) const {
  store::EntityRow row;
  row.id = EntityId(name);
  row.state = r.state;
  row.version = r.version;
  row.owner_node = NodeId(r.owner);
  row.owner_epoch = r.epoch;
  return row;
}

std::vector<store::StoreResult> SimStore::Apply(std::span<const store::Job> jobs,
                                                StoreGeneration generation,
                                                const std::string& writer) {
  std::vector<store::StoreResult> results;
  results.reserve(jobs.size());
  for (const store::Job& job : jobs) {
    if (job.generation != StoreGeneration(0) && job.generation != generation &&
        DependsOnCache(job.op)) {
      store::StoreResult r;
      r.status = Status::Unavailable("the store reconnected to its database; retry");
      results.push_back(std::move(r));
      continue;
    }
    if (const auto* a = std::get_if<store::ActivateOp>(&job.op)) {
      results.push_back(Activate(*a));
    } else if (const auto* w = std::get_if<store::WriteOp>(&job.op)) {
      results.push_back(Write(*w, writer));
    } else if (const auto* c = std::get_if<store::CreateOp>(&job.op)) {
      results.push_back(Create(*c));
    } else if (const auto* r = std::get_if<store::CloseTenureOp>(&job.op)) {
      results.push_back(CloseTenure(*r));
    } else {
      results.emplace_back();  // List and history: nothing the checkers look at.
    }
  }
  return results;
}

store::StoreResult SimStore::Activate(const store::ActivateOp& op) {
  Row* r = Find(op.id.str());
  store::StoreResult result;
  if (r == nullptr) {
    result.epoch = Epoch{};  // No such entity, ever: the workload asks for known names only.
    return result;
  }
  const Epoch before = r->epoch;
  r->epoch = Next(before);
  r->owner = op.node.str();
  result.epoch = r->epoch;
  result.row = View(op.id.str(), *r);
  if (r->epoch <= before && !violation_) {
    violation_ =
        Violation{ViolationKind::kEpochNotIncreasing, "epoch of " + op.id.str() + " went from " +
                                                          std::to_string(before.value()) + " to " +
                                                          std::to_string(r->epoch.value())};
  }
  return result;
}

store::StoreResult SimStore::Write(const store::WriteOp& op, const std::string& writer) {
  Row* r = Find(op.id.str());
  TENURE_CHECK(r != nullptr);
  TENURE_CHECK(op.epoch <= r->epoch);  // Epochs come from activations only.
  if ((fence_ && op.epoch != r->epoch) || op.expected_version != r->version) {
    return Fenced("write of '" + op.id.str() + "'");
  }
  if (op.epoch < r->epoch && !violation_) {
    violation_ = Violation{ViolationKind::kDeposedWrite,
                           "deposed write to " + op.id.str() + " by " + writer + " with epoch " +
                               std::to_string(op.epoch.value()) + " landed over epoch " +
                               std::to_string(r->epoch.value()) + " (owner " + r->owner + ")"};
  }
  r->version = Next(r->version);
  r->state = op.state;
  r->history.emplace(r->version, op.state);
  store::StoreResult result;
  result.row = View(op.id.str(), *r);
  return result;
}

store::StoreResult SimStore::Create(const store::CreateOp& op) {
  Row* r = Find(op.id.str());
  store::StoreResult result;
  if (r != nullptr) {
    result.status = Status::Conflict("entity '" + op.id.str() + "' exists");
    result.row = View(op.id.str(), *r);
    return result;
  }
  return Fenced("create of '" + op.id.str() + "'");  // Every name exists from the start.
}

store::StoreResult SimStore::CloseTenure(const store::CloseTenureOp& op) {
  if (Row* r = Find(op.id.str()); r != nullptr && r->epoch == op.epoch) {
    r->owner.clear();
  }
  return {};
}

}  // namespace tenure::sim
