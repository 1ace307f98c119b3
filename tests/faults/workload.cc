#include "faults/workload.h"

#include <random>

#include "tenure/client.h"

namespace tenure::faults {

namespace {

constexpr const char* kStates[] = {"initialized", "working", "finalized"};

// Fills in the outcome of `op` from a client reply. A write that got no
// definite answer (timeout, unavailable, storage error) may have been
// applied: it is indeterminate.
void Classify(const ClientResult<Entity>& r, history::Op& op, std::string& owner) {
  if (r.ok()) {
    op.outcome = history::Outcome::kOk;
    op.observed = history::Observed{r.value().state, r.value().version};
    owner = r.value().owner;
    return;
  }
  const ClientError& e = r.error();
  op.error = std::string(ErrorName(e.code));
  switch (e.code) {
    case ErrorCode::kConflict:
      op.outcome = history::Outcome::kFailed;
      if (e.actual_version && !e.actual_state.empty()) {
        op.observed = history::Observed{e.actual_state, *e.actual_version};
      }
      return;
    case ErrorCode::kNotFound:
    case ErrorCode::kBadRequest:
    case ErrorCode::kInvalidState:
    case ErrorCode::kBusy:
      op.outcome = history::Outcome::kFailed;
      return;
    case ErrorCode::kOk:
    case ErrorCode::kUnavailable:
    case ErrorCode::kStorageError:
      break;
  }
  // A read without an answer changed nothing, so it simply failed.
  op.outcome = op.kind == history::OpKind::kGet ? history::Outcome::kFailed
                                                : history::Outcome::kIndeterminate;
}

}  // namespace

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Workload::Workload(WorkloadOptions options) : options_(std::move(options)) {}

Workload::~Workload() { Stop(); }

void Workload::Start() {
  for (int p = 0; p < options_.clients; ++p) {
    threads_.emplace_back([this, p] { Run(p); });
  }
}

void Workload::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

std::vector<std::string> Workload::entity_ids() const {
  std::vector<std::string> ids;
  for (int i = 0; i < options_.entities; ++i) {
    ids.push_back("fault_" + std::to_string(i));
  }
  return ids;
}

std::string Workload::OwnerOf(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = owners_.find(id);
  return it == owners_.end() ? std::string() : it->second;
}

std::vector<history::Op> Workload::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

void Workload::Record(history::Op op, const std::string& owner) {
  std::lock_guard lock(mu_);
  if (!owner.empty()) {
    owners_[op.entity] = owner;
  }
  history_.push_back(std::move(op));
  ++completed_;
}

void Workload::Run(int process) {
  Client client(ClientOptions{options_.broker, options_.timeout, {}});
  std::mt19937_64 rng(options_.seed * 1000003 + static_cast<std::uint64_t>(process));
  const std::vector<std::string> ids = entity_ids();
  std::map<std::string, history::Observed> seen;  // This client's newest view.
  while (!stop_) {
    history::Op op;
    op.process = process;
    op.entity = ids[rng() % ids.size()];
    const std::string state = kStates[rng() % 3];
    const unsigned dice = static_cast<unsigned>(rng() % 100);
    auto it = seen.find(op.entity);
    op.invoke_ns = NowNs();
    ClientResult<Entity> r = ClientError{};
    if (dice < 5) {
      op.kind = history::OpKind::kCreate;
      op.state = state;
      r = client.Create(op.entity, state);
    } else if (dice < 45) {
      op.kind = history::OpKind::kGet;
      r = client.Get(op.entity);
    } else {
      op.kind = history::OpKind::kSet;
      op.state = state;
      SetOptions set;
      if (dice < 60 && it != seen.end()) {
        set.expect = it->second.state;  // Compare-and-set on what this client saw.
      } else if (dice < 70 && it != seen.end()) {
        set.if_version = it->second.version;
      }
      op.expect = set.expect;
      op.if_version = set.if_version;
      r = client.Set(op.entity, state, set);
    }
    op.complete_ns = NowNs();
    std::string owner;
    Classify(r, op, owner);
    if (op.observed) {
      seen[op.entity] = *op.observed;
    }
    Record(std::move(op), owner);
  }
}

std::map<std::string, history::Observed> Workload::ReadAll(std::chrono::milliseconds deadline) {
  Client client(ClientOptions{options_.broker, options_.timeout, {}});
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::map<std::string, history::Observed> out;
  for (const std::string& id : entity_ids()) {
    while (std::chrono::steady_clock::now() < until) {
      history::Op op;
      op.process = options_.clients;  // The final reader: a client of its own.
      op.entity = id;
      op.kind = history::OpKind::kGet;
      op.invoke_ns = NowNs();
      ClientResult<Entity> r = client.Get(id);
      op.complete_ns = NowNs();
      std::string owner;
      Classify(r, op, owner);
      const bool definite = op.outcome == history::Outcome::kOk || op.error == "not_found";
      if (op.observed && op.outcome == history::Outcome::kOk) {
        out[id] = *op.observed;
      }
      Record(std::move(op), owner);
      if (definite) {
        break;
      }
    }
  }
  return out;
}

}  // namespace tenure::faults
