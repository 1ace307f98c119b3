// Splitting a history into per-entity parts the model can check: entities
// are independent, so a history is linearizable exactly when each part is.
// Operations that carry no information are left out, strings are interned.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "history/entity_model.h"
#include "history/history.h"

namespace tenure::history::internal {

// Per entity (every entity named, even one whose operations all carry no
// information), its operations in invocation order. Operations that carry no
// information: indeterminate reads, and failures other than conflict and
// not_found (invalid, busy, unavailable on a read, ...), which changed
// nothing. On an operation that completes before its invocation, sets
// *invalid and returns nothing.
std::map<std::string, EntityHistory> SplitByEntity(const std::vector<Op>& history,
                                                   std::string* invalid);

}  // namespace tenure::history::internal
