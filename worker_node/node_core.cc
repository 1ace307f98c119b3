#include "tenure/node/node_core.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "tenure/base/check.h"

namespace tenure::node {
namespace {

// Rounds of the cores per TakeEffects: each round feeds one core's outputs
// to the others; they settle in two or three, the bound catches a loop.
constexpr int kPumpRoundsMax = 64;

lock::ClaimantOptions ClaimantOptionsFor(const NodeCoreOptions& o,
                                         const std::vector<NodeId>& voters) {
  lock::ClaimantOptions s;
  s.node_id = o.id;
  s.incarnation = o.incarnation;
  s.voters = voters;
  s.voter = std::find(voters.begin(), voters.end(), o.id) != voters.end();
  s.timing = o.timing;
  s.rules = o.rules;
  s.seed = o.incarnation.value();
  return s;
}

}  // namespace

NodeCore::NodeCore(NodeCoreOptions options, entity::Handler& handler, TimePoint start)
    : options_(std::move(options)),
      voters_(lock::EffectiveVoters(options_.voters, options_.id)),
      claimant_(ClaimantOptionsFor(options_, voters_), start),
      runtime_(entity::RuntimeOptions{options_.id, options_.idle, options_.mailbox_depth_max},
               claimant_, handler),
      next_tick_(start),
      store_generation_(options_.store_generation) {
  TENURE_CHECK(!options_.id.empty());
  TENURE_CHECK(options_.store_generation >= StoreGeneration(1));
  if (std::find(voters_.begin(), voters_.end(), options_.id) != voters_.end()) {
    voter_.emplace(lock::VoterOptions{options_.id, options_.incarnation, options_.timing,
                                      options_.rules, voters_},
                   start);
  }
}

void NodeCore::Step(std::string_view route, protocol::Message message, TimePoint now) {
  if (auto* request = std::get_if<protocol::Request>(&message)) {
    if (route.empty()) {
      HandleBadMessage("a request without a route cannot be answered");
      return;
    }
    runtime_.HandleRequest(std::string(route), std::move(*request), now);
  } else if (auto* hb = std::get_if<protocol::Heartbeat>(&message)) {
    if (!voter_ || hb->to != options_.id.str()) {
      HandleBadMessage("a heartbeat for a voter this node is not");
      return;
    }
    const NodeId from(hb->node);
    const bool known = voter_->HasSession(from, hb->incarnation, now);
    voter_->Step(*hb, now);
    // Reported once per node incarnation: a refused node heartbeats on.
    for (const lock::Refusal& r : voter_->TakeRefusals()) {
      Say(Note::Level::kError, "voter: refused node " + r.node.str() + ": its settings '" +
                                   r.settings + "' differ from this voter's '" +
                                   voter_->settings() + "'; it is granted nothing");
    }
    if (!known && voter_->HasSession(from, hb->incarnation, now)) {
      char incarnation[17];
      std::snprintf(incarnation, sizeof incarnation, "%016llx",
                    static_cast<unsigned long long>(hb->incarnation.value()));
      Say(Note::Level::kDebug,
          "voter: session of " + hb->node + " (incarnation " + incarnation + ") opened");
    }
  } else if (auto* lock = std::get_if<protocol::LockMessage>(&message)) {
    using Kind = protocol::LockMessage::Kind;
    if (lock->to != options_.id.str()) {
      HandleBadMessage("a lock message for another node");
    } else if (lock->kind == Kind::kClaim || lock->kind == Kind::kRelease ||
               lock->kind == Kind::kQuiet) {
      // Claims and releases go to this node's voter (none: not a voter, the
      // sender is misconfigured and gets no answer); replies to its session.
      if (voter_) {
        voter_->Step(*lock, now);
      }
    } else {
      claimant_.Step(*lock, now);
    }
  } else {
    HandleBadMessage("a node takes requests, heartbeats and lock messages only");
  }
}

void NodeCore::HandleBadMessage(std::string_view why) {
  ++bad_messages_;
  // A flood of bad messages must not flood the log too.
  if (bad_messages_ <= 10 || bad_messages_ % 1000 == 0) {
    Say(Note::Level::kWarn, "dropped a bad message (" + std::to_string(bad_messages_) +
                                " so far): " + std::string(why));
  }
}

void NodeCore::HandleStoreResult(store::Done done, TimePoint now) {
  HandleStoreGeneration(done.generation, now);
  runtime_.HandleStoreResult(done.ticket, std::move(done.result), now);
}

void NodeCore::HandleStoreGeneration(StoreGeneration generation, TimePoint now) {
  if (generation <= store_generation_) {
    return;  // Results of an older generation, taken late: nothing to switch.
  }
  // Ops formed from the old database's caches leave first, stamped with its
  // generation, so that the writer refuses them: invariant (1).
  Pump(now);
  Say(Note::Level::kWarn, "store: reopened the database (generation " +
                              std::to_string(generation.value()) + "); " +
                              std::to_string(runtime_.worker_count()) + " workers read it again");
  store_generation_ = generation;
  runtime_.HandleStoreReopened(now);
}

void NodeCore::Advance(TimePoint now) {
  claimant_.EndBackoffs(now);
  if (now >= next_tick_) {
    claimant_.Tick(now);
    if (voter_) {
      voter_->Tick(now);
    }
    runtime_.Tick(now);
    if (!draining_) {
      SendBrokerHeartbeat(now);
    }
    next_tick_ = now + options_.timing.heartbeat_interval();
  } else if (std::optional<TimePoint> d = runtime_.NextDeadline(); d && *d <= now) {
    runtime_.Tick(now);
  }
}

void NodeCore::BeginDrain(TimePoint now) {
  if (draining_) {
    return;
  }
  draining_ = true;
  Say(Note::Level::kInfo,
      "stopping: draining " + std::to_string(runtime_.worker_count()) + " workers");
  // Goodbye first: the broker routes nothing new here while we drain.
  Emit(protocol::Event{
      protocol::Event::Kind::kNodeDown, {}, {}, {}, {}, options_.id.str(), "stopping"});
  runtime_.BeginDrain(now);
}

TimePoint NodeCore::NextWake() const {
  TimePoint wake = next_tick_;
  // A back-off that ends between heartbeats (a dead holder's session
  // lapsing) is acted on then, not at the next heartbeat.
  if (std::optional<TimePoint> b = claimant_.NextBackoffEnd(); b && *b < wake) {
    wake = *b;
  }
  if (std::optional<TimePoint> d = runtime_.NextDeadline(); d && *d < wake) {
    wake = *d;
  }
  return wake;
}

NodeEffects NodeCore::TakeEffects(TimePoint now) {
  Pump(now);
  return std::exchange(effects_, {});
}

// Feeds each core's outputs to the others until none has anything left:
// runtime (store calls, replies, claims) -> session (lock messages, lock
// events) -> runtime, and the voter's replies.
void NodeCore::Pump(TimePoint now) {
  for (int round = 0; round < kPumpRoundsMax; ++round) {
    entity::Effects fx = runtime_.TakeEffects();
    bool any = !fx.empty();
    for (entity::StoreCall& call : fx.store_calls) {
      effects_.store_jobs.push_back(store::Job{call.ticket, std::move(call.op), store_generation_});
    }
    for (entity::ReplyTo& r : fx.replies) {
      Emit(std::move(r.reply), std::move(r.route));
    }
    for (entity::Forward& f : fx.forwards) {
      Emit(std::move(f.request), std::move(f.route));
    }
    for (protocol::Event& e : fx.events) {
      if (e.kind == protocol::Event::Kind::kPassivated && e.reason == "lost") {
        Say(Note::Level::kInfo, "stepped down from '" + e.entity_id + "' (epoch " +
                                    std::to_string(e.epoch.value()) +
                                    "): this node may no longer serve it");
      }
      Emit(std::move(e));
    }
    for (const EntityId& id : fx.claims) {
      claimant_.Claim(id, now);
    }
    for (const EntityId& id : fx.releases) {
      claimant_.Release(id, now);
    }

    lock::ClaimantEffects lx = claimant_.TakeEffects(now);
    any = any || !lx.heartbeats.empty() || !lx.messages.empty() || !lx.events.empty();
    // Even this node's own voter is reached through the broker: the broker
    // routes a voter id to one process at a time, so a second process
    // started under this id can never vote as this voter too (DESIGN §4.7).
    for (protocol::Heartbeat& hb : lx.heartbeats) {
      hb.entities = static_cast<std::uint32_t>(runtime_.worker_count());
      Emit(std::move(hb));
    }
    for (protocol::LockMessage& m : lx.messages) {
      Emit(std::move(m));
    }
    for (const lock::LockEvent& e : lx.events) {
      OnLockEvent(e, now);
    }
    if (voter_) {
      for (protocol::LockMessage& m : voter_->TakeOutbox()) {
        any = true;
        Emit(std::move(m));
      }
    }
    if (!any) {
      return;
    }
  }
  // Still busy after the bound: the rest is taken at the next call.
}

void NodeCore::OnLockEvent(const lock::LockEvent& e, TimePoint now) {
  switch (e.kind) {
    case lock::LockEvent::Kind::kGranted:
      runtime_.HandleGranted(e.name, now);
      return;
    case lock::LockEvent::Kind::kLost:
      Say(Note::Level::kInfo, "lost '" + e.name.str() + "': " + e.reason + "; its worker stops");
      runtime_.HandleLost(e.name, now);
      return;
    case lock::LockEvent::Kind::kDenied:
      runtime_.HandleDenied(e.name, e.holder, now);
      return;
    case lock::LockEvent::Kind::kFailed:
      Say(Note::Level::kDebug, "claim of '" + e.name.str() + "' failed: " + e.reason);
      runtime_.HandleFailed(e.name, now);
      return;
    case lock::LockEvent::Kind::kRefused:
      // A NACK right after a crash is the dead predecessor's session, which
      // lapses within a lease; refusals that outlast the wait are final.
      Say(Note::Level::kWarn, e.reason + "; serving nothing, giving up after " +
                                  std::to_string(ToMillis(options_.timing.twin_wait())) +
                                  " ms of refusals");
      return;
    case lock::LockEvent::Kind::kFatal:
      // Without the incarnation echo (a rule switched off, in the simulator
      // only) a NACK cannot be told from one meant for another process under
      // this id: acting on it would be acting on another's reply.
      if (fatal_.ok() && options_.rules.incarnation_echo) {
        fatal_ = Status::Conflict(e.reason + "; this process exits");
      }
      return;
  }
}

// The broker's own heartbeat (no voter): liveness and routing.
void NodeCore::SendBrokerHeartbeat(TimePoint now) {
  protocol::Heartbeat hb;
  hb.node = options_.id.str();
  hb.incarnation = options_.incarnation;
  hb.seq = ++broker_heartbeat_seq_;
  hb.sent_ms = ToMillis(now.time_since_epoch());
  hb.voter = voter_.has_value();
  hb.entities = static_cast<std::uint32_t>(runtime_.worker_count());
  hb.settings = claimant_.settings();
  Emit(std::move(hb));
}

void NodeCore::Emit(protocol::Message message, std::string route) {
  if (!fatal_.ok()) {
    return;
  }
  effects_.messages.push_back(Outgoing{std::move(message), std::move(route)});
}

void NodeCore::Say(Note::Level level, std::string text) {
  effects_.notes.push_back(Note{level, std::move(text)});
}

void NodeCore::CheckInvariants(TimePoint now) const {
  for (const store::Job& job : effects_.store_jobs) {
    TENURE_CHECK(job.generation <= store_generation_);  // Invariants (1), (2).
  }
  claimant_.CheckInvariants(now);
  if (voter_) {
    voter_->CheckInvariants();
  }
  runtime_.CheckInvariants();
}

}  // namespace tenure::node
