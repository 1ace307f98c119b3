#include "common/lock/voter.h"

#include <algorithm>
#include <utility>

#include "common/base/check.h"

namespace tenure::lock {

using protocol::LockItem;
using protocol::LockMessage;

Voter::Voter(VoterOptions options, TimePoint start) : options_(std::move(options)), start_(start) {
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

bool Voter::Alive(const std::string& node, std::uint64_t incarnation, TimePoint now) const {
  auto it = sessions_.find(node);
  return it != sessions_.end() && it->second.incarnation == incarnation &&
         now - it->second.last_seen < options_.timing.lease;
}

LockMessage Voter::Reply(LockMessage::Kind kind, const std::string& node,
                         std::uint64_t node_incarnation) const {
  LockMessage m;
  m.kind = kind;
  m.from = options_.id;
  m.from_incarnation = options_.incarnation;
  m.to = node;
  m.to_incarnation = node_incarnation;  // The incarnation echo.
  return m;
}

void Voter::Step(const protocol::Heartbeat& hb, TimePoint now) {
  NoteInput(now);
  auto [it, fresh] = sessions_.try_emplace(hb.node);
  Session& session = it->second;
  if (!fresh && session.incarnation != hb.incarnation) {
    if (now - session.last_seen < options_.timing.lease) {
      // A second live process under this id: refuse it until the first lapses.
      outbox_.push_back(Reply(LockMessage::Kind::kNack, hb.node, hb.incarnation));
      return;
    }
    // The old incarnation's session expired here: its names are free now.
    for (auto entry = table_.begin(); entry != table_.end();) {
      if (entry->second.node == hb.node && entry->second.incarnation == session.incarnation) {
        entry = table_.erase(entry);
      } else {
        ++entry;
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
    default:
      return;  // Replies are for nodes; a voter ignores them.
  }
}

void Voter::OnClaim(const LockMessage& m, TimePoint now) {
  if (Quiet(now)) {
    return;  // Invariant (3): not even a DENY, the claimant keeps repairing.
  }
  LockMessage grant = Reply(LockMessage::Kind::kGrant, m.from, m.from_incarnation);
  grant.sent_ms = m.sent_ms;
  LockMessage deny = Reply(LockMessage::Kind::kDeny, m.from, m.from_incarnation);
  for (const LockItem& item : m.items) {
    auto it = table_.find(item.name);
    const bool same_holder = it != table_.end() && it->second.node == m.from &&
                             it->second.incarnation == m.from_incarnation;
    if (same_holder && options_.rules.claim_numbers && item.claim < it->second.claim) {
      continue;  // A late, older CLAIM: keeps invariant (1).
    }
    const bool grantable = it == table_.end() || same_holder ||
                           !Alive(it->second.node, it->second.incarnation, now);  // Invariant (2).
    if (grantable) {
      table_[item.name] = Holder{m.from, m.from_incarnation, item.claim};
      grant.items.push_back({item.name, item.claim, {}});
    } else {
      deny.items.push_back({item.name, item.claim, it->second.node});
    }
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
    if (it != table_.end() && it->second.node == m.from &&
        it->second.incarnation == m.from_incarnation &&
        (!options_.rules.claim_numbers || it->second.claim <= item.claim)) {
      table_.erase(it);
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
  for (auto it = table_.begin(); it != table_.end();) {
    if (!Alive(it->second.node, it->second.incarnation, now)) {
      it = table_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second.last_seen > 4 * options_.timing.lease) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<LockMessage> Voter::TakeOutbox() { return std::exchange(outbox_, {}); }

std::optional<Holder> Voter::HolderOf(const std::string& name) const {
  auto it = table_.find(name);
  if (it == table_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace tenure::lock
