#include "tenure/entity/runtime.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "tenure/base/check.h"
#include "tenure/base/entity_state.h"
#include "tenure/base/ids.h"
#include "tenure/protocol/codec.h"

namespace tenure::entity {

using protocol::Op;

namespace {

enum class Phase : std::uint8_t { kClaiming, kActivating, kActive, kPassivating };

// Worker::state_code values besides an index in kEntityStates.
constexpr std::uint8_t kStateEmpty = 0xfe;
constexpr std::uint8_t kStateOther = 0xff;  // In Worker::other_state.
static_assert(kEntityStates.size() < kStateEmpty);

constexpr std::uint32_t kListLimitDefault = 100;

// The spare mailbox keeps its vector's capacity only up to this many entries,
// so that one burst does not stay allocated for good.
constexpr std::size_t kSpareMailboxCapacityMax = 16;

protocol::EntityView RowView(const store::EntityRow& row) {
  return {row.id.str(), row.state, row.version, row.owner_node.str(), row.owner_epoch};
}

}  // namespace

struct Runtime::Pending {
  std::string route;
  protocol::Request request;
};

// Requests waiting for a worker: entries [head, size) of `items`.
struct Runtime::Mailbox {
  std::vector<Pending> items;
  std::size_t head = 0;
};

// Kept small: a node holds one per entity it serves, up to a million of them.
struct Runtime::Worker {
  const std::string* key = nullptr;  // Its key in workers_ (stable: a node-based map).
  WorkerRun run;                     // New at every (re)start; keeps invariant (3).
  // The cache. Valid in kActive only (guarantee of that phase).
  Version version;
  Epoch epoch;
  TimePoint last_used{};
  // Neighbours in idle_order_, while in_idle_order.
  Worker* idle_prev = nullptr;
  Worker* idle_next = nullptr;
  // Null while no request waits: most active workers have none.
  std::unique_ptr<Mailbox> mailbox;
  // The cached state, when it is none of kEntityStates (a store that holds
  // other states): the common ones take a byte, not a std::string.
  std::unique_ptr<std::string> other_state;
  std::uint8_t state_code = kStateEmpty;
  Phase phase = Phase::kClaiming;
  bool exists = false;
  bool busy = false;  // A write is in flight; keeps invariant (1).
  bool in_idle_order = false;

  const std::string& id() const { return *key; }
  std::size_t waiting() const { return mailbox ? mailbox->items.size() - mailbox->head : 0; }
  std::string state() const {
    if (state_code == kStateEmpty) {
      return {};
    }
    if (state_code == kStateOther) {
      return *other_state;
    }
    return std::string(kEntityStates[state_code]);
  }
  void SetState(const std::string& state) {
    other_state.reset();
    state_code = kStateEmpty;
    if (state.empty()) {
      return;
    }
    for (std::size_t i = 0; i < kEntityStates.size(); ++i) {
      if (kEntityStates[i] == state) {
        state_code = static_cast<std::uint8_t>(i);
        return;
      }
    }
    state_code = kStateOther;
    other_state = std::make_unique<std::string>(state);
  }
};

struct Runtime::Ticket {
  enum class Kind { kActivate, kWrite, kCloseTenure, kList };  // kList: list and history.
  Kind kind = Kind::kActivate;
  std::string id;
  WorkerRun run;
  std::string route;  // kWrite, kList, and kActivate with a folded create: who gets the reply.
  std::uint64_t request_id = 0;  // The request answered (any value: clients choose it).
  bool folded_create = false;    // kActivate: a create rides on it (see Activate).
};

Runtime::Runtime(RuntimeOptions options, const Authority& authority, Handler& handler)
    : options_(std::move(options)), authority_(authority), handler_(handler) {
  TENURE_CHECK(!options_.node_id.empty());
  TENURE_CHECK(options_.mailbox_depth_max > 0);
}

Runtime::~Runtime() = default;

Runtime::Worker* Runtime::Find(std::string_view id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

// ------------------------------------------------------------------ inputs

void Runtime::HandleRequest(std::string route, protocol::Request request, TimePoint now) {
  const std::uint64_t rid = request.request_id;
  if (request.op == Op::kNodes) {
    ReplyError(route, rid, Status::BadRequest("'nodes' is answered by the broker, not a node"));
    return;
  }
  if (draining_) {
    ReplyError(
        route, rid,
        Status::Unavailable("node '" + options_.node_id.str() + "' is shutting down; retry"));
    return;
  }
  if (request.op == Op::kList) {
    const std::uint32_t limit = request.limit == 0
                                    ? kListLimitDefault
                                    : static_cast<std::uint32_t>(std::min<std::size_t>(
                                          request.limit, protocol::kListRowsMax));
    Call(store::ListOp{limit, EntityId(request.entity_id)},
         Ticket{Ticket::Kind::kList, {}, {}, std::move(route), rid});
    return;
  }
  if (Status s = ValidateEntityId(request.entity_id); !s.ok()) {
    ReplyError(route, rid, s);
    return;
  }
  if (request.op == Op::kHistory) {  // Read from the store: any node can answer.
    Call(store::HistoryOp{EntityId(request.entity_id)},
         Ticket{Ticket::Kind::kList, request.entity_id, {}, std::move(route), rid});
    return;
  }
  if (request.op == Op::kCreate && request.state.empty()) {
    request.state = std::string(kDefaultEntityState);
  }
  if (request.op == Op::kSet && request.state.empty()) {
    ReplyError(route, rid, Status::BadRequest("set needs a state"));
    return;
  }
  for (const std::string* s : {&request.state, &request.expect}) {
    if (!s->empty() && !IsValidEntityState(*s)) {
      ReplyError(route, rid,
                 Status::InvalidState("unknown state '" + *s +
                                      "'; valid states: " + ValidEntityStatesList()));
      return;
    }
  }
  Worker* w = Find(request.entity_id);
  if (w == nullptr) {
    auto it = workers_.try_emplace(request.entity_id).first;
    w = &it->second;
    w->key = &it->first;
    w->run = NewRun();
    w->last_used = now;
    effects_.claims.emplace_back(w->id());
  }
  if (w->waiting() >= options_.mailbox_depth_max) {
    ++stats_.busy_replies;
    ReplyError(route, rid,
               Status::Busy("mailbox of '" + w->id() + "' is full (" +
                            std::to_string(options_.mailbox_depth_max) + " requests); retry"));
    return;
  }
  Enqueue(*w, Pending{std::move(route), std::move(request)});
  Pump(*w, now);
}

void Runtime::HandleGranted(const EntityId& id, TimePoint /*now*/) {
  Worker* w = Find(id.str());
  if (w == nullptr) {
    effects_.releases.push_back(id);  // Nobody wants it any more.
    return;
  }
  if (w->phase != Phase::kClaiming) {
    return;
  }
  w->phase = Phase::kActivating;
  Activate(*w);
}

void Runtime::HandleLost(const EntityId& id, TimePoint /*now*/) {
  Worker* w = Find(id.str());
  if (w == nullptr) {
    return;
  }
  FailMailbox(*w, Status::Unavailable("node '" + options_.node_id.str() +
                                      "' lost the ownership of '" + id.str() + "'; retry"));
  if (w->phase == Phase::kActive && w->exists) {
    // Closes this tenure's row; the store ignores it if a newer owner took over.
    Call(store::CloseTenureOp{id, w->epoch, "lost"},
         Ticket{Ticket::Kind::kCloseTenure, id.str(), {}, {}, 0});
    effects_.events.push_back({protocol::Event::Kind::kPassivated,
                               id.str(),
                               {},
                               w->version,
                               w->epoch,
                               options_.node_id.str(),
                               "lost"});
  }
  Remove(*w);
}

void Runtime::HandleDenied(const EntityId& id, const NodeId& holder, TimePoint /*now*/) {
  Worker* w = Find(id.str());
  if (w == nullptr || w->phase != Phase::kClaiming) {
    return;
  }
  for (std::size_t i = w->mailbox ? w->mailbox->head : 0;
       w->waiting() > 0 && i < w->mailbox->items.size(); ++i) {
    Pending& p = w->mailbox->items[i];
    if (!p.request.forwarded && !holder.empty() && holder != options_.node_id) {
      ++stats_.forwards;
      p.request.forwarded = true;  // Once: the holder answers or says unavailable.
      p.request.via = holder.str();
      effects_.forwards.push_back({std::move(p.route), std::move(p.request)});
    } else {
      ReplyError(p.route, p.request.request_id,
                 Status::Unavailable("'" + id.str() + "' is held by " +
                                     (holder.empty() ? std::string("another node") : holder.str()) +
                                     "; retry"));
    }
  }
  Remove(*w);  // The lock layer let the name go already.
}

void Runtime::HandleFailed(const EntityId& id, TimePoint /*now*/) {
  Worker* w = Find(id.str());
  if (w == nullptr || w->phase != Phase::kClaiming) {
    return;
  }
  FailMailbox(
      *w, Status::Unavailable("no quorum for '" + id.str() + "' (node '" + options_.node_id.str() +
                              "' could not reach a majority of voters); retry"));
  Remove(*w);  // The lock layer let the name go already.
}

void Runtime::HandleStoreResult(std::uint64_t ticket, store::StoreResult result, TimePoint now) {
  auto it = tickets_.find(ticket);
  if (it == tickets_.end()) {
    return;
  }
  Ticket t = std::move(it->second);
  tickets_.erase(it);
  switch (t.kind) {
    case Ticket::Kind::kActivate:
      OnActivated(std::move(t), std::move(result), now);
      break;
    case Ticket::Kind::kWrite:
      OnWritten(std::move(t), std::move(result), now);
      break;
    case Ticket::Kind::kCloseTenure:
      OnTenureClosed(std::move(t));
      break;
    case Ticket::Kind::kList:
      OnListed(std::move(t), std::move(result));
      break;
  }
}

void Runtime::HandleStoreReopened(TimePoint now) {
  std::vector<Worker*> cached;
  for (auto& [id, w] : workers_) {
    if (w.phase == Phase::kActive || w.phase == Phase::kActivating) {
      cached.push_back(&w);
    }
  }
  // kClaiming has nothing cached yet; kPassivating finishes its release (the
  // store refuses it if stamped for the old file) and activates again if
  // requests are waiting.
  for (Worker* w : cached) {
    if (authority_.MayServe(w->id(), now)) {
      Restart(*w);
      continue;
    }
    // As HandleLost, but without a CloseTenureOp: its epoch was read from the
    // old file and may name another tenure in this one.
    FailMailbox(*w, Status::Unavailable("node '" + options_.node_id.str() +
                                        "' lost the ownership of '" + w->id() + "'; retry"));
    Remove(*w);
  }
}

void Runtime::Tick(TimePoint now) {
  // Bounded: every worker is looked at most once per tick.
  std::size_t budget = idle_count_;
  while (idle_front_ != nullptr && budget-- > 0) {
    Worker* w = idle_front_;
    if (now - w->last_used < options_.idle) {
      break;
    }
    if (w->busy || w->waiting() > 0) {
      Touch(*w, now);
      continue;
    }
    Passivate(*w, "passivated");
  }
  ShrinkIfSparse(workers_);
  ShrinkIfSparse(tickets_);
}

void Runtime::BeginDrain(TimePoint /*now*/) {
  draining_ = true;
  std::vector<Worker*> all;
  all.reserve(workers_.size());
  for (auto& [id, w] : workers_) {
    all.push_back(&w);
  }
  const Status stopping =
      Status::Unavailable("node '" + options_.node_id.str() + "' is shutting down; retry");
  for (Worker* w : all) {
    if (w->phase == Phase::kClaiming) {
      FailMailbox(*w, stopping);
      effects_.releases.emplace_back(w->id());
      Remove(*w);
    } else if (w->phase == Phase::kActive && !w->busy && w->waiting() == 0) {
      Passivate(*w, "shutdown");
    }
    // kActivating and busy workers finish their mailbox, then Pump releases them.
  }
}

bool Runtime::Drained() const { return draining_ && workers_.empty() && tickets_.empty(); }

Effects Runtime::TakeEffects() { return std::exchange(effects_, Effects{}); }

std::optional<TimePoint> Runtime::NextDeadline() const {
  if (idle_front_ == nullptr) {
    return std::nullopt;
  }
  return idle_front_->last_used + options_.idle;
}

// ------------------------------------------------------------------ workers

void Runtime::Enqueue(Worker& w, Pending p) {
  if (!w.mailbox) {
    w.mailbox = spare_mailbox_ ? std::move(spare_mailbox_) : std::make_unique<Mailbox>();
  }
  if (w.mailbox->head > 0 && w.mailbox->head == w.mailbox->items.size()) {
    w.mailbox->items.clear();
    w.mailbox->head = 0;
  }
  w.mailbox->items.push_back(std::move(p));
}

void Runtime::DropMailbox(Worker& w) {
  if (!w.mailbox) {
    return;
  }
  // One is kept for the next request: a get of an active worker passes
  // through a mailbox too, and should not cost two allocations.
  if (!spare_mailbox_ && w.mailbox->items.capacity() <= kSpareMailboxCapacityMax) {
    w.mailbox->items.clear();
    w.mailbox->head = 0;
    spare_mailbox_ = std::move(w.mailbox);
  }
  w.mailbox.reset();
}

void Runtime::Pump(Worker& w, TimePoint now) {
  while (w.phase == Phase::kActive && !w.busy && w.waiting() > 0) {
    if (!authority_.MayServe(w.id(), now)) {
      const EntityId id(w.id());
      HandleLost(id, now);  // Removes w.
      return;
    }
    Pending p = std::move(w.mailbox->items[w.mailbox->head++]);
    Execute(w, std::move(p), now);
  }
  if (w.waiting() == 0) {
    DropMailbox(w);
  }
  if (w.phase == Phase::kActive && !w.exists && !w.busy && w.waiting() == 0) {
    // Absence is never cached: a later request reads the store again, so a
    // create that landed meanwhile is seen. Nothing was opened in the store.
    effects_.releases.emplace_back(w.id());
    Remove(w);
    return;
  }
  if (draining_ && w.phase == Phase::kActive && !w.busy) {
    Passivate(w, "shutdown");
  }
}

void Runtime::Execute(Worker& w, Pending p, TimePoint now) {
  TENURE_CHECK(w.phase == Phase::kActive);
  TENURE_CHECK(!w.busy);
  Touch(w, now);
  const std::uint64_t rid = p.request.request_id;
  if (!w.exists && p.request.op != Op::kCreate) {
    ReplyError(p.route, rid, Status::NotFound("no entity '" + w.id() + "'"));
    return;
  }
  switch (p.request.op) {
    case Op::kGet:
    case Op::kWhere: {  // Same answer: where's point is the owner and epoch.
      ++stats_.cache_reads;
      protocol::Reply reply;
      reply.request_id = rid;
      reply.owner = options_.node_id.str();
      reply.entity = View(w);
      Reply(p.route, std::move(reply));
      return;
    }
    case Op::kSet:
      ExecuteSet(w, std::move(p));
      return;
    case Op::kCreate:
      ExecuteCreate(w, std::move(p));
      return;
    case Op::kList:
    case Op::kNodes:
    case Op::kHistory:
      break;
  }
  TENURE_CHECK(false);  // HandleRequest never enqueues list, nodes or history.
}

void Runtime::ExecuteSet(Worker& w, Pending p) {
  const protocol::Request& req = p.request;
  if (!req.expect.empty() && req.expect != w.state()) {
    protocol::Reply reply;
    reply.request_id = req.request_id;
    reply.code = ErrorCode::kConflict;
    reply.message = "state of '" + w.id() + "' is " + w.state() + ", expected " + req.expect;
    reply.owner = options_.node_id.str();
    reply.actual_state = w.state();
    reply.actual_version = w.version;
    Reply(p.route, std::move(reply));
    return;
  }
  if (req.if_version && *req.if_version != w.version) {
    protocol::Reply reply;
    reply.request_id = req.request_id;
    reply.code = ErrorCode::kConflict;
    reply.message = "version of '" + w.id() + "' is " + std::to_string(w.version.value()) +
                    ", expected " + std::to_string(req.if_version->value());
    reply.owner = options_.node_id.str();
    reply.actual_state = w.state();
    reply.actual_version = w.version;
    Reply(p.route, std::move(reply));
    return;
  }
  std::string next;
  std::string fault;
  try {
    next = handler_.NextState(View(w), req);
    if (!IsValidEntityState(next)) {
      fault = "handler returned the unknown state '" + next + "'";
    }
  } catch (const std::exception& e) {
    fault = std::string("handler threw: ") + e.what();
  } catch (...) {
    fault = "handler threw a non-standard exception";
  }
  if (!fault.empty()) {
    ReplyError(p.route, req.request_id,
               Status::Unavailable("worker of '" + w.id() + "' failed (" + fault +
                                   "); it was restarted from the store; nothing was written"));
    Restart(w);
    return;
  }
  w.busy = true;
  ++stats_.writes;
  Call(store::WriteOp{EntityId(w.id()), w.epoch, w.version, std::move(next)},
       Ticket{Ticket::Kind::kWrite, w.id(), w.run, std::move(p.route), req.request_id});
}

void Runtime::ExecuteCreate(Worker& w, Pending p) {
  const protocol::Request& req = p.request;
  if (w.exists) {
    protocol::Reply reply;
    reply.request_id = req.request_id;
    reply.code = ErrorCode::kConflict;
    reply.message = "entity '" + w.id() + "' already exists";
    reply.owner = options_.node_id.str();
    reply.actual_state = w.state();
    reply.actual_version = w.version;
    Reply(p.route, std::move(reply));
    return;
  }
  w.busy = true;
  ++stats_.writes;
  Call(store::CreateOp{EntityId(w.id()), options_.node_id, w.epoch, req.state},
       Ticket{Ticket::Kind::kWrite, w.id(), w.run, std::move(p.route), req.request_id});
}

void Runtime::Activate(Worker& w) {
  TENURE_CHECK(w.phase == Phase::kActivating);
  ++stats_.activations;
  // A new entity's first request is usually its create: the store creates it
  // in the activation itself, one transaction (and one fsync) instead of two.
  // The create leaves the mailbox for the ticket, as a write in flight does:
  // it is answered from the activation's result only, never failed with the
  // mailbox, since the store may have committed it whatever becomes of the
  // worker.
  std::string create_state;
  Ticket ticket{Ticket::Kind::kActivate, w.id(), w.run, {}, 0};
  if (w.waiting() > 0 && w.mailbox->items[w.mailbox->head].request.op == Op::kCreate) {
    Pending create = std::move(w.mailbox->items[w.mailbox->head++]);
    if (w.waiting() == 0) {
      DropMailbox(w);
    }
    create_state = std::move(create.request.state);
    ticket.route = std::move(create.route);
    ticket.request_id = create.request.request_id;
    ticket.folded_create = true;
  }
  Call(store::ActivateOp{EntityId(w.id()), options_.node_id, std::move(create_state)},
       std::move(ticket));
}

void Runtime::Restart(Worker& w) {
  ++stats_.restarts;
  w.run = NewRun();
  w.exists = false;
  w.busy = false;
  Unlink(w);
  w.phase = Phase::kActivating;
  Activate(w);
}

void Runtime::Passivate(Worker& w, const char* reason) {
  TENURE_CHECK(w.phase == Phase::kActive);
  TENURE_CHECK(!w.busy);
  Unlink(w);
  w.phase = Phase::kPassivating;
  Call(store::CloseTenureOp{EntityId(w.id()), w.epoch, reason},
       Ticket{Ticket::Kind::kCloseTenure, w.id(), w.run, {}, 0});
}

void Runtime::Remove(Worker& w) {
  Unlink(w);
  DropMailbox(w);
  workers_.erase(workers_.find(w.id()));  // Destroys w.
}

void Runtime::FailMailbox(Worker& w, const Status& status) {
  if (!w.mailbox) {
    return;
  }
  for (std::size_t i = w.mailbox->head; i < w.mailbox->items.size(); ++i) {
    ReplyError(w.mailbox->items[i].route, w.mailbox->items[i].request.request_id, status);
  }
  DropMailbox(w);
}

void Runtime::Touch(Worker& w, TimePoint now) {
  w.last_used = now;
  Unlink(w);
  // Appends w to idle_order_.
  w.idle_prev = idle_back_;
  w.idle_next = nullptr;
  (idle_back_ != nullptr ? idle_back_->idle_next : idle_front_) = &w;
  idle_back_ = &w;
  w.in_idle_order = true;
  ++idle_count_;
}

void Runtime::Unlink(Worker& w) {
  if (!w.in_idle_order) {
    return;
  }
  (w.idle_prev != nullptr ? w.idle_prev->idle_next : idle_front_) = w.idle_next;
  (w.idle_next != nullptr ? w.idle_next->idle_prev : idle_back_) = w.idle_prev;
  w.idle_prev = nullptr;
  w.idle_next = nullptr;
  w.in_idle_order = false;
  --idle_count_;
}

// ------------------------------------------------------------ store results

void Runtime::OnActivated(Ticket t, store::StoreResult r, TimePoint now) {
  std::optional<protocol::Event> created;
  if (t.folded_create) {
    created = AnswerFoldedCreate(t, r);
  }
  Worker* w = Find(t.id);
  if (w == nullptr || w->run != t.run || w->phase != Phase::kActivating) {
    if (created) {
      effects_.events.push_back(std::move(*created));
    }
    return;  // Invariant (3): a stale activation is discarded.
  }
  if (!r.status.ok()) {
    FailMailbox(*w, r.status);
    effects_.releases.emplace_back(w->id());
    Remove(*w);
    return;
  }
  if (!authority_.MayServe(w->id(), now)) {
    if (created) {
      effects_.events.push_back(std::move(*created));
    }
    HandleLost(EntityId(t.id), now);
    return;
  }
  w->exists = r.row.has_value();
  w->SetState(w->exists ? r.row->state : std::string());
  w->version = w->exists ? r.row->version : Version{};
  w->epoch = r.epoch;
  w->phase = Phase::kActive;
  Touch(*w, now);
  effects_.events.push_back({protocol::Event::Kind::kActivated,
                             w->id(),
                             w->state(),
                             w->version,
                             w->epoch,
                             options_.node_id.str(),
                             {}});
  if (created) {
    effects_.events.push_back(std::move(*created));
  }
  Pump(*w, now);
}

// The create folded into an activation (see Activate), answered from its
// result: created (the news of it returned, to follow the activation's), the
// entity was there already (a conflict, as ExecuteCreate answers it), or
// nothing was written.
std::optional<protocol::Event> Runtime::AnswerFoldedCreate(const Ticket& t,
                                                           const store::StoreResult& r) {
  protocol::Reply reply;
  reply.request_id = t.request_id;
  reply.owner = options_.node_id.str();
  if (r.status.ok() && r.created && r.row) {
    ++stats_.writes;
    reply.entity = RowView(*r.row);
    Reply(t.route, std::move(reply));
    return protocol::Event{
        protocol::Event::Kind::kChanged, t.id, r.row->state, r.row->version, r.row->owner_epoch,
        options_.node_id.str(),          {}};
  }
  if (r.status.ok() && r.row) {
    reply.code = ErrorCode::kConflict;
    reply.message = "entity '" + t.id + "' already exists";
    reply.actual_state = r.row->state;
    reply.actual_version = r.row->version;
    Reply(t.route, std::move(reply));
    return std::nullopt;
  }
  ReplyError(t.route, t.request_id,
             r.status.ok() ? Status::Unavailable("create of '" + t.id +
                                                 "' was not carried out; nothing written; retry")
                           : r.status);
  return std::nullopt;
}

void Runtime::OnWritten(Ticket t, store::StoreResult r, TimePoint now) {
  Worker* w = Find(t.id);
  const bool current = w != nullptr && w->run == t.run;
  if (current) {
    TENURE_CHECK(w->busy);
    w->busy = false;
  }
  if (r.status.ok() && r.row) {
    if (current) {  // Invariant (2).
      w->exists = true;
      w->SetState(r.row->state);
      w->version = r.row->version;
      w->epoch = r.row->owner_epoch;  // A create opens a new tenure.
    }
    protocol::Reply reply;
    reply.request_id = t.request_id;
    reply.owner = options_.node_id.str();
    reply.entity = RowView(*r.row);
    reply.entity->owner = options_.node_id.str();
    Reply(t.route, std::move(reply));
    effects_.events.push_back({protocol::Event::Kind::kChanged,
                               t.id,
                               r.row->state,
                               r.row->version,
                               r.row->owner_epoch,
                               options_.node_id.str(),
                               {}});
  } else if (r.fenced) {
    ReplyError(t.route, t.request_id,
               Status::Unavailable("the ownership of '" + t.id +
                                   "' moved during the write; nothing was written; retry"));
    if (current) {
      if (authority_.MayServe(t.id, now)) {
        Restart(*w);  // A late activation bumped the epoch: re-activate (DESIGN §3).
      } else {
        HandleLost(EntityId(t.id), now);
      }
      return;
    }
  } else if (r.status.code() == ErrorCode::kConflict && r.row) {
    // Another node created it first: this worker's epoch fences nothing now,
    // so it takes a tenure of its own (below) before serving it.
    protocol::Reply reply;
    reply.request_id = t.request_id;
    reply.code = ErrorCode::kConflict;
    reply.message = r.status.message();
    reply.owner = options_.node_id.str();
    reply.actual_state = r.row->state;
    reply.actual_version = r.row->version;
    Reply(t.route, std::move(reply));
    if (current) {
      if (authority_.MayServe(t.id, now)) {
        Restart(*w);
      } else {
        HandleLost(EntityId(t.id), now);
      }
      return;
    }
  } else {
    ReplyError(t.route, t.request_id,
               r.status.ok() ? Status::StorageError("the store returned no row") : r.status);
  }
  if (current) {
    Pump(*w, now);
  }
}

void Runtime::OnTenureClosed(Ticket t) {
  Worker* w = Find(t.id);
  if (w == nullptr || w->run != t.run || w->phase != Phase::kPassivating) {
    return;
  }
  if (w->waiting() > 0 && !draining_) {
    // Requests arrived while the row was being closed: the lock is still ours,
    // so start a new tenure instead of letting the name go.
    w->run = NewRun();
    w->phase = Phase::kActivating;
    Activate(*w);
    return;
  }
  FailMailbox(*w,
              Status::Unavailable("node '" + options_.node_id.str() + "' is shutting down; retry"));
  effects_.events.push_back({protocol::Event::Kind::kPassivated,
                             w->id(),
                             {},
                             w->version,
                             w->epoch,
                             options_.node_id.str(),
                             draining_ ? "shutdown" : "passivated"});
  effects_.releases.emplace_back(w->id());
  Remove(*w);
}

void Runtime::OnListed(Ticket t, store::StoreResult r) {
  if (!r.status.ok()) {
    ReplyError(t.route, t.request_id, r.status);
    return;
  }
  protocol::Reply reply;
  reply.request_id = t.request_id;
  reply.entities.reserve(r.rows.size());
  for (const store::EntityRow& row : r.rows) {
    reply.entities.push_back(RowView(row));
  }
  for (store::TenureRow& row : r.tenures) {
    reply.tenures.push_back({row.node.str(), row.epoch, row.acquired_at, std::move(row.released_at),
                             std::move(row.reason)});
  }
  if (!t.id.empty() && reply.tenures.empty()) {
    ReplyError(t.route, t.request_id, Status::NotFound("no tenures of '" + t.id + "'"));
    return;
  }
  Reply(t.route, std::move(reply));
}

// ------------------------------------------------------------------ outputs

std::uint64_t Runtime::Call(store::StoreOp op, Ticket t) {
  const std::uint64_t ticket = next_ticket_++;
  tickets_.emplace(ticket, std::move(t));
  effects_.store_calls.push_back({ticket, std::move(op)});
  return ticket;
}

void Runtime::Reply(const std::string& route, protocol::Reply reply) {
  effects_.replies.push_back({route, std::move(reply)});
}

void Runtime::ReplyError(const std::string& route, std::uint64_t request_id, const Status& status) {
  TENURE_CHECK(!status.ok());
  protocol::Reply reply;
  reply.request_id = request_id;
  reply.code = status.code();
  reply.message = status.message();
  Reply(route, std::move(reply));
}

protocol::EntityView Runtime::View(const Worker& w) const {
  return {w.id(), w.state(), w.version, options_.node_id.str(), w.epoch};
}

void Runtime::CheckInvariants() const {
  // Invariant (5): the idle list, walked both ways, is exactly the flagged
  // workers.
  std::size_t linked = 0;
  const Worker* prev = nullptr;
  for (const Worker* w = idle_front_; w != nullptr; w = w->idle_next) {
    TENURE_CHECK(w->in_idle_order);
    TENURE_CHECK(w->idle_prev == prev);
    prev = w;
    ++linked;
    TENURE_CHECK(linked <= workers_.size());
  }
  TENURE_CHECK(prev == idle_back_);
  TENURE_CHECK(linked == idle_count_);
  std::size_t flagged = 0;
  for (const auto& [id, w] : workers_) {
    TENURE_CHECK(w.key != nullptr && *w.key == id);
    flagged += w.in_idle_order ? 1 : 0;
  }
  TENURE_CHECK(flagged == idle_count_);
  // Invariant (1): one write of the current run in flight per worker.
  std::unordered_map<std::string_view, std::size_t> writes;
  for (const auto& [ticket, t] : tickets_) {
    auto it = workers_.find(t.id);
    if (t.kind == Ticket::Kind::kWrite && it != workers_.end() && t.run == it->second.run) {
      TENURE_CHECK(it->second.busy);
      TENURE_CHECK(++writes[it->first] <= 1);
    }
  }
}

}  // namespace tenure::entity
