// The register one entity is, as the checker models it: an interned state, a
// version counter, and the reply each operation may give in each model state.
// Everything here is a pure function of its arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "history/history.h"

namespace tenure::history::internal {

// Absent is version 0. Versions start at 1 and only ever grow (there is no
// delete), which is what lets the search prune on them.
struct ModelState {
  std::uint64_t version = 0;
  std::uint32_t state = 0;  // Index into EntityHistory::state_names; 0 when absent.

  bool present() const { return version > 0; }
  friend bool operator==(const ModelState&, const ModelState&) = default;
};

enum class Reply {
  kOk,
  kConflict,
  kNotFound,
  kUnknown,  // An indeterminate write: it takes effect once, any time after its invocation, or
             // never.
};

inline constexpr std::uint64_t kNoCeiling = std::numeric_limits<std::uint64_t>::max();

// An operation that carries information, with its strings interned.
struct ModelOp {
  std::size_t source = 0;  // Index in the caller's history.
  int process = 0;
  OpKind kind = OpKind::kGet;
  Reply reply = Reply::kOk;
  std::uint32_t target = 0;  // The requested state (set, create).
  std::optional<std::uint32_t> expect;
  std::optional<std::uint64_t> if_version;
  std::optional<ModelState> observed;  // nullopt: the reply did not say.
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = 0;  // Meaningless for kUnknown.

  bool determinate() const { return reply != Reply::kUnknown; }
};

// One entity's share of a history: the operations that carry information, in
// invocation order, and the state names they use.
struct EntityHistory {
  std::string entity;
  std::vector<ModelOp> ops;
  std::vector<std::string> state_names;
};

// The model state after linearizing `op` in `before`, or nullopt when `op`
// cannot take effect or give its reply there. An indeterminate write whose
// precondition fails would change nothing, exactly as if it never applied,
// so it also gives nullopt: leaving it out is the same history.
std::optional<ModelState> Apply(const ModelOp& op, ModelState before);

// The highest version at which `op` can still be linearized (with effect, for
// an indeterminate write), or kNoCeiling. Versions never go back, so a
// search that has passed an unlinearized operation's ceiling is dead, and an
// indeterminate write past its ceiling can be ignored.
std::uint64_t VersionCeiling(const ModelOp& op);

// Why no model state at all allows `op`'s reply (e.g. a create that answered
// not_found), or nullopt when some state might.
std::optional<std::string> ImpossibleReply(const ModelOp& op,
                                           const std::vector<std::string>& state_names);

}  // namespace tenure::history::internal
