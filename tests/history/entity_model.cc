#include "history/entity_model.h"

#include <algorithm>

namespace tenure::history::internal {
namespace {

bool PreconditionHolds(const ModelOp& op, ModelState s) {
  return (!op.expect || *op.expect == s.state) && (!op.if_version || *op.if_version == s.version);
}

bool Matches(const std::optional<ModelState>& observed, ModelState s) {
  return !observed || *observed == s;
}

// The write's effect when it applies; nullopt when the service would refuse it.
std::optional<ModelState> Effect(const ModelOp& op, ModelState s) {
  switch (op.kind) {
    case OpKind::kCreate:
      if (s.present()) {
        return std::nullopt;
      }
      return ModelState{1, op.target};
    case OpKind::kSet:
      if (!s.present() || !PreconditionHolds(op, s)) {
        return std::nullopt;
      }
      return ModelState{s.version + 1, op.target};
    case OpKind::kGet:
      break;
  }
  return std::nullopt;
}

std::optional<ModelState> ApplyOk(const ModelOp& op, ModelState s) {
  if (op.kind == OpKind::kGet) {
    if (!s.present() || !Matches(op.observed, s)) {
      return std::nullopt;
    }
    return s;
  }
  std::optional<ModelState> next = Effect(op, s);
  if (!next || !Matches(op.observed, *next)) {
    return std::nullopt;
  }
  return next;
}

std::optional<ModelState> ApplyConflict(const ModelOp& op, ModelState s) {
  // An absent entity answers not_found, never conflict.
  if (!s.present() || !Matches(op.observed, s)) {
    return std::nullopt;
  }
  const bool refused =
      op.kind == OpKind::kCreate || (op.kind == OpKind::kSet && !PreconditionHolds(op, s));
  if (!refused) {
    return std::nullopt;
  }
  return s;
}

}  // namespace

std::optional<ModelState> Apply(const ModelOp& op, ModelState before) {
  switch (op.reply) {
    case Reply::kUnknown:
      return Effect(op, before);
    case Reply::kOk:
      return ApplyOk(op, before);
    case Reply::kConflict:
      return ApplyConflict(op, before);
    case Reply::kNotFound:
      if (op.kind == OpKind::kCreate || before.present()) {
        return std::nullopt;
      }
      return before;
  }
  return std::nullopt;
}

std::uint64_t VersionCeiling(const ModelOp& op) {
  if (op.kind == OpKind::kCreate && op.reply != Reply::kConflict) {
    return 0;  // It needs the entity absent; conflict is the one reply that does not.
  }
  std::uint64_t ceiling = kNoCeiling;
  switch (op.reply) {
    case Reply::kNotFound:
      return 0;
    case Reply::kUnknown:
      return op.if_version.value_or(kNoCeiling);
    case Reply::kOk:
      if (op.kind == OpKind::kSet && op.if_version) {
        ceiling = *op.if_version;
      }
      if (op.observed && op.observed->version > 0) {
        // A set that produced v ran at v - 1; a get saw v itself.
        const std::uint64_t at = op.observed->version - (op.kind == OpKind::kSet ? 1 : 0);
        ceiling = std::min(ceiling, at);
      }
      return ceiling;
    case Reply::kConflict:
      return op.observed ? op.observed->version : kNoCeiling;
  }
  return ceiling;
}

std::optional<std::string> ImpossibleReply(const ModelOp& op,
                                           const std::vector<std::string>& state_names) {
  const std::optional<ModelState>& seen = op.observed;
  switch (op.reply) {
    case Reply::kUnknown:
      return std::nullopt;
    case Reply::kNotFound:
      if (op.kind == OpKind::kCreate) {
        return "create never answers not_found";
      }
      return std::nullopt;
    case Reply::kConflict:
      if (op.kind == OpKind::kGet) {
        return "get never answers conflict";
      }
      if (seen && seen->version == 0) {
        return "a conflict reply cannot carry version 0";
      }
      if (op.kind == OpKind::kSet && !op.expect && !op.if_version) {
        return "a set without expect or if_version cannot conflict";
      }
      if (op.kind == OpKind::kSet && seen && PreconditionHolds(op, *seen)) {
        return "the conflict reply carries a state and version that satisfy the set's expect and "
               "if_version";
      }
      return std::nullopt;
    case Reply::kOk:
      break;
  }
  if (!seen || op.kind == OpKind::kGet) {
    return seen && seen->version == 0 ? std::optional<std::string>("an ok reply carries version 0")
                                      : std::nullopt;
  }
  if (seen->state != op.target) {
    return "an ok " + std::string(op.kind == OpKind::kSet ? "set" : "create") + " of '" +
           state_names[op.target] + "' observed '" + state_names[seen->state] + "'";
  }
  if (op.kind == OpKind::kCreate && seen->version != 1) {
    return "an ok create must produce version 1, not v" + std::to_string(seen->version);
  }
  if (op.kind == OpKind::kSet && seen->version < 2) {
    return "an ok set must produce version 2 or later (v1 is the create's)";
  }
  if (op.kind == OpKind::kSet && op.if_version && seen->version != *op.if_version + 1) {
    return "an ok set with if_version " + std::to_string(*op.if_version) + " produced v" +
           std::to_string(seen->version);
  }
  return std::nullopt;
}

}  // namespace tenure::history::internal
