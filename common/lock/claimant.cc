#include "tenure/lock/claimant.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <limits>
#include <utility>

#include "tenure/base/check.h"

namespace tenure::lock {

using protocol::LockItem;
using protocol::LockMessage;

namespace {

// Heartbeat send times kept to turn HB_ACKs into deadlines; older ones would
// give deadlines in the past anyway.
constexpr std::size_t kHeartbeatsRemembered = 64;

std::int64_t ToWireMillis(TimePoint t) { return ToMillis(t.time_since_epoch()); }

// Rounds down, so a time read back is never later than the one sent: a grant's
// claim_sent can only move earlier, which makes the no-break check stricter.
TimePoint FromWireMillis(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

}  // namespace

Claimant::Claimant(ClaimantOptions options, TimePoint /*start*/)
    : options_(std::move(options)),
      majority_(Majority(options_.voters.size())),
      settings_(SettingsText(options_.voters, options_.timing)),
      rng_(options_.seed) {
  TENURE_CHECK(!options_.node_id.empty());
  TENURE_CHECK(!options_.voters.empty());
  TENURE_CHECK(options_.items_per_message_max > 0);
  for (const NodeId& v : options_.voters) {
    voter_ids_.push_back(v.str());
  }
  std::sort(voter_ids_.begin(), voter_ids_.end());
  voter_ids_.erase(std::unique(voter_ids_.begin(), voter_ids_.end()), voter_ids_.end());
  voters_.resize(voter_ids_.size());
  for (const NodeId& v : options_.voters) {
    option_voter_index_.push_back(*VoterIndex(v.str()));
  }
  denial_words_ = (voter_ids_.size() + 63) / 64;
}

std::optional<std::size_t> Claimant::VoterIndex(std::string_view voter) const {
  auto it = std::lower_bound(voter_ids_.begin(), voter_ids_.end(), voter);
  if (it == voter_ids_.end() || *it != voter) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(it - voter_ids_.begin());
}

// ------------------------------------------------------------- the rule

Duration Claimant::DeadlineSpan() const {
  const LockTiming& t = options_.timing;
  if (!options_.rules.session_margin) {
    return t.lease;  // Trusts the voter's clock to run exactly as fast as ours.
  }
  const double factor = (1.0 - t.drift) / (1.0 + t.drift);
  const auto span =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, Duration::period>(
          static_cast<double>(t.lease.count()) * factor));
  return span - t.margin;
}

bool Claimant::Counts(std::size_t voter, const Grant& grant, TimePoint now) const {
  const VoterView& v = voters_[voter];
  // No grant has incarnation 0, so it never counts either.
  if (v.incarnation == Incarnation{} || grant.voter_incarnation != v.incarnation) {
    return false;  // A grant from an earlier incarnation of the voter is void.
  }
  if (!v.deadline || now >= *v.deadline) {
    return false;
  }
  if (options_.rules.no_break && (!v.valid_since || *v.valid_since > grant.claim_sent)) {
    return false;  // The deadline lapsed after that CLAIM was sent: invariant (2).
  }
  return true;
}

std::size_t Claimant::Counted(const Name& n, TimePoint now) const {
  std::size_t count = 0;
  for (std::size_t v = 0; v < voters_.size(); ++v) {
    if (Counts(v, GrantOf(n, v), now)) {
      ++count;
    }
  }
  return count;
}

bool Claimant::MayServe(std::string_view name, TimePoint now) const {
  auto it = names_.find(name);
  return it != names_.end() && it->second.phase == Phase::kOwned &&
         Counted(it->second, now) >= majority_;
}

std::size_t Claimant::owned_count() const {
  return static_cast<std::size_t>(std::count_if(names_.begin(), names_.end(), [](const auto& kv) {
    return kv.second.phase == Phase::kOwned;
  }));
}

bool Claimant::claiming(const EntityId& name) const {
  auto it = names_.find(name.str());
  return it != names_.end() && it->second.phase == Phase::kClaiming;
}

// ------------------------------------------------------------- inputs

void Claimant::Tick(TimePoint now) {
  const std::uint64_t seq = ++heartbeat_seq_;
  heartbeat_sent_[seq] = now;
  while (heartbeat_sent_.size() > kHeartbeatsRemembered) {
    heartbeat_sent_.erase(heartbeat_sent_.begin());
  }
  for (const NodeId& v : options_.voters) {
    protocol::Heartbeat hb;
    hb.node = options_.node_id.str();
    hb.incarnation = options_.incarnation;
    hb.seq = seq;
    hb.sent_ms = ToWireMillis(now);
    hb.voter = options_.voter;
    hb.to = v.str();
    hb.settings = settings_;
    effects_.heartbeats.push_back(std::move(hb));
  }

  // The loop below ends every back-off due by now, so their wake-ups go;
  // back-offs it starts are pushed after this.
  while (!backoff_ends_.empty() && backoff_ends_.top().first <= now) {
    backoff_ends_.pop();
  }
  for (auto it = names_.begin(); it != names_.end();) {
    const std::string& name = it->first;
    Name& n = it->second;
    if (n.phase == Phase::kOwned && Counted(n, now) < majority_) {
      effects_.events.push_back(
          {LockEvent::Kind::kLost, EntityId(name), {}, "serving rule failed"});
      for (const NodeId& v : options_.voters) {
        QueueRelease(v.str(), name, n.claim);
      }
      it = EraseName(it);
      continue;
    }
    if (n.phase == Phase::kClaiming && now - n.since > options_.timing.claim_timeout()) {
      GiveUp(name, n, LockEvent::Kind::kFailed, now);
    } else if (n.phase == Phase::kBackoff && now >= n.since) {
      if (!n.wanted) {
        it = EraseName(it);
        continue;
      }
      StartClaim(name, n, now);
    } else if (n.phase != Phase::kBackoff) {
      // Repair: the same claim number again, to every voter not counted now
      // (a restarted voter is won back this way, after its quiet period).
      for (std::size_t i = 0; i < options_.voters.size(); ++i) {
        const std::size_t v = option_voter_index_[i];
        if (!Counts(v, GrantOf(n, v), now)) {
          QueueClaim(options_.voters[i].str(), name, n.claim, now);
        }
      }
    }
    ++it;
  }
  if (options_.rules.release_repeat) {
    for (const auto& [key, claim] : pending_releases_) {
      release_batch_[key.second].push_back({key.first, claim, {}});
    }
  }
  CompactSlots();
}

// Slots are reused, not returned: after most names went (a burst of
// entities passivated) the rows would keep their peak size for good. When
// fewer than a quarter are in use, the names get slots 0..n-1 again.
void Claimant::CompactSlots() {
  constexpr std::size_t kSlotsKept = 1024;
  const std::size_t slots = grants_.size() / voter_ids_.size();
  if (slots <= kSlotsKept || names_.size() * 4 >= slots) {
    return;
  }
  std::vector<Grant> grants(names_.size() * voter_ids_.size());
  std::vector<std::uint64_t> denials(names_.size() * denial_words_);
  std::unordered_map<std::uint32_t, std::string> holders;
  std::unordered_map<std::uint32_t, TimePoint> lapse_at;
  std::uint32_t next = 0;
  for (auto& [name, n] : names_) {
    std::copy_n(grants_.begin() + static_cast<std::ptrdiff_t>(n.slot * voter_ids_.size()),
                voter_ids_.size(),
                grants.begin() + static_cast<std::ptrdiff_t>(next * voter_ids_.size()));
    std::copy_n(denials_.begin() + static_cast<std::ptrdiff_t>(n.slot * denial_words_),
                denial_words_, denials.begin() + static_cast<std::ptrdiff_t>(next * denial_words_));
    if (auto h = holders_.find(n.slot); h != holders_.end()) {
      holders.emplace(next, std::move(h->second));
    }
    if (auto l = lapse_at_.find(n.slot); l != lapse_at_.end()) {
      lapse_at.emplace(next, l->second);
    }
    n.slot = next++;
  }
  grants_ = std::move(grants);
  denials_ = std::move(denials);
  holders_ = std::move(holders);
  lapse_at_ = std::move(lapse_at);
  free_slots_.clear();
  free_slots_.shrink_to_fit();
}

void Claimant::Claim(const EntityId& id, TimePoint now) {
  const std::string& name = id.str();
  auto [it, fresh] = AddName(name);
  Name& n = it->second;
  if (fresh) {
    StartClaim(name, n, now);
    return;
  }
  switch (n.phase) {
    case Phase::kClaiming:
      return;
    case Phase::kOwned:
      if (Counted(n, now) >= majority_) {
        effects_.events.push_back({LockEvent::Kind::kGranted, EntityId(name), {}, {}});
      } else {
        StartClaim(name, n, now);  // The rule broke since the last Tick.
      }
      return;
    case Phase::kBackoff:
      if (auto holder = holders_.find(n.slot); holder != holders_.end()) {
        // Denied moments ago: send this request to the holder now rather
        // than claim again (and be denied again) after the back-off.
        effects_.events.push_back({LockEvent::Kind::kDenied, EntityId(name), NodeId(holder->second),
                                   "held by another node"});
        return;
      }
      n.wanted = true;
      return;
  }
}

void Claimant::Release(const EntityId& id, TimePoint /*now*/) {
  const std::string& name = id.str();
  auto it = names_.find(name);
  if (it == names_.end()) {
    return;
  }
  if (it->second.phase != Phase::kBackoff) {  // GiveUp released a backing-off name already.
    for (const NodeId& v : options_.voters) {
      QueueRelease(v.str(), name, it->second.claim);
    }
  }
  EraseName(it);
}

void Claimant::Step(const LockMessage& m, TimePoint now) {
  if (options_.rules.incarnation_echo && m.to_incarnation != options_.incarnation) {
    return;  // Meant for another incarnation of this node id.
  }
  switch (m.kind) {
    case LockMessage::Kind::kHbAck:
      OnHbAck(m, now);
      return;
    case LockMessage::Kind::kGrant:
      OnGrant(m, now);
      return;
    case LockMessage::Kind::kDeny:
      OnDeny(m, now);
      return;
    case LockMessage::Kind::kReleased:
      OnReleased(m);
      return;
    case LockMessage::Kind::kNack:
      OnNack(m, now);
      return;
    case LockMessage::Kind::kMismatch:
      OnMismatch(m, now);
      return;
    case LockMessage::Kind::kClaim:
    case LockMessage::Kind::kRelease:
    case LockMessage::Kind::kQuiet:
      return;  // For voters.
  }
}

// A supervisor restarting a crashed node at once meets voters that still
// hold the dead process's session; exiting on the first NACK would turn
// every quick restart into a crash loop. So the new process waits, serving
// nothing (it has no grants), and only a voter that keeps refusing it for
// twin_wait() proves a live twin.
void Claimant::OnNack(const LockMessage& m, TimePoint now) {
  if (!VoterIndex(m.from)) {
    return;
  }
  Refused(m.from,
          "voter " + m.from + " sees another live process with node id '" + options_.node_id.str() +
              "' (is it started twice?)",
          now);
}

// A voter, or the broker (which refuses to route for this node), disagrees
// about the cluster. The wait before giving up is the NACK's: a voter
// restarted with the settings put right meanwhile ends the run with its
// HB_ACK.
void Claimant::OnMismatch(const LockMessage& m, TimePoint now) {
  const std::optional<std::size_t> index = VoterIndex(m.from);
  const bool broker = m.from == kWitnessId;
  if (!index && !broker) {
    return;
  }
  if (index) {
    // It keeps no session for this node: what it granted may be given away.
    voters_[*index].deadline.reset();
    voters_[*index].valid_since.reset();
  }
  const std::string who = broker ? "the broker" : "voter " + m.from;
  Refused(m.from,
          who + " refuses node '" + options_.node_id.str() + "': its settings differ (node: '" +
              settings_ + "', " + who + ": '" + m.settings +
              "'); every node and the broker need the same --voters and --lease",
          now);
}

void Claimant::Refused(const std::string& from, const std::string& reason, TimePoint now) {
  if (fatal_) {
    return;
  }
  auto [it, first] = refused_since_.try_emplace(from, now);
  if (first) {
    effects_.events.push_back({LockEvent::Kind::kRefused, {}, NodeId(from), reason});
    return;
  }
  if (now - it->second >= options_.timing.twin_wait()) {
    fatal_ = true;
    effects_.events.push_back({LockEvent::Kind::kFatal, {}, NodeId(from), reason});
  }
}

void Claimant::OnHbAck(const LockMessage& m, TimePoint now) {
  const std::optional<std::size_t> index = VoterIndex(m.from);
  if (!index) {
    return;
  }
  refused_since_.erase(m.from);
  VoterView& v = voters_[*index];
  if (m.from_incarnation != v.incarnation) {
    // The voter restarted: nothing it said before counts any more.
    v = VoterView{m.from_incarnation, std::nullopt, std::nullopt};
  }
  auto sent = heartbeat_sent_.find(m.seq);
  if (sent == heartbeat_sent_.end()) {
    return;
  }
  const TimePoint deadline = sent->second + DeadlineSpan();
  if (deadline <= now) {
    return;
  }
  if (!v.deadline || now >= *v.deadline) {
    v.valid_since = now;  // A new unbroken stretch starts.
  }
  v.deadline = v.deadline ? std::max(*v.deadline, deadline) : deadline;
  for (auto& [name, n] : names_) {
    Progress(name, n, now);
  }
}

void Claimant::OnGrant(const LockMessage& m, TimePoint now) {
  const std::optional<std::size_t> voter = VoterIndex(m.from);
  if (!voter) {
    return;
  }
  for (const LockItem& item : m.items) {
    auto it = names_.find(item.name);
    const bool current = it != names_.end() && it->second.phase != Phase::kBackoff &&
                         (!options_.rules.claim_numbers || item.claim == it->second.claim);
    if (!current) {
      // Nobody pursues this claim: free it at that voter.
      if (options_.rules.release_repeat) {
        QueueRelease(m.from, item.name, item.claim);
      }
      continue;
    }
    Name& n = it->second;
    GrantOf(n, *voter) = Grant{m.from_incarnation, FromWireMillis(m.sent_ms)};
    SetDenied(n, *voter, false);
    Progress(item.name, n, now);
  }
}

void Claimant::OnDeny(const LockMessage& m, TimePoint now) {
  const std::optional<std::size_t> voter = VoterIndex(m.from);
  if (!voter) {
    return;
  }
  for (const LockItem& item : m.items) {
    auto it = names_.find(item.name);
    if (it == names_.end() || it->second.phase != Phase::kClaiming ||
        (options_.rules.claim_numbers && item.claim != it->second.claim)) {
      continue;
    }
    Name& n = it->second;
    SetDenied(n, *voter, true);
    GrantOf(n, *voter) = Grant{};
    if (item.holder.empty()) {
      holders_.erase(n.slot);
    } else {
      holders_[n.slot] = item.holder;
    }
    if (item.lapse_ms != 0) {
      const TimePoint lapse = now + milliseconds(item.lapse_ms);
      auto [at, fresh] = lapse_at_.try_emplace(n.slot, lapse);
      at->second = std::max(at->second, lapse);  // The latest: a majority must have lapsed.
    }
    if (DenialCount(n) > options_.voters.size() - majority_) {
      GiveUp(item.name, n, LockEvent::Kind::kDenied, now);
    }
  }
}

void Claimant::OnReleased(const LockMessage& m) {
  for (const LockItem& item : m.items) {
    auto it = pending_releases_.find({item.name, m.from});
    if (it != pending_releases_.end() && it->second <= item.claim) {
      pending_releases_.erase(it);  // Invariant (3).
    }
  }
}

// ------------------------------------------------------------- helpers

void Claimant::StartClaim(const std::string& name, Name& n, TimePoint now) {
  n.phase = Phase::kClaiming;
  n.claim = next_claim_;  // Invariant (1).
  next_claim_ = Next(next_claim_);
  n.since = now;
  n.wanted = false;
  ClearVotes(n);
  holders_.erase(n.slot);
  lapse_at_.erase(n.slot);
  for (const NodeId& v : options_.voters) {
    QueueClaim(v.str(), name, n.claim, now);
  }
}

void Claimant::GiveUp(const std::string& name, Name& n, LockEvent::Kind why, TimePoint now) {
  auto holder = holders_.find(n.slot);
  effects_.events.push_back(
      {why, EntityId(name), holder == holders_.end() ? NodeId() : NodeId(holder->second),
       why == LockEvent::Kind::kDenied ? "denied by a majority of voters"
                                       : "no majority within the claim timeout"});
  for (const NodeId& v : options_.voters) {
    QueueRelease(v.str(), name, n.claim);
  }
  // A random back-off of up to half a lease keeps claimants apart. When the
  // voters denied because a holder lives, they also said when its session
  // lapses there if it is silent: a dead holder's names are then claimed
  // again right after that (a failover takes a lease, not a lease and a
  // half), with a short jitter of their own. Whichever comes first: a live
  // holder that releases is still followed within half a lease.
  const auto micros = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  };
  std::int64_t wait =
      std::uniform_int_distribution<std::int64_t>(0, micros(options_.timing.lease / 2))(rng_);
  if (auto lapse = lapse_at_.find(n.slot); lapse != lapse_at_.end()) {
    if (why == LockEvent::Kind::kDenied) {
      const std::int64_t after_lapse =
          micros(lapse->second - now) +
          std::uniform_int_distribution<std::int64_t>(0, micros(options_.timing.lease / 20))(rng_);
      wait = std::clamp<std::int64_t>(after_lapse, 0, wait);
    }
    lapse_at_.erase(lapse);
  }
  n.phase = Phase::kBackoff;
  n.since = now + std::chrono::microseconds(wait);
  n.wanted = false;
  ClearVotes(n);  // The holder stays: Claim sends requests to it during the back-off.
  backoff_ends_.emplace(n.since, name);
}

std::optional<TimePoint> Claimant::NextBackoffEnd() const {
  if (backoff_ends_.empty()) {
    return std::nullopt;
  }
  return backoff_ends_.top().first;
}

void Claimant::EndBackoffs(TimePoint now) {
  while (!backoff_ends_.empty() && backoff_ends_.top().first <= now) {
    const std::string name = backoff_ends_.top().second;
    backoff_ends_.pop();
    auto it = names_.find(name);
    // Entries outlive their back-off (claimed again, released): skip those.
    if (it == names_.end() || it->second.phase != Phase::kBackoff || now < it->second.since) {
      continue;
    }
    if (!it->second.wanted) {
      EraseName(it);
    } else {
      StartClaim(name, it->second, now);
    }
  }
}

void Claimant::SetDenied(const Name& n, std::size_t voter, bool denied) {
  std::uint64_t& word = denials_[n.slot * denial_words_ + voter / 64];
  const std::uint64_t bit = std::uint64_t{1} << (voter % 64);
  word = denied ? word | bit : word & ~bit;
}

std::size_t Claimant::DenialCount(const Name& n) const {
  std::size_t count = 0;
  for (std::size_t w = 0; w < denial_words_; ++w) {
    count += static_cast<std::size_t>(std::popcount(denials_[n.slot * denial_words_ + w]));
  }
  return count;
}

void Claimant::ClearVotes(const Name& n) {
  std::fill_n(grants_.begin() + static_cast<std::ptrdiff_t>(n.slot * voter_ids_.size()),
              voter_ids_.size(), Grant{});
  std::fill_n(denials_.begin() + static_cast<std::ptrdiff_t>(n.slot * denial_words_), denial_words_,
              0);
}

std::pair<Claimant::Names::iterator, bool> Claimant::AddName(const std::string& name) {
  auto [it, fresh] = names_.try_emplace(name);
  if (!fresh) {
    return {it, false};
  }
  if (free_slots_.empty()) {
    TENURE_CHECK(grants_.size() / voter_ids_.size() < std::numeric_limits<std::uint32_t>::max());
    free_slots_.push_back(static_cast<std::uint32_t>(grants_.size() / voter_ids_.size()));
    grants_.resize(grants_.size() + voter_ids_.size());
    denials_.resize(denials_.size() + denial_words_);
  }
  it->second.slot = free_slots_.back();  // Keeps invariant (4).
  free_slots_.pop_back();
  return {it, true};
}

Claimant::Names::iterator Claimant::EraseName(Names::iterator it) {
  ClearVotes(it->second);  // Keeps invariant (4).
  holders_.erase(it->second.slot);
  lapse_at_.erase(it->second.slot);
  free_slots_.push_back(it->second.slot);
  return names_.erase(it);
}

void Claimant::Progress(const std::string& name, Name& n, TimePoint now) {
  if (n.phase == Phase::kClaiming && Counted(n, now) >= majority_) {
    n.phase = Phase::kOwned;
    effects_.events.push_back({LockEvent::Kind::kGranted, EntityId(name), {}, {}});
  }
}

void Claimant::QueueClaim(const std::string& voter, const std::string& name, ClaimNumber claim,
                          TimePoint now) {
  if (!claim_batch_sent_) {
    claim_batch_sent_ = now;  // The batch's sent time is its earliest: see FromWireMillis.
  }
  claim_batch_[voter].push_back({name, claim, {}});
}

void Claimant::QueueRelease(const std::string& voter, const std::string& name, ClaimNumber claim) {
  release_batch_[voter].push_back({name, claim, {}});
  if (options_.rules.release_repeat) {
    ClaimNumber& pending = pending_releases_[{name, voter}];
    pending = std::max(pending, claim);
  }
}

ClaimantEffects Claimant::TakeEffects(TimePoint /*now*/) {
  auto flush = [this](std::map<std::string, std::vector<LockItem>>& batch, LockMessage::Kind kind,
                      std::int64_t sent_ms) {
    for (auto& [voter, items] : batch) {
      for (std::size_t i = 0; i < items.size(); i += options_.items_per_message_max) {
        LockMessage m;
        m.kind = kind;
        m.from = options_.node_id.str();
        m.from_incarnation = options_.incarnation;
        m.to = voter;
        m.sent_ms = sent_ms;
        const std::size_t end = std::min(items.size(), i + options_.items_per_message_max);
        m.items.assign(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(i)),
                       std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)));
        effects_.messages.push_back(std::move(m));
      }
    }
    batch.clear();
  };
  if (claim_batch_sent_) {
    flush(claim_batch_, LockMessage::Kind::kClaim, ToWireMillis(*claim_batch_sent_));
    claim_batch_sent_.reset();
  }
  flush(release_batch_, LockMessage::Kind::kRelease, 0);
  return std::exchange(effects_, ClaimantEffects{});
}

void Claimant::CheckInvariants(TimePoint now) const {
  const std::size_t slots = grants_.size() / voter_ids_.size();
  TENURE_CHECK(grants_.size() == slots * voter_ids_.size());
  TENURE_CHECK(denials_.size() == slots * denial_words_);
  // Invariant (4): the names and the free slots share the slots out exactly.
  TENURE_CHECK(names_.size() + free_slots_.size() == slots);
  std::vector<bool> used(slots, false);
  for (const auto& [name, n] : names_) {
    TENURE_CHECK(n.slot < slots);
    TENURE_CHECK(!used[n.slot]);
    used[n.slot] = true;
    TENURE_CHECK(n.claim < next_claim_);  // Invariant (1).
    if (n.phase != Phase::kOwned) {
      TENURE_CHECK(!MayServe(name, now));
    }
  }
  for (std::uint32_t slot : free_slots_) {
    TENURE_CHECK(slot < slots);
    TENURE_CHECK(!used[slot]);
    used[slot] = true;
    for (std::size_t v = 0; v < voter_ids_.size(); ++v) {
      TENURE_CHECK(grants_[slot * voter_ids_.size() + v].voter_incarnation == Incarnation{});
    }
    for (std::size_t w = 0; w < denial_words_; ++w) {
      TENURE_CHECK(denials_[slot * denial_words_ + w] == 0);
    }
    TENURE_CHECK(holders_.count(slot) == 0);
    TENURE_CHECK(lapse_at_.count(slot) == 0);
  }
}

}  // namespace tenure::lock
