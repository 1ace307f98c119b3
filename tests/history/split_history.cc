#include "history/split_history.h"

#include <algorithm>

namespace tenure::history::internal {
namespace {

std::uint32_t Intern(const std::string& name, EntityHistory* entity) {
  std::vector<std::string>& names = entity->state_names;
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    names.push_back(name);
    return static_cast<std::uint32_t>(names.size() - 1);
  }
  return static_cast<std::uint32_t>(it - names.begin());
}

// The reply as the model sees it, or nullopt for an operation that carries no
// information: an indeterminate read, or a failure other than conflict and
// not_found (invalid, busy, unavailable on a read, ...), which changed nothing.
std::optional<Reply> ModelReply(const Op& op) {
  switch (op.outcome) {
    case Outcome::kOk:
      return Reply::kOk;
    case Outcome::kIndeterminate:
      return op.kind == OpKind::kGet ? std::nullopt : std::optional<Reply>(Reply::kUnknown);
    case Outcome::kFailed:
      if (op.error == "conflict") {
        return Reply::kConflict;
      }
      if (op.error == "not_found") {
        return Reply::kNotFound;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

ModelOp ToModel(const Op& op, std::size_t source, Reply reply, EntityHistory* entity) {
  ModelOp m;
  m.source = source;
  m.process = op.process;
  m.kind = op.kind;
  m.reply = reply;
  if (op.kind != OpKind::kGet) {
    m.target = Intern(op.state, entity);
  }
  if (op.kind == OpKind::kSet) {
    if (!op.expect.empty()) {
      m.expect = Intern(op.expect, entity);
    }
    m.if_version = op.if_version;
  }
  // A not_found reply has nothing to observe, and an indeterminate one had no reply.
  if (op.observed && (reply == Reply::kOk || reply == Reply::kConflict)) {
    m.observed = ModelState{op.observed->version, Intern(op.observed->state, entity)};
  }
  m.invoke_ns = op.invoke_ns;
  m.complete_ns = op.complete_ns;
  return m;
}

}  // namespace

std::map<std::string, EntityHistory> SplitByEntity(const std::vector<Op>& history,
                                                   std::string* invalid) {
  std::map<std::string, EntityHistory> entities;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    EntityHistory& entity = entities[op.entity];
    entity.entity = op.entity;
    const std::optional<Reply> reply = ModelReply(op);
    if (!reply) {
      continue;
    }
    if (*reply != Reply::kUnknown && op.complete_ns < op.invoke_ns) {
      *invalid = "invalid history: operation " + std::to_string(i) + " (process " +
                 std::to_string(op.process) + ", entity '" + op.entity + "') completes at " +
                 std::to_string(op.complete_ns) + " ns, before its invocation at " +
                 std::to_string(op.invoke_ns) + " ns";
      return {};
    }
    entity.ops.push_back(ToModel(op, i, *reply, &entity));
  }
  for (auto& [name, entity] : entities) {
    std::stable_sort(entity.ops.begin(), entity.ops.end(),
                     [](const ModelOp& a, const ModelOp& b) { return a.invoke_ns < b.invoke_ns; });
  }
  return entities;
}

}  // namespace tenure::history::internal
