// Turning a failure into text a human can act on: the operation that cannot
// be placed, the operation it must follow when one explains it, the model
// states the search was in just before it, and a name for the anomaly
// ("stale read", "lost write", ...) when one fits.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "history/entity_model.h"
#include "history/linearizer.h"

namespace tenure::history::internal {

// E.g. "set 'working' expect 'initialized' by process 3, invoked at 10 ns,
// completed at 20 ns: ok (working, v2)".
std::string DescribeOp(const EntityHistory& history, const ModelOp& op);

// "absent" or "(working, v2)".
std::string DescribeState(const EntityHistory& history, ModelState state);

struct Diagnosis {
  std::string anomaly;  // A short name, e.g. "stale read".
  std::string why;      // One sentence.
  // Another operation that shows the anomaly, if one does, e.g. the
  // acknowledged write a stale read missed (which completed before the read
  // began: `relation` "it must follow"), or the other of two writes that
  // produced one version (`relation` "the other").
  const ModelOp* related = nullptr;
  std::string relation = "it must follow";
};

// Names what is wrong with placing `op` in any of `states` (the states the
// search reached just before it). REQUIRES: !states.empty().
Diagnosis Diagnose(const EntityHistory& history, const ModelOp& op,
                   const std::vector<ModelState>& states);

// The first operation (index into history.ops) that claims a value no write
// in the history can produce: an observed version beyond the number of
// writes, an observed state no write writes at that version, or an ok set
// whose expected state no write produces at the version before. Such an op
// condemns the history with no search needed.
std::optional<std::pair<std::size_t, Diagnosis>> FindUnwritten(const EntityHistory& history);

// The multi-line explanation of a kNotLinearizable search result.
std::string ExplainFailure(const EntityHistory& history, const SearchResult& result);

// The explanation for an operation condemned without search.
std::string ExplainAlone(const EntityHistory& history, const ModelOp& op,
                         const Diagnosis& diagnosis);

}  // namespace tenure::history::internal
