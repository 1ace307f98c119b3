// A history of client operations on entities, as a Jepsen-style checker sees
// it: what each client asked, when it asked, when (and whether) it heard back,
// and what it heard. The fault harness records one; CheckHistory decides
// whether some linearization of it is legal for a per-entity register with
// compare-and-set and a version counter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tenure::history {

enum class OpKind { kGet, kSet, kCreate };

enum class Outcome {
  kOk,             // Applied (a write) or answered (a read), with `out`.
  kFailed,         // Definitely not applied: conflict, not_found, invalid, ...
  kIndeterminate,  // No answer (timeout, unavailable on a write): may apply at
                   // any point after its invocation, or never.
};

// What a reply said the entity was: for ok, the entity after the operation;
// for a conflict, the state and version the owner held when it refused.
struct Observed {
  std::string state;
  std::uint64_t version = 0;
};

struct Op {
  int process = 0;  // The client that issued it; one operation at a time each.
  std::string entity;
  OpKind kind = OpKind::kGet;
  std::string state;                        // set / create: the requested state.
  std::string expect;                       // set --expect; empty: any state.
  std::optional<std::uint64_t> if_version;  // set --if-version.
  std::int64_t invoke_ns = 0;               // Monotonic clock, the recorder's.
  std::int64_t complete_ns = 0;             // Ignored for kIndeterminate.
  Outcome outcome = Outcome::kOk;
  std::string error;                 // The DESIGN §6 error name when failed.
  std::optional<Observed> observed;  // ok, and conflict when the reply carried it.
};

struct CheckResult {
  bool linearizable = true;
  // False when the checker could not tell: the search budget ran out, or the
  // history itself is malformed (a reply before its request). `linearizable`
  // is then false as well, so an undecided result never passes as a good one.
  bool decided = true;
  // Empty when linearizable; else the entity, the operations that cannot be
  // ordered, and why (e.g. "get at v3 saw 'working' but v3 is 'finalized'").
  std::string explanation;
  std::size_t entities = 0;
  std::size_t operations = 0;
};

// Model, per entity (entities are independent):
//  - state: absent, or (state, version). Absent at the start of the history.
//  - create(s): absent -> (s, 1), ok with observed (s, 1); present -> failed
//    conflict, observed = current.
//  - set(s, expect, if_version): absent -> failed not_found; expect given and
//    != state, or if_version given and != version -> failed conflict, observed
//    = current; else (s, version + 1), ok with observed = the new value.
//    A conflict without observed still says the precondition failed at its
//    linearization point.
//  - get: absent -> failed not_found; else ok, observed = current.
// Failed operations with an error other than conflict / not_found (invalid,
// busy, unavailable on a read, ...) are treated as having no effect and no
// observation. Indeterminate reads are dropped.
CheckResult CheckHistory(const std::vector<Op>& history);

struct CheckOptions {
  // Per entity, the number of distinct (operations linearized, model state)
  // configurations the search may remember before it gives up undecided.
  // Each costs 100 to 200 bytes; an ordinary history needs one or two per
  // operation.
  std::size_t max_states = 2'000'000;
};
CheckResult CheckHistory(const std::vector<Op>& history, const CheckOptions& options);

// One operation per line, JSON, so that a failing run can be kept and checked
// again (`history_check FILE`). Load returns nullopt and sets `error` on a
// malformed file.
std::string ToJsonLines(const std::vector<Op>& history);
std::optional<std::vector<Op>> FromJsonLines(const std::string& text, std::string* error);

}  // namespace tenure::history
