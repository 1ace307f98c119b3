#include "history/explanation.h"

#include <algorithm>
#include <set>

#include "tenure/base/check.h"

namespace tenure::history::internal {
namespace {

// The claim behind every "stale" diagnosis below, said once.
constexpr const char* kFurthest = "in each ordering of the earlier operations that gets this far,";

std::string Version(std::uint64_t v) { return "v" + std::to_string(v); }

bool IsWrite(const ModelOp& op) { return op.kind != OpKind::kGet; }

bool MayApply(const ModelOp& op) {
  return IsWrite(op) && (op.reply == Reply::kOk || op.reply == Reply::kUnknown);
}

// What the search knows about the states just before the blocked op.
struct Reached {
  explicit Reached(const std::vector<ModelState>& reached) : states(reached) {
    TENURE_CHECK(!states.empty());
    for (ModelState s : states) {
      min_version = std::min(min_version, s.version);
      max_version = std::max(max_version, s.version);
    }
  }
  bool AllPresent() const { return min_version > 0; }
  bool AllAbsent() const { return max_version == 0; }
  // A reached state at `version` whose state is not `state`, if any.
  const ModelState* OtherAt(std::uint64_t version, std::uint32_t state) const {
    for (const ModelState& s : states) {
      if (s.version == version && s.state != state) {
        return &s;
      }
    }
    return nullptr;
  }

  const std::vector<ModelState>& states;
  std::uint64_t min_version = kNoCeiling;
  std::uint64_t max_version = 0;
};

// The lowest version the entity can have right after `op` takes effect.
std::uint64_t VersionFloor(const ModelOp& op) {
  if (op.reply == Reply::kNotFound || op.reply == Reply::kUnknown) {
    return 0;
  }
  if (op.observed) {
    return op.observed->version;
  }
  return op.kind == OpKind::kSet && op.reply == Reply::kOk ? 2 : 1;
}

// Of the operations that completed before `op` began, one that left the
// entity past `version`: the furthest, an acknowledged write if any.
const ModelOp* Precedent(const EntityHistory& history, const ModelOp& op, std::uint64_t version) {
  const ModelOp* best = nullptr;
  for (const ModelOp& other : history.ops) {
    if (!other.determinate() || other.complete_ns >= op.invoke_ns ||
        VersionFloor(other) <= version) {
      continue;
    }
    if (best == nullptr || std::pair(IsWrite(other), VersionFloor(other)) >
                               std::pair(IsWrite(*best), VersionFloor(*best))) {
      best = &other;
    }
  }
  return best;
}

// The values the history's writes can produce.
class Writable {
 public:
  explicit Writable(const EntityHistory& history) {
    for (const ModelOp& op : history.ops) {
      if (!MayApply(op)) {
        continue;
      }
      ++writes_;
      if (op.observed) {
        produced_.emplace(op.observed->version, op.observed->state);
      } else {
        (op.kind == OpKind::kCreate ? create_targets_ : set_targets_).insert(op.target);
      }
    }
  }

  bool CanProduce(ModelState value) const {
    return produced_.contains({value.version, value.state}) ||
           (value.version == 1 && create_targets_.contains(value.state)) ||
           (value.version >= 2 && set_targets_.contains(value.state));
  }
  std::uint64_t writes() const { return writes_; }

 private:
  std::uint64_t writes_ = 0;
  std::set<std::pair<std::uint64_t, std::uint32_t>> produced_;  // By writes that said.
  std::set<std::uint32_t> create_targets_;                      // Of writes that did not say.
  std::set<std::uint32_t> set_targets_;
};

// Another acknowledged write that produced `version`, if any.
const ModelOp* OtherOkWriteAt(const EntityHistory& history, const ModelOp& op,
                              std::uint64_t version) {
  for (const ModelOp& other : history.ops) {
    if (&other != &op && IsWrite(other) && other.reply == Reply::kOk && other.observed &&
        other.observed->version == version) {
      return &other;
    }
  }
  return nullptr;
}

// `op` (a get, or a conflict, that saw `seen`) where the entity is already
// past `seen`: who made it so.
Diagnosis DiagnoseStale(const EntityHistory& history, const ModelOp& op, ModelState seen,
                        const Reached& reached) {
  const std::string what = DescribeState(history, seen);
  const ModelOp* before = Precedent(history, op, seen.version);
  if (before != nullptr && IsWrite(*before)) {
    return {"stale read",
            "it saw " + what + ", but a write acknowledged " + Version(VersionFloor(*before)) +
                " before it began, and versions never go back.",
            before};
  }
  if (before != nullptr) {
    return {"version went backwards",
            "it saw " + what + " after another client had already seen " +
                Version(VersionFloor(*before)) + ".",
            before};
  }
  return {"stale read", "it saw " + what + ", but " + kFurthest + " the entity is already at " +
                            Version(reached.min_version) + " or later."};
}

Diagnosis DiagnoseSeen(const EntityHistory& history, const ModelOp& op, const Reached& reached) {
  const ModelState seen = *op.observed;
  const std::string noun = op.kind == OpKind::kGet ? "get" : "the conflict";
  if (reached.min_version > seen.version) {
    return DiagnoseStale(history, op, seen, reached);
  }
  if (const ModelState* other = reached.OtherAt(seen.version, seen.state)) {
    return {"wrong value", noun + " at " + Version(seen.version) + " saw '" +
                               history.state_names[seen.state] + "' but " + Version(seen.version) +
                               " is '" + history.state_names[other->state] + "'."};
  }
  if (reached.max_version < seen.version) {
    return {"read from the future", noun + " saw " + DescribeState(history, seen) + " but " +
                                        kFurthest + " the entity is not yet at " +
                                        Version(seen.version) + "."};
  }
  if (op.reply == Reply::kConflict) {
    return {"conflict when the request should have succeeded",
            "the state it reported satisfies the request wherever it can be placed."};
  }
  return {"no valid place", "no ordering of the operations before it lets it see " +
                                DescribeState(history, seen) + "."};
}

Diagnosis DiagnoseOkSet(const EntityHistory& history, const ModelOp& op, const Reached& reached) {
  if (reached.AllAbsent()) {
    return {"set ok on an absent entity", "no ordering creates the entity before it."};
  }
  if (!op.observed) {
    return {"set ok when a conflict should have happened",
            "its expect or if_version fails in each state reachable before it."};
  }
  const std::uint64_t produced = op.observed->version;
  if (const ModelOp* other = OtherOkWriteAt(history, op, produced)) {
    return {"lost write", "two acknowledged writes both produced " + Version(produced) + ".", other,
            "the other"};
  }
  if (reached.min_version >= produced) {
    const ModelOp* before = Precedent(history, op, produced - 1);
    if (before != nullptr) {
      return {"version went backwards",
              "it produced " + Version(produced) + " after another operation had already " +
                  (IsWrite(*before) ? "produced " : "seen ") + Version(VersionFloor(*before)) + ".",
              before};
    }
    return {"version went backwards", "it produced " + Version(produced) + ", but " + kFurthest +
                                          " the entity is already at " +
                                          Version(reached.min_version) + "."};
  }
  if (op.expect) {
    if (const ModelState* other = reached.OtherAt(produced - 1, *op.expect)) {
      return {"set ok when a conflict should have happened",
              "it expected '" + history.state_names[*op.expect] + "' but " + Version(produced - 1) +
                  " is '" + history.state_names[other->state] + "'."};
    }
  }
  if (reached.max_version + 1 < produced) {
    return {"version jumped", "it produced " + Version(produced) + " but " + kFurthest +
                                  " the entity is not yet at " + Version(produced - 1) + "."};
  }
  return {"no valid place", "no ordering of the operations before it allows this reply."};
}

void AppendOpOptions(const EntityHistory& history, const ModelOp& op, std::string* out) {
  if (op.kind == OpKind::kGet) {
    return;
  }
  *out += " '" + history.state_names[op.target] + "'";
  if (op.expect) {
    *out += " expect '" + history.state_names[*op.expect] + "'";
  }
  if (op.if_version) {
    *out += " if_version " + std::to_string(*op.if_version);
  }
}

}  // namespace

std::string DescribeState(const EntityHistory& history, ModelState state) {
  if (!state.present()) {
    return "absent";
  }
  return "(" + history.state_names[state.state] + ", " + Version(state.version) + ")";
}

std::string DescribeOp(const EntityHistory& history, const ModelOp& op) {
  static constexpr const char* kKinds[] = {"get", "set", "create"};
  std::string out = kKinds[static_cast<int>(op.kind)];
  AppendOpOptions(history, op, &out);
  out += " by process " + std::to_string(op.process) + ", invoked at " +
         std::to_string(op.invoke_ns) + " ns";
  const std::string seen = op.observed ? " " + DescribeState(history, *op.observed) : "";
  switch (op.reply) {
    case Reply::kOk:
      return out + ", completed at " + std::to_string(op.complete_ns) + " ns: ok" + seen;
    case Reply::kConflict:
      return out + ", completed at " + std::to_string(op.complete_ns) + " ns: conflict" + seen;
    case Reply::kNotFound:
      return out + ", completed at " + std::to_string(op.complete_ns) + " ns: not_found";
    case Reply::kUnknown:
      return out + ": no reply (indeterminate)";
  }
  return out;
}

Diagnosis Diagnose(const EntityHistory& history, const ModelOp& op,
                   const std::vector<ModelState>& states) {
  const Reached reached(states);
  if (op.reply == Reply::kNotFound && reached.AllPresent()) {
    return {"not_found after the entity was created",
            std::string(kFurthest) + " the entity already exists.", Precedent(history, op, 0)};
  }
  if (op.reply == Reply::kConflict && reached.AllAbsent()) {
    return {"conflict on an absent entity",
            std::string(kFurthest) +
                " the entity does not exist yet: the reply should have been "
                "not_found."};
  }
  if ((op.reply == Reply::kOk && op.kind == OpKind::kGet && op.observed) ||
      (op.reply == Reply::kConflict && op.observed)) {
    return DiagnoseSeen(history, op, reached);
  }
  if (op.reply == Reply::kConflict) {
    return {"conflict when the request should have succeeded",
            "its precondition holds in each state reachable before it."};
  }
  if (op.reply == Reply::kOk && op.kind == OpKind::kSet) {
    return DiagnoseOkSet(history, op, reached);
  }
  if (op.reply == Reply::kOk && op.kind == OpKind::kCreate && reached.AllPresent()) {
    for (const ModelOp& other : history.ops) {
      if (&other != &op && other.kind == OpKind::kCreate && other.reply == Reply::kOk) {
        return {"two creates succeeded", "only one create can find the entity absent.", &other,
                "the other"};
      }
    }
    return {"create succeeded on an existing entity",
            std::string(kFurthest) + " the entity already exists."};
  }
  if (op.reply == Reply::kOk && op.kind == OpKind::kGet && reached.AllAbsent()) {
    return {"read of an absent entity", "no ordering creates the entity before it."};
  }
  return {"no valid place", "no ordering of the operations before it allows this reply."};
}

std::optional<std::pair<std::size_t, Diagnosis>> FindUnwritten(const EntityHistory& history) {
  const Writable writable(history);
  for (std::size_t i = 0; i < history.ops.size(); ++i) {
    const ModelOp& op = history.ops[i];
    if (!op.determinate() || !op.observed || op.reply == Reply::kNotFound) {
      continue;
    }
    const ModelState seen = *op.observed;
    if (seen.version > writable.writes()) {
      return std::pair(
          i, Diagnosis{IsWrite(op) && op.reply == Reply::kOk ? "version jumped"
                                                             : "read of a value never written",
                       "it claims " + Version(seen.version) + ", but the history holds only " +
                           std::to_string(writable.writes()) + " writes that may have applied."});
    }
    if (!MayApply(op) && !writable.CanProduce(seen)) {
      return std::pair(
          i, Diagnosis{"read of a value never written",
                       "no write in the history produces " + DescribeState(history, seen) + "."});
    }
    if (op.kind == OpKind::kSet && op.reply == Reply::kOk && op.expect && seen.version >= 2 &&
        !writable.CanProduce(ModelState{seen.version - 1, *op.expect})) {
      return std::pair(
          i, Diagnosis{"set ok when a conflict should have happened",
                       "it expected '" + history.state_names[*op.expect] + "' at " +
                           Version(seen.version - 1) + ", but no write in the history produces " +
                           DescribeState(history, ModelState{seen.version - 1, *op.expect}) + "."});
    }
  }
  return std::nullopt;
}

std::string ExplainFailure(const EntityHistory& history, const SearchResult& result) {
  TENURE_CHECK(result.verdict == Verdict::kNotLinearizable);
  TENURE_CHECK(result.blocked_op < history.ops.size());
  const ModelOp& op = history.ops[result.blocked_op];
  const Diagnosis diagnosis = Diagnose(history, op, result.blocked_states);
  std::string states;
  for (ModelState s : result.blocked_states) {
    states += (states.empty() ? "" : ", ") + DescribeState(history, s);
  }
  std::string out = "entity '" + history.entity + "': " + diagnosis.anomaly +
                    "\n  cannot place: " + DescribeOp(history, op);
  if (result.forced_by) {
    out += "\n  it must follow: " + DescribeOp(history, history.ops[*result.forced_by]);
  } else if (diagnosis.related != nullptr) {
    out += "\n  " + diagnosis.relation + ": " + DescribeOp(history, *diagnosis.related);
  }
  if (result.condemned) {
    out += "\n  model states before it: " + states + ", or later";
  } else {
    out += "\n  model states just before it: " + states;
  }
  return out + "\n  why: " + diagnosis.why;
}

std::string ExplainAlone(const EntityHistory& history, const ModelOp& op,
                         const Diagnosis& diagnosis) {
  std::string out = "entity '" + history.entity + "': " + diagnosis.anomaly +
                    "\n  cannot place: " + DescribeOp(history, op);
  if (diagnosis.related != nullptr) {
    out += "\n  " + diagnosis.relation + ": " + DescribeOp(history, *diagnosis.related);
  }
  return out + "\n  why: " + diagnosis.why;
}

}  // namespace tenure::history::internal
