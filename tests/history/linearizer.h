// The linearizability search for one entity: Wing & Gong's algorithm with
// Lowe's just-in-time linearization and memoization of (operations placed,
// model state), as in Knossos and Porcupine. Indeterminate writes have no
// completion, so they never force a backtrack and may be placed or left out.
//
// Pruning, each sound for this model:
//  1. Versions never go back, so once the model version passes the ceiling of
//     an unplaced determinate operation (e.g. a get that saw v3 when the model
//     is at v4) the branch is dead (SearchOptions::version_pruning).
//  2. An indeterminate write past its own ceiling (a create once the entity
//     exists, a set whose if_version is behind) can never apply: it is
//     skipped, and left out of the memo key so that placed-or-not does not
//     split configurations.
//  3. Indeterminate writes with the same request are interchangeable once
//     invoked (none ever completes), so only the earliest unplaced one of each
//     request is tried.
//  4. A determinate op that leaves the state unchanged (a get, a conflict, a
//     not_found) and fits where the search stands is placed at once with no
//     alternative explored: in any completion that places it later, only
//     state-preserving ops run in between, and nothing can be required to
//     precede it (it is enabled), so moving it first is also a completion.
//     This is what keeps many concurrent reads from multiplying branches.
//  5. Of indeterminate sets that fit here and write the same state, only the
//     one of least use later is tried: one with if_version (dead once it
//     applies or is passed) before one with only expect, before a blind one.
//     Swapping the two in any completion gives another completion, since
//     wherever the narrower one fits later the wider one does too.
// Determinate ok operations pin themselves by version through the model: an
// ok set that produced v fits only where the model is at v - 1.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "history/entity_model.h"

namespace tenure::history::internal {

struct SearchOptions {
  // The search gives up undecided once it has remembered this many
  // configurations. REQUIRES: > 0.
  std::size_t max_states = 1;
  // Pruning (1) above, without which long histories with many indeterminate
  // writes are slow to fail. Off only to cross-check it in tests.
  bool version_pruning = true;
  // The relaxation in which an indeterminate write may apply any number of
  // times. Every linearization is also a relaxed one, so when the relaxed
  // search fails the history is not linearizable; when it succeeds, that
  // proves nothing. With nothing used up, configurations that differ only
  // in which indeterminate writes applied become one, so it fails fast where
  // the exact search must try every way the prefix's unobserved writes could
  // have gone.
  bool reusable_indeterminate = false;
};

enum class Verdict { kLinearizable, kNotLinearizable, kUndecided };

struct SearchResult {
  Verdict verdict = Verdict::kUndecided;
  std::size_t states = 0;  // Configurations remembered.
  // kNotLinearizable: where the search died last in real time, as Knossos
  // reports it: `blocked_op` completed and no surviving order had placed it,
  // nor could place it in any of `blocked_states` (a few at most). Unless
  // `condemned`: then a branch was cut by pruning (1) because it took the
  // version past what `blocked_op` needs, and `blocked_states` are where
  // such branches went, so the op could only come later still. The op is
  // the condemned one that completes first. `forced_by`, when set, completed
  // before `blocked_op` was invoked, so had to be placed first, and that
  // alone took the version too far.
  std::size_t blocked_op = 0;  // Index into EntityHistory::ops.
  bool condemned = false;
  std::optional<std::size_t> forced_by;
  std::vector<ModelState> blocked_states;
};

// REQUIRES: history.ops sorted by invoke_ns; every determinate op has
// complete_ns >= invoke_ns.
SearchResult Linearize(const EntityHistory& history, const SearchOptions& options);

}  // namespace tenure::history::internal
