// ToJsonLines / FromJsonLines: one operation per line, e.g.
//   {"process":3,"entity":"e1","kind":"set","state":"working","expect":"initialized",
//    "if_version":1,"invoke_ns":100,"complete_ns":250,"outcome":"ok",
//    "observed":{"state":"working","version":2}}
// Empty strings, a missing if_version and a missing observed are left out.
// Parsing is strict (unknown keys, wrong types and unknown names are errors)
// because a history that loads differently from how it was recorded would be
// checked wrongly without anyone noticing.
#include <array>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "history/history.h"

namespace tenure::history {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 3> kKindNames = {"get", "set", "create"};
constexpr std::array<std::string_view, 3> kOutcomeNames = {"ok", "failed", "indeterminate"};

template <typename Enum, std::size_t N>
std::optional<Enum> EnumNamed(const std::array<std::string_view, N>& names,
                              const std::string& name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

Json ToJson(const Op& op) {
  Json line;
  line["process"] = op.process;
  line["entity"] = op.entity;
  line["kind"] = kKindNames[static_cast<std::size_t>(op.kind)];
  if (!op.state.empty()) {
    line["state"] = op.state;
  }
  if (!op.expect.empty()) {
    line["expect"] = op.expect;
  }
  if (op.if_version) {
    line["if_version"] = *op.if_version;
  }
  line["invoke_ns"] = op.invoke_ns;
  line["complete_ns"] = op.complete_ns;
  line["outcome"] = kOutcomeNames[static_cast<std::size_t>(op.outcome)];
  if (!op.error.empty()) {
    line["error"] = op.error;
  }
  if (op.observed) {
    line["observed"] = {{"state", op.observed->state}, {"version", op.observed->version}};
  }
  return line;
}

// Reads one field of a JSON object; each returns an error message or "".
class Fields {
 public:
  explicit Fields(const Json& object) : object_(object) {}

  std::string String(const char* key, bool required, std::string* out) {
    const Json* value = Find(key);
    if (value == nullptr) {
      return required ? Missing(key) : "";
    }
    if (!value->is_string()) {
      return Wrong(key, "a string");
    }
    *out = value->get<std::string>();
    return "";
  }

  std::string Int64(const char* key, bool required, std::int64_t* out) {
    const Json* value = Find(key);
    if (value == nullptr) {
      return required ? Missing(key) : "";
    }
    if (value->is_number_unsigned()) {
      if (value->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Wrong(key, "a 64-bit signed integer");
      }
      *out = static_cast<std::int64_t>(value->get<std::uint64_t>());
      return "";
    }
    if (!value->is_number_integer()) {
      return Wrong(key, "an integer");
    }
    *out = value->get<std::int64_t>();
    return "";
  }

  std::string Uint64(const char* key, bool required, std::optional<std::uint64_t>* out) {
    const Json* value = Find(key);
    if (value == nullptr) {
      return required ? Missing(key) : "";
    }
    if (!value->is_number_unsigned()) {
      return Wrong(key, "a non-negative integer");
    }
    *out = value->get<std::uint64_t>();
    return "";
  }

  // Any key not read so far.
  std::string Unknown() const {
    for (const auto& [key, value] : object_.items()) {
      if (!read_.contains(key)) {
        return "unknown key \"" + key + "\"";
      }
    }
    return "";
  }

  const Json* Find(const char* key) {
    read_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

 private:
  static std::string Missing(const char* key) { return "missing \"" + std::string(key) + "\""; }
  static std::string Wrong(const char* key, const char* what) {
    return "\"" + std::string(key) + "\" must be " + what;
  }

  const Json& object_;
  std::set<std::string> read_;
};

std::string ParseObserved(const Json& value, Observed* out) {
  if (!value.is_object()) {
    return "\"observed\" must be an object";
  }
  Fields fields(value);
  std::optional<std::uint64_t> version;
  std::string error = fields.String("state", true, &out->state);
  if (error.empty()) {
    error = fields.Uint64("version", true, &version);
  }
  if (error.empty()) {
    error = fields.Unknown();
  }
  if (!error.empty()) {
    return "in \"observed\": " + error;
  }
  out->version = *version;
  return "";
}

// Fills *op from one line's object; returns an error message or "".
std::string ParseOp(const Json& line, Op* op) {
  if (!line.is_object()) {
    return "not a JSON object";
  }
  Fields fields(line);
  std::int64_t process = 0;
  std::string kind;
  std::string outcome;
  for (std::string error : {
           fields.Int64("process", true, &process),
           fields.String("entity", true, &op->entity),
           fields.String("kind", true, &kind),
           fields.String("state", false, &op->state),
           fields.String("expect", false, &op->expect),
           fields.Uint64("if_version", false, &op->if_version),
           fields.Int64("invoke_ns", true, &op->invoke_ns),
           fields.String("outcome", true, &outcome),
           fields.String("error", false, &op->error),
       }) {
    if (!error.empty()) {
      return error;
    }
  }
  if (process < std::numeric_limits<int>::min() || process > std::numeric_limits<int>::max()) {
    return "\"process\" is out of range";
  }
  op->process = static_cast<int>(process);
  const std::optional<OpKind> op_kind = EnumNamed<OpKind>(kKindNames, kind);
  if (!op_kind) {
    return "unknown kind \"" + kind + "\"";
  }
  op->kind = *op_kind;
  const std::optional<Outcome> op_outcome = EnumNamed<Outcome>(kOutcomeNames, outcome);
  if (!op_outcome) {
    return "unknown outcome \"" + outcome + "\"";
  }
  op->outcome = *op_outcome;
  // A reply time is required exactly when there was a reply.
  if (std::string error =
          fields.Int64("complete_ns", op->outcome != Outcome::kIndeterminate, &op->complete_ns);
      !error.empty()) {
    return error;
  }
  if (const Json* observed = fields.Find("observed"); observed != nullptr) {
    op->observed.emplace();
    if (std::string error = ParseObserved(*observed, &*op->observed); !error.empty()) {
      return error;
    }
  }
  return fields.Unknown();
}

}  // namespace

std::string ToJsonLines(const std::vector<Op>& history) {
  std::string out;
  for (const Op& op : history) {
    // Replacing invalid UTF-8 rather than throwing: states and ids are ASCII in practice.
    out += ToJson(op).dump(-1, ' ', false, Json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

std::optional<std::vector<Op>> FromJsonLines(const std::string& text, std::string* error) {
  std::vector<Op> history;
  std::istringstream in(text);
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;  // Blank lines, such as a trailing one, carry nothing.
    }
    const Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string problem = parsed.is_discarded() ? "not valid JSON" : "";
    Op op;
    if (problem.empty()) {
      problem = ParseOp(parsed, &op);
    }
    if (!problem.empty()) {
      if (error != nullptr) {
        *error = "line " + std::to_string(number) + ": " + problem;
      }
      return std::nullopt;
    }
    history.push_back(std::move(op));
  }
  return history;
}

}  // namespace tenure::history
