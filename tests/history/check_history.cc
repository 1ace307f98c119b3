// CheckHistory: split the history per entity, reject replies no state allows,
// search each entity's part, and put the verdicts together.
#include <algorithm>
#include <map>
#include <string>

#include "history/entity_model.h"
#include "history/explanation.h"
#include "history/history.h"
#include "history/linearizer.h"
#include "history/split_history.h"

namespace tenure::history {
namespace {

using internal::EntityHistory;
using internal::ModelOp;
using internal::SearchResult;
using internal::Verdict;

// At most this many failing entities are explained in full.
constexpr std::size_t kExplainedEntitiesMax = 5;

struct EntityVerdict {
  Verdict verdict = Verdict::kLinearizable;
  std::string explanation;
};

EntityVerdict CheckEntity(const EntityHistory& entity, const CheckOptions& options) {
  for (const ModelOp& op : entity.ops) {
    if (std::optional<std::string> why = internal::ImpossibleReply(op, entity.state_names)) {
      return {Verdict::kNotLinearizable,
              internal::ExplainAlone(entity, op, {"impossible reply", *why + "."})};
    }
  }
  if (const auto unwritten = internal::FindUnwritten(entity)) {
    return {Verdict::kNotLinearizable,
            internal::ExplainAlone(entity, entity.ops[unwritten->first], unwritten->second)};
  }
  // The relaxed search (indeterminate writes reusable) shows most failures
  // fast, where the exact one would first try every way the unobserved
  // indeterminate writes before the failure could have gone; its states are
  // the relaxed model's. A relaxed success proves nothing: the exact search
  // must confirm it, which is quick when the history is linearizable.
  const bool any_indeterminate = std::any_of(entity.ops.begin(), entity.ops.end(),
                                             [](const ModelOp& op) { return !op.determinate(); });
  if (any_indeterminate) {
    const SearchResult relaxed = internal::Linearize(
        entity, {.max_states = options.max_states, .reusable_indeterminate = true});
    if (relaxed.verdict == Verdict::kNotLinearizable) {
      return {Verdict::kNotLinearizable, internal::ExplainFailure(entity, relaxed)};
    }
  }
  const SearchResult exact = internal::Linearize(entity, {.max_states = options.max_states});
  switch (exact.verdict) {
    case Verdict::kLinearizable:
      return {};
    case Verdict::kNotLinearizable:
      return {Verdict::kNotLinearizable, internal::ExplainFailure(entity, exact)};
    case Verdict::kUndecided:
      break;
  }
  return {Verdict::kUndecided, "entity '" + entity.entity + "': undecided: the search gave up " +
                                   "after " + std::to_string(exact.states) +
                                   " configurations (CheckOptions::max_states)"};
}

}  // namespace

CheckResult CheckHistory(const std::vector<Op>& history) {
  return CheckHistory(history, CheckOptions{});
}

CheckResult CheckHistory(const std::vector<Op>& history, const CheckOptions& options) {
  CheckResult result;
  result.operations = history.size();
  std::string invalid;
  const std::map<std::string, EntityHistory> entities = internal::SplitByEntity(history, &invalid);
  if (!invalid.empty()) {
    result.linearizable = false;
    result.decided = false;
    result.explanation = invalid;
    return result;
  }
  result.entities = entities.size();
  std::vector<std::string> failures;
  std::vector<std::string> undecided;
  for (const auto& [name, entity] : entities) {
    EntityVerdict verdict = CheckEntity(entity, options);
    if (verdict.verdict == Verdict::kNotLinearizable) {
      failures.push_back(std::move(verdict.explanation));
    } else if (verdict.verdict == Verdict::kUndecided) {
      undecided.push_back(std::move(verdict.explanation));
    }
  }
  if (failures.empty() && undecided.empty()) {
    return result;
  }
  // One entity that cannot be linearized settles the whole history.
  result.linearizable = false;
  result.decided = !failures.empty();
  std::vector<std::string>& shown = failures.empty() ? undecided : failures;
  for (std::size_t i = 0; i < shown.size() && i < kExplainedEntitiesMax; ++i) {
    result.explanation += (i == 0 ? "" : "\n") + shown[i];
  }
  if (shown.size() > kExplainedEntitiesMax) {
    result.explanation +=
        "\n... and " + std::to_string(shown.size() - kExplainedEntitiesMax) + " more entities";
  }
  if (!failures.empty() && !undecided.empty()) {
    result.explanation += "\n(" + std::to_string(undecided.size()) + " more entities undecided)";
  }
  return result;
}

}  // namespace tenure::history
