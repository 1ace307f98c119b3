#include "history/linearizer.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <utility>

#include "tenure/base/check.h"

#include "history/dynamic_bits.h"
#include "history/state_cache.h"

namespace tenure::history::internal {
namespace {

constexpr std::size_t kNil = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kBlockedStatesMax = 8;
// How many condemned ops FirstToDie compares; more only sharpens the blame.
constexpr std::size_t kDeathCandidatesMax = 64;

// Invariants:
//  (1) entries_ is a doubly linked list from the head entries_[0] of the
//      calls and returns of unplaced operations, in time order, calls before
//      returns at equal times (so touching intervals count as concurrent).
//  (2) det_done_ bits [0, prefix_) are all set, bit prefix_ is clear, and no
//      bit at or after last_ is set; prefix_ <= last_.
//  (3) stack_ holds one frame per placed operation, in placing order.
class Linearizer {
 public:
  Linearizer(const EntityHistory& history, const SearchOptions& options);
  SearchResult Run();

 private:
  struct Entry {
    std::size_t op = kNil;
    bool is_call = false;
    std::size_t match = kNil;  // A call's return entry; kNil for an indeterminate op.
    std::size_t prev = kNil;
    std::size_t next = kNil;
  };
  struct Frame {
    std::size_t call = 0;
    ModelState before;
    bool forced = false;  // Placed by reduction (4): no alternative to try.
  };
  enum class Placement { kPlaced, kRejected, kDeadEnd };

  void BuildEntries();
  void GroupRequests();
  bool Skippable(std::size_t op) const;
  bool Dominated(std::size_t op) const;
  bool Reusable(std::size_t op) const {
    return options_.reusable_indeterminate && !history_.ops[op].determinate();
  }
  Placement TryPlace(std::size_t call);
  std::size_t Backtrack();
  void Mark(std::size_t op, bool placed);
  void Lift(std::size_t call);
  void Unlift(std::size_t call);
  bool WithinCeilings(ModelState next) const;
  std::span<const std::uint64_t> Key(ModelState next);
  void NoteBlocked(std::size_t op);
  std::size_t FirstToDie(std::uint64_t version, std::size_t except) const;
  void Blame(std::size_t op, ModelState state, bool condemned,
             std::optional<std::size_t> forced_by);
  SearchResult Finish(Verdict verdict);

  // Constant after construction.
  const EntityHistory& history_;
  const SearchOptions options_;
  std::vector<std::size_t> slot_;           // Per op: its index among the (in)determinate ops.
  std::vector<std::uint64_t> ceiling_;      // Per op: VersionCeiling.
  std::vector<std::size_t> indeterminate_;  // Indeterminate slot -> op.
  // Indeterminate writes grouped by request, for reductions (3) and (5).
  using Request =
      std::tuple<OpKind, std::uint32_t, std::optional<std::uint32_t>, std::optional<std::uint64_t>>;
  std::map<Request, std::size_t> group_of_request_;
  std::vector<std::vector<std::size_t>> groups_;  // Ops in invocation order.
  std::vector<std::size_t> group_;                // Per indeterminate op.
  std::vector<std::size_t> rank_in_group_;        // Per indeterminate op.
  std::size_t determinate_count_ = 0;
  std::uint64_t version_max_ = 0;  // One per write that may apply.

  // Search state.
  std::vector<Entry> entries_;
  Bits det_done_{0};
  Bits indet_done_{0};
  std::size_t prefix_ = 0;
  std::size_t last_ = 0;
  std::size_t remaining_ = 0;                                   // Determinate ops not placed.
  std::set<std::pair<std::uint64_t, std::size_t>> ceilings_;    // (ceiling, op) of unplaced
                                                                // determinate ops, when pruning.
  std::set<std::pair<std::int64_t, std::size_t>> completions_;  // Of unplaced determinate ops.
  std::vector<std::size_t> group_placed_;  // Per group: by reduction (3), its first members.
  ModelState state_;
  std::vector<Frame> stack_;
  StateCache cache_;
  std::vector<std::uint64_t> key_;
  std::vector<std::uint64_t> masked_;

  // The latest failure seen (SearchResult::blocked_op).
  bool blocked_ = false;
  std::size_t blocked_op_ = 0;
  bool condemned_ = false;
  std::optional<std::size_t> forced_by_;
  std::vector<ModelState> blocked_states_;
};

Linearizer::Linearizer(const EntityHistory& history, const SearchOptions& options)
    : history_(history), options_(options) {
  TENURE_CHECK(options.max_states > 0);
  const std::vector<ModelOp>& ops = history_.ops;
  slot_.resize(ops.size());
  ceiling_.resize(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    TENURE_CHECK(i == 0 || ops[i - 1].invoke_ns <= ops[i].invoke_ns);
    ceiling_[i] = VersionCeiling(ops[i]);
    const bool may_write = ops[i].kind != OpKind::kGet &&
                           (ops[i].reply == Reply::kOk || ops[i].reply == Reply::kUnknown);
    version_max_ += may_write ? 1 : 0;
    if (ops[i].determinate()) {
      TENURE_CHECK(ops[i].complete_ns >= ops[i].invoke_ns);
      slot_[i] = determinate_count_++;
      completions_.emplace(ops[i].complete_ns, i);
      if (options_.version_pruning && ceiling_[i] != kNoCeiling) {
        ceilings_.emplace(ceiling_[i], i);
      }
    } else {
      slot_[i] = indeterminate_.size();
      indeterminate_.push_back(i);
    }
  }
  remaining_ = determinate_count_;
  det_done_ = Bits(determinate_count_);
  indet_done_ = Bits(indeterminate_.size());
  masked_.resize(indet_done_.words().size());
  GroupRequests();
  BuildEntries();
}

void Linearizer::GroupRequests() {
  group_.assign(history_.ops.size(), kNil);
  rank_in_group_.assign(history_.ops.size(), kNil);
  for (std::size_t op : indeterminate_) {
    const ModelOp& o = history_.ops[op];
    auto [it, inserted] = group_of_request_.try_emplace(
        Request{o.kind, o.target, o.expect, o.if_version}, groups_.size());
    if (inserted) {
      groups_.emplace_back();
    }
    group_[op] = it->second;
    rank_in_group_[op] = groups_[it->second].size();
    groups_[it->second].push_back(op);
  }
  group_placed_.assign(groups_.size(), 0);
}

void Linearizer::BuildEntries() {
  struct Event {
    std::int64_t time;
    bool is_return;
    std::size_t op;
  };
  std::vector<Event> events;
  for (std::size_t i = 0; i < history_.ops.size(); ++i) {
    events.push_back({history_.ops[i].invoke_ns, false, i});
    if (history_.ops[i].determinate()) {
      events.push_back({history_.ops[i].complete_ns, true, i});
    }
  }
  // Keeps invariant (1); among calls at one time, invocation order, which
  // pruning (3) relies on.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.time, a.is_return, a.op) < std::tie(b.time, b.is_return, b.op);
  });
  entries_.assign(events.size() + 1, Entry{});
  std::vector<std::size_t> call_of(history_.ops.size(), kNil);
  for (std::size_t i = 0; i < events.size(); ++i) {
    Entry& entry = entries_[i + 1];
    entry.op = events[i].op;
    entry.is_call = !events[i].is_return;
    entry.prev = i;
    entries_[i].next = i + 1;
    if (entry.is_call) {
      call_of[entry.op] = i + 1;
    } else {
      entries_[call_of[entry.op]].match = i + 1;
    }
  }
}

SearchResult Linearizer::Run() {
  if (remaining_ == 0) {
    return Finish(Verdict::kLinearizable);
  }
  std::size_t e = entries_[0].next;
  for (;;) {
    // A determinate op is unplaced, so its return lies ahead of any call we stand on.
    TENURE_CHECK(e != kNil);
    const Entry& entry = entries_[e];
    Placement placement = Placement::kRejected;
    if (entry.is_call) {
      placement = Skippable(entry.op) ? Placement::kRejected : TryPlace(e);
      if (placement == Placement::kPlaced) {
        if (remaining_ == 0) {
          return Finish(Verdict::kLinearizable);
        }
        if (cache_.size() >= options_.max_states) {
          return Finish(Verdict::kUndecided);
        }
        e = entries_[0].next;
        continue;
      }
      if (placement == Placement::kRejected) {
        e = entry.next;
        continue;
      }
    } else {
      // The op completed before anything placed it.
      NoteBlocked(entry.op);
    }
    // This configuration cannot be completed: undo the last choice.
    e = Backtrack();
    if (e == kNil) {
      return Finish(Verdict::kNotLinearizable);
    }
  }
}

bool Linearizer::Skippable(std::size_t op) const {
  if (history_.ops[op].determinate()) {
    return false;
  }
  if (state_.version > ceiling_[op]) {
    return true;  // Pruning (2).
  }
  // Reduction (3); when reusable, the group's first member serves for all.
  return rank_in_group_[op] != (options_.reusable_indeterminate ? 0 : group_placed_[group_[op]]);
}

bool Linearizer::Dominated(std::size_t op) const {
  const ModelOp& o = history_.ops[op];
  if (options_.reusable_indeterminate || o.kind != OpKind::kSet || o.if_version) {
    return false;
  }
  // The requests that apply here, write what `op` writes, and are of no use
  // afterwards (an if_version) or of less use (an expect, over no expect).
  const Request narrower[] = {
      Request{OpKind::kSet, o.target, std::nullopt, state_.version},
      Request{OpKind::kSet, o.target, state_.state, state_.version},
      // Only narrower than a blind `op`; for one with expect, its own request.
      Request{OpKind::kSet, o.target, state_.state, std::nullopt},
  };
  TENURE_CHECK(!completions_.empty());
  const std::int64_t enabled_until_ns = completions_.begin()->first;
  for (const Request& request : narrower) {
    if (o.expect && !std::get<3>(request)) {
      continue;
    }
    const auto it = group_of_request_.find(request);
    if (it == group_of_request_.end()) {
      continue;
    }
    const std::vector<std::size_t>& members = groups_[it->second];
    const std::size_t first_unplaced = group_placed_[it->second];
    if (first_unplaced < members.size() &&
        history_.ops[members[first_unplaced]].invoke_ns <= enabled_until_ns) {
      return true;
    }
  }
  return false;
}

Linearizer::Placement Linearizer::TryPlace(std::size_t call) {
  const std::size_t op = entries_[call].op;
  const std::optional<ModelState> next = Apply(history_.ops[op], state_);
  if (!next) {
    return Placement::kRejected;
  }
  // Reduction (4): an enabled determinate op that leaves the state as it is
  // can go first in any completion of this configuration.
  const bool forced = history_.ops[op].determinate() && *next == state_;
  if (!history_.ops[op].determinate() && Dominated(op)) {
    return Placement::kRejected;  // Reduction (5).
  }
  if (next->version > version_max_) {
    return Placement::kRejected;  // Only possible when relaxed, and never needed then.
  }
  Mark(op, true);
  if (!WithinCeilings(*next)) {
    Blame(FirstToDie(next->version, kNil), *next, true, std::nullopt);
    Mark(op, false);
    return Placement::kRejected;
  }
  if (!cache_.Insert(Key(*next))) {
    Mark(op, false);
    // Seen before means explored and failed, since an ancestor on the stack
    // has fewer ops placed; for a forced op that condemns this configuration.
    return forced ? Placement::kDeadEnd : Placement::kRejected;
  }
  stack_.push_back({call, state_, forced});
  state_ = *next;
  if (!Reusable(op)) {
    Lift(call);
  }
  return Placement::kPlaced;
}

std::size_t Linearizer::Backtrack() {
  while (!stack_.empty()) {
    const Frame frame = stack_.back();
    stack_.pop_back();
    if (!Reusable(entries_[frame.call].op)) {
      Unlift(frame.call);
    }
    state_ = frame.before;
    Mark(entries_[frame.call].op, false);
    if (!frame.forced) {
      return entries_[frame.call].next;
    }
  }
  return kNil;
}

void Linearizer::Mark(std::size_t op, bool placed) {
  const std::size_t slot = slot_[op];
  if (Reusable(op)) {
    return;
  }
  if (!history_.ops[op].determinate()) {
    std::size_t& group_placed = group_placed_[group_[op]];
    if (placed) {
      TENURE_CHECK(rank_in_group_[op] == group_placed);
      indet_done_.Set(slot);
      ++group_placed;
    } else {
      TENURE_CHECK(rank_in_group_[op] + 1 == group_placed);
      indet_done_.Reset(slot);
      --group_placed;
    }
    return;
  }
  if (placed) {
    completions_.erase({history_.ops[op].complete_ns, op});
  } else {
    completions_.emplace(history_.ops[op].complete_ns, op);
  }
  if (options_.version_pruning && ceiling_[op] != kNoCeiling) {
    if (placed) {
      ceilings_.erase({ceiling_[op], op});
    } else {
      ceilings_.emplace(ceiling_[op], op);
    }
  }
  // Keeps invariant (2).
  if (placed) {
    TENURE_CHECK(!det_done_.Test(slot));
    det_done_.Set(slot);
    --remaining_;
    if (slot == prefix_) {
      prefix_ = det_done_.FirstClearFrom(slot);
    }
    last_ = std::max({last_, slot + 1, prefix_});
    return;
  }
  TENURE_CHECK(det_done_.Test(slot));
  det_done_.Reset(slot);
  ++remaining_;
  prefix_ = std::min(prefix_, slot);
  if (slot + 1 == last_) {
    const std::size_t below = det_done_.LastSetIn(prefix_, slot);
    last_ = below == kNoBit ? prefix_ : below + 1;
  }
}

void Linearizer::Lift(std::size_t call) {
  for (std::size_t e : {call, entries_[call].match}) {
    if (e == kNil) {
      continue;
    }
    const Entry& entry = entries_[e];
    entries_[entry.prev].next = entry.next;
    if (entry.next != kNil) {
      entries_[entry.next].prev = entry.prev;
    }
  }
}

void Linearizer::Unlift(std::size_t call) {
  // Dancing links: the reverse of Lift, relying on invariant (3)'s LIFO order.
  for (std::size_t e : {entries_[call].match, call}) {
    if (e == kNil) {
      continue;
    }
    const Entry& entry = entries_[e];
    entries_[entry.prev].next = e;
    if (entry.next != kNil) {
      entries_[entry.next].prev = e;
    }
  }
}

bool Linearizer::WithinCeilings(ModelState next) const {
  return ceilings_.empty() || next.version <= ceilings_.begin()->first;
}

std::span<const std::uint64_t> Linearizer::Key(ModelState next) {
  key_.clear();
  key_.push_back(next.version);
  key_.push_back(next.state);
  // Determinate ops: by invariant (2), the prefix length and the window after it.
  key_.push_back(prefix_);
  if (last_ > prefix_) {
    const std::size_t first_word = prefix_ >> 6;
    const std::size_t last_word = (last_ - 1) >> 6;
    key_.push_back(last_word - first_word + 1);
    for (std::size_t w = first_word; w <= last_word; ++w) {
      key_.push_back(det_done_.words()[w]);
    }
  } else {
    key_.push_back(0);
  }
  if (options_.reusable_indeterminate) {
    return key_;  // Nothing is used up.
  }
  // Indeterminate ops still alive in `next` (pruning 2), trimmed of zero words.
  std::size_t first_nonzero = kNil;
  std::size_t last_nonzero = 0;
  for (std::size_t w = 0; w < masked_.size(); ++w) {
    std::uint64_t bits = indet_done_.words()[w];
    std::uint64_t alive = bits;
    while (bits != 0) {
      const int bit = std::countr_zero(bits);
      bits &= bits - 1;
      if (next.version > ceiling_[indeterminate_[w * 64 + static_cast<std::size_t>(bit)]]) {
        alive &= ~(std::uint64_t{1} << bit);
      }
    }
    masked_[w] = alive;
    if (alive != 0) {
      first_nonzero = std::min(first_nonzero, w);
      last_nonzero = w;
    }
  }
  if (first_nonzero != kNil) {
    key_.push_back(first_nonzero);
    key_.insert(key_.end(), masked_.begin() + static_cast<std::ptrdiff_t>(first_nonzero),
                masked_.begin() + static_cast<std::ptrdiff_t>(last_nonzero + 1));
  }
  return key_;
}

void Linearizer::NoteBlocked(std::size_t op) {
  const std::optional<ModelState> next = Apply(history_.ops[op], state_);
  if (!next) {
    Blame(op, state_, false, std::nullopt);
    return;
  }
  // It fits, so pruning (1) or the memo turned it away; the memo means this
  // configuration failed before, and was blamed then.
  const std::size_t condemned = FirstToDie(next->version, op);
  if (condemned == kNil) {
    return;
  }
  const bool follows = history_.ops[condemned].invoke_ns > history_.ops[op].complete_ns;
  Blame(condemned, *next, true, follows ? std::optional<std::size_t>(op) : std::nullopt);
}

std::size_t Linearizer::FirstToDie(std::uint64_t version, std::size_t except) const {
  std::size_t first = kNil;
  std::size_t compared = 0;
  for (const auto& [ceiling, op] : ceilings_) {
    if (ceiling >= version || compared++ == kDeathCandidatesMax) {
      break;
    }
    if (op != except &&
        (first == kNil || history_.ops[op].complete_ns < history_.ops[first].complete_ns)) {
      first = op;
    }
  }
  return first;
}

void Linearizer::Blame(std::size_t op, ModelState state, bool condemned,
                       std::optional<std::size_t> forced_by) {
  TENURE_CHECK(op != kNil);
  const std::int64_t died_ns = history_.ops[op].complete_ns;
  const std::int64_t last_ns = blocked_ ? history_.ops[blocked_op_].complete_ns : 0;
  // A natural failure of the same op says more than a cut branch does.
  const bool sharper = died_ns == last_ns && op == blocked_op_ && condemned_ && !condemned;
  if (!blocked_ || died_ns > last_ns || sharper) {
    blocked_ = true;
    blocked_op_ = op;
    condemned_ = condemned;
    forced_by_ = forced_by;
    blocked_states_.assign(1, state);
    return;
  }
  if (op != blocked_op_ || condemned != condemned_) {
    return;  // Ties go to the first blamed.
  }
  if (!forced_by_) {
    forced_by_ = forced_by;
  }
  if (std::find(blocked_states_.begin(), blocked_states_.end(), state) != blocked_states_.end()) {
    return;
  }
  if (blocked_states_.size() < kBlockedStatesMax) {
    blocked_states_.push_back(state);
    return;
  }
  // Full: a state at the very version the op needs says most (e.g. that its
  // expect fails there), so it displaces one that does not.
  const std::uint64_t needed = ceiling_[op];
  if (state.version == needed) {
    for (ModelState& kept : blocked_states_) {
      if (kept.version != needed) {
        kept = state;
        return;
      }
    }
  }
}

SearchResult Linearizer::Finish(Verdict verdict) {
  SearchResult result;
  result.verdict = verdict;
  result.states = cache_.size();
  if (verdict == Verdict::kNotLinearizable) {
    TENURE_CHECK(blocked_);
    result.blocked_op = blocked_op_;
    result.condemned = condemned_;
    result.forced_by = forced_by_;
    result.blocked_states = blocked_states_;
  }
  return result;
}

}  // namespace

SearchResult Linearize(const EntityHistory& history, const SearchOptions& options) {
  return Linearizer(history, options).Run();
}

}  // namespace tenure::history::internal
