#include "tenure/lock/voter.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

#include "tenure/base/check.h"

namespace tenure::lock {

using protocol::LockItem;
using protocol::LockMessage;

namespace {

std::string SettingsOf(const VoterOptions& options) {
  if (!options.rules.settings_check) {
    return {};
  }
  // A voter told no voter set would refuse every node: a wiring error.
  TENURE_CHECK(!options.voters.empty());
  return SettingsText(options.voters, options.timing);
}

}  // namespace

Voter::Voter(VoterOptions options, TimePoint start)
    : options_(std::move(options)), start_(start), settings_(SettingsOf(options_)) {
  TENURE_CHECK(!options_.id.empty());
  TENURE_CHECK(options_.timing.lease > Duration::zero());
}

bool Voter::Quiet(TimePoint now) const { return !quiet_until_ || now < *quiet_until_; }

void Voter::NoteInput(TimePoint now) {
  // The quiet period runs from the first input, and again from the first one
  // after a silence of a lease or more: meanwhile the broker may have routed
  // this voter id to another process, which could grant only after its own
  // quiet period, and nodes may still count its grants. That quiet period,
  // read on this clock, is at least (lease + margin) (1 - d) / (1 + d); the
  // silence that counts is never longer than that.
  const LockTiming& t = options_.timing;
  const auto silence_max = std::min<Duration>(
      t.lease,
      std::chrono::duration_cast<Duration>(t.quiet_period() * ((1.0 - t.drift) / (1.0 + t.drift))));
  if (!quiet_until_ || (last_input_ && now - *last_input_ >= silence_max)) {
    const TimePoint from = std::max(now, start_);
    quiet_until_ = options_.rules.quiet_period ? from + options_.timing.quiet_period() : from;
  }
  last_input_ = now;
}

bool Voter::Alive(const std::string& node, Incarnation incarnation, TimePoint now) const {
  auto it = sessions_.find(node);
  return it != sessions_.end() && it->second.incarnation == incarnation &&
         now - it->second.last_seen < options_.timing.lease;
}

// Rounded up, and at least 1 (0 means "not said"): a claimant that waits
// this long finds the session lapsed here unless the holder heartbeated.
std::uint32_t Voter::LapseMillis(const HolderSlot& holder, TimePoint now) const {
  auto it = sessions_.find(holder.node);
  if (it == sessions_.end()) {
    return 0;
  }
  const Duration left = it->second.last_seen + options_.timing.lease - now;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(ms, 1, ToMillis(options_.timing.lease)));
}

LockMessage Voter::Reply(LockMessage::Kind kind, const std::string& node,
                         Incarnation node_incarnation) const {
  LockMessage m;
  m.kind = kind;
  m.from = options_.id.str();
  m.from_incarnation = options_.incarnation;
  m.to = node;
  m.to_incarnation = node_incarnation;  // The incarnation echo.
  return m;
}

bool Voter::Refuse(const protocol::Heartbeat& hb, TimePoint now) {
  if (!options_.rules.settings_check || hb.settings == settings_) {
    return false;
  }
  LockMessage mismatch = Reply(LockMessage::Kind::kMismatch, hb.node, hb.incarnation);
  mismatch.seq = hb.seq;
  mismatch.settings = settings_;
  outbox_.push_back(std::move(mismatch));
  auto [it, fresh] = refused_.try_emplace(hb.node);
  if ((fresh || it->second.incarnation != hb.incarnation) &&
      refusals_.size() < kRefusalsPendingMax) {
    refusals_.push_back({NodeId(hb.node), hb.incarnation, hb.settings});
  }
  it->second = Refused{hb.incarnation, now};
  return true;
}

void Voter::Step(const protocol::Heartbeat& hb, TimePoint now) {
  NoteInput(now);
  if (Refuse(hb, now)) {
    return;  // Invariant (5): no session, so nothing is granted to it either.
  }
  auto [it, fresh] = sessions_.try_emplace(hb.node);
  Session& session = it->second;
  if (!fresh && session.incarnation != hb.incarnation) {
    if (now - session.last_seen < options_.timing.lease) {
      // A second live process under this id: refuse it until the first lapses.
      outbox_.push_back(Reply(LockMessage::Kind::kNack, hb.node, hb.incarnation));
      return;
    }
    // The old incarnation's session expired here: its names are free now.
    if (auto h = holder_index_.find({hb.node, session.incarnation}); h != holder_index_.end()) {
      const std::uint32_t old = h->second;
      for (auto entry = table_.begin(); entry != table_.end();) {
        // Erase frees the slot with its last entry: stop before looking again.
        const bool last = entry->second.holder == old && holders_[old].entries == 1;
        entry = entry->second.holder == old ? Erase(entry) : std::next(entry);
        if (last) {
          break;
        }
      }
    }
  }
  session.incarnation = hb.incarnation;
  session.last_seen = now;
  LockMessage ack = Reply(LockMessage::Kind::kHbAck, hb.node, hb.incarnation);
  ack.seq = hb.seq;
  outbox_.push_back(std::move(ack));
}

void Voter::Step(const LockMessage& m, TimePoint now) {
  NoteInput(now);
  switch (m.kind) {
    case LockMessage::Kind::kClaim:
      OnClaim(m, now);
      return;
    case LockMessage::Kind::kRelease:
      OnRelease(m);
      return;
    case LockMessage::Kind::kQuiet:
      // The broker routes this voter id here from now on; until now another
      // process may have voted under it (a twin, or this one's predecessor),
      // however short this one's silence was (it may have been handling
      // messages queued while it was paused). Nodes count that process's
      // grants at most a lease after its last input, which came before now.
      if (options_.rules.quiet_period) {
        quiet_until_ =
            std::max(*quiet_until_, std::max(now, start_) + options_.timing.quiet_period());
      }
      return;
    default:
      return;  // Replies are for nodes; a voter ignores them.
  }
}

void Voter::OnClaim(const LockMessage& m, TimePoint now) {
  if (Quiet(now)) {
    return;  // Invariant (3): not even a DENY, the claimant keeps repairing.
  }
  // Invariant (5). A grant to a claimant without a session here would name a
  // holder that is not alive, which invariant (2) lets anyone take at once;
  // and a node this voter refused (other settings) must get nothing. No
  // DENY either: a node whose session lapsed here heartbeats before it
  // repairs, and is answered then.
  if (!Alive(m.from, m.from_incarnation, now)) {
    return;
  }
  LockMessage grant = Reply(LockMessage::Kind::kGrant, m.from, m.from_incarnation);
  grant.sent_ms = m.sent_ms;
  LockMessage deny = Reply(LockMessage::Kind::kDeny, m.from, m.from_incarnation);
  std::optional<std::uint32_t> claimant;  // Its index in holders_, once it holds something.
  for (const LockItem& item : m.items) {
    auto it = table_.find(item.name);
    const HolderSlot* holder = it == table_.end() ? nullptr : &holders_[it->second.holder];
    const bool same_holder =
        holder != nullptr && holder->node == m.from && holder->incarnation == m.from_incarnation;
    if (same_holder && options_.rules.claim_numbers && item.claim < it->second.claim) {
      continue;  // A late, older CLAIM: keeps invariant (1).
    }
    const bool grantable = holder == nullptr || same_holder || !Alive(*holder, now);  // Inv. (2).
    if (!grantable) {
      deny.items.push_back({item.name, item.claim, holder->node, LapseMillis(*holder, now)});
      continue;
    }
    if (!same_holder) {
      if (!claimant) {
        claimant = Intern(m.from, m.from_incarnation);
      }
      ++holders_[*claimant].entries;  // Invariant (4).
      if (it == table_.end()) {
        it = table_.emplace(item.name, Entry{*claimant, ClaimNumber{}}).first;
      } else {
        Unref(it->second.holder);
        it->second.holder = *claimant;
      }
    }
    it->second.claim = item.claim;
    grant.items.push_back({item.name, item.claim, {}});
  }
  if (!grant.items.empty()) {
    outbox_.push_back(std::move(grant));
  }
  if (!deny.items.empty()) {
    outbox_.push_back(std::move(deny));
  }
}

void Voter::OnRelease(const LockMessage& m) {
  LockMessage released = Reply(LockMessage::Kind::kReleased, m.from, m.from_incarnation);
  for (const LockItem& item : m.items) {
    auto it = table_.find(item.name);
    if (it != table_.end() && holders_[it->second.holder].node == m.from &&
        holders_[it->second.holder].incarnation == m.from_incarnation &&
        (!options_.rules.claim_numbers || it->second.claim <= item.claim)) {
      Erase(it);
    }
    released.items.push_back({item.name, item.claim, {}});
  }
  if (options_.rules.release_repeat) {
    outbox_.push_back(std::move(released));
  }
}

void Voter::Tick(TimePoint now) {
  // An entry whose holder's session lapsed is grantable to anyone already;
  // dropping it changes no answer and bounds the table. Sessions are kept
  // for a few leases more: they decide whether a new incarnation is NACKed.
  // Whether a holder is alive is found once per holder, not once per entry.
  std::vector<bool> alive(holders_.size());
  bool any_lapsed = false;
  for (std::size_t h = 0; h < holders_.size(); ++h) {
    alive[h] = holders_[h].entries > 0 && Alive(holders_[h], now);
    any_lapsed = any_lapsed || (holders_[h].entries > 0 && !alive[h]);
  }
  for (auto it = table_.begin(); any_lapsed && it != table_.end();) {
    it = alive[it->second.holder] ? std::next(it) : Erase(it);
  }
  entity::ShrinkIfSparse(table_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second.last_seen > 4 * options_.timing.lease) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  // Refused node ids are forgotten as sessions are, which bounds them; one
  // that comes back after that is reported again.
  for (auto it = refused_.begin(); it != refused_.end();) {
    it =
        now - it->second.last_seen > 4 * options_.timing.lease ? refused_.erase(it) : std::next(it);
  }
}

std::vector<LockMessage> Voter::TakeOutbox() { return std::exchange(outbox_, {}); }

std::vector<Refusal> Voter::TakeRefusals() { return std::exchange(refusals_, {}); }

std::optional<Holder> Voter::HolderOf(const EntityId& name) const {
  auto it = table_.find(name.str());
  if (it == table_.end()) {
    return std::nullopt;
  }
  const HolderSlot& holder = holders_[it->second.holder];
  return Holder{NodeId(holder.node), holder.incarnation, it->second.claim};
}

std::uint32_t Voter::Intern(const std::string& node, Incarnation incarnation) {
  auto [it, fresh] = holder_index_.try_emplace({node, incarnation}, 0);
  if (!fresh) {
    return it->second;
  }
  if (free_holders_.empty()) {
    TENURE_CHECK(holders_.size() < std::numeric_limits<std::uint32_t>::max());
    free_holders_.push_back(static_cast<std::uint32_t>(holders_.size()));
    holders_.emplace_back();
  }
  const std::uint32_t h = free_holders_.back();
  free_holders_.pop_back();
  TENURE_CHECK(holders_[h].entries == 0);
  holders_[h] = HolderSlot{node, incarnation, 0};
  it->second = h;
  return h;
}

void Voter::Unref(std::uint32_t h) {
  HolderSlot& holder = holders_[h];
  TENURE_CHECK(holder.entries > 0);
  if (--holder.entries == 0) {  // Invariant (4).
    holder_index_.erase({holder.node, holder.incarnation});
    free_holders_.push_back(h);
    holder.node.clear();
  }
}

Voter::Table::iterator Voter::Erase(Table::iterator it) {
  Unref(it->second.holder);
  return table_.erase(it);
}

void Voter::CheckInvariants() const {
  // Invariant (4): every holder counts exactly the entries naming it, and
  // the index lists exactly the holders in use.
  std::vector<std::size_t> entries(holders_.size(), 0);
  for (const auto& [name, entry] : table_) {
    TENURE_CHECK(entry.holder < holders_.size());
    ++entries[entry.holder];
  }
  std::vector<bool> free(holders_.size(), false);
  for (std::uint32_t h : free_holders_) {
    TENURE_CHECK(h < holders_.size());
    TENURE_CHECK(!free[h]);
    free[h] = true;
  }
  for (std::size_t h = 0; h < holders_.size(); ++h) {
    TENURE_CHECK(holders_[h].entries == entries[h]);
    TENURE_CHECK(free[h] == (entries[h] == 0));
  }
  TENURE_CHECK(holder_index_.size() + free_holders_.size() == holders_.size());
  for (const auto& [key, h] : holder_index_) {
    TENURE_CHECK(h < holders_.size() && !free[h]);
    TENURE_CHECK(holders_[h].node == key.first);
    TENURE_CHECK(holders_[h].incarnation == key.second);
  }
}

}  // namespace tenure::lock
