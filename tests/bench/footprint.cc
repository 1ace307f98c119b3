// footprint: the memory one worker_node spends per active entity.
//
// Builds the node's three pure cores as worker_node does (a Session with three
// voters, this node being one of them; this node's Voter; a Runtime whose
// authority is the Session) and drives N names through their real state
// machines until every one is owned and active: a `get` per name
// (Runtime::HandleRequest), the claim it causes (Session::Claim), CLAIMs to
// the three voters (this node's Voter answers for real; the two others grant
// as a live voter would), the activation the Granted events start, and the
// store's answer to it with the row found (as SqliteStore gives it).
//
// Retained heap per component is what destroying that component gives back
// (mallinfo2(): uordblks + hblkhd), so transient buffers count nowhere; RSS is the
// growth of /proc/self/statm from before the first name to after the last.
// Single-threaded; time is simulated and stands still while the names are
// driven (every deadline stays valid).
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/base/check.h"
#include "common/base/time.h"
#include "common/entity/handler.h"
#include "common/entity/runtime.h"
#include "common/lock/rules.h"
#include "common/lock/session.h"
#include "common/lock/voter.h"
#include "common/protocol/messages.h"

#include <malloc.h>
#include <unistd.h>

namespace tenure::bench {
namespace {

using protocol::LockItem;
using protocol::LockMessage;

constexpr std::uint64_t kSelfIncarnation = 0x5e1f;
constexpr std::uint64_t kPeerIncarnation = 0x9ee7;
const std::string kSelf = "A";
const std::vector<std::string> kVoters = {"A", "B", "C"};

// Large blocks (a table's bucket array, a vector of rows) are mmap'd chunks,
// which uordblks leaves out.
std::size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

std::size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size_pages = 0;
  std::size_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// "e0000001" for 8 bytes; longer ids pad the number with zeros on the left,
// which keeps them distinct and ordered like the short ones.
std::string EntityId(std::size_t i, std::size_t id_bytes) {
  std::string digits = std::to_string(i);
  TENURE_CHECK(digits.size() + 1 <= id_bytes);
  return "e" + std::string(id_bytes - 1 - digits.size(), '0') + digits;
}

struct Options {
  std::size_t entities = 1'000'000;
  std::size_t id_bytes = 8;
  std::size_t batch = 1000;  // Requests per round, as one CLAIM message per voter.
  bool json = false;
};

struct Figures {
  std::size_t runtime = 0;  // Retained heap bytes.
  std::size_t session = 0;
  std::size_t voter = 0;
  std::size_t heap = 0;      // All retained heap growth.
  std::size_t resident = 0;  // RSS growth.
  double drive_seconds = 0;
};

// The node's cores, wired as worker_node/node.cc wires them, plus the two
// peer voters' replies.
class Node {
 public:
  explicit Node(TimePoint start) : now_(start) {
    lock::SessionOptions so;
    so.node_id = kSelf;
    so.incarnation = kSelfIncarnation;
    so.voters = kVoters;
    so.voter = true;
    so.seed = kSelfIncarnation;
    session_ = std::make_unique<lock::Session>(so, start);
    runtime_ =
        std::make_unique<entity::Runtime>(entity::RuntimeOptions{kSelf}, *session_, handler_);
    voter_ = std::make_unique<lock::Voter>(
        lock::VoterOptions{kSelf, kSelfIncarnation, lock::LockTiming{}, {}}, start);
  }

  // Heartbeats until this node's voter is past its quiet period and every
  // voter's deadline is fresh.
  void Warm() {
    const lock::LockTiming timing;
    const TimePoint until = now_ + timing.quiet_period() + timing.lease;
    while (now_ < until) {
      Heartbeat();
      now_ += timing.heartbeat_interval();
    }
    Heartbeat();
    TENURE_CHECK(!voter_->Quiet(now_));
  }

  // Requests `ids`, and carries everything out until each is active.
  void Drive(const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      protocol::Request r;
      r.request_id = ++request_id_;
      r.op = protocol::Op::kGet;
      r.entity_id = id;
      runtime_->HandleRequest("route", std::move(r), now_);
    }
    CarryOut();
  }

  void Check(std::size_t entities) const {
    TENURE_CHECK(runtime_->worker_count() == entities);
    TENURE_CHECK(runtime_->stats().activations == entities);
    TENURE_CHECK(session_->owned_count() == entities);
    TENURE_CHECK(replies_ == entities);
  }

  std::size_t DestroyRuntime() { return Destroy(runtime_); }
  std::size_t DestroySession() { return Destroy(session_); }
  std::size_t DestroyVoter() { return Destroy(voter_); }

 private:
  template <typename T>
  static std::size_t Destroy(std::unique_ptr<T>& core) {
    const std::size_t before = HeapInUse();
    core.reset();
    return before - HeapInUse();
  }

  void Heartbeat() {
    session_->Tick(now_);
    voter_->Tick(now_);
    runtime_->Tick(now_);
    CarryOut();
  }

  // As Node::CarryOut: runtime effects, then the session's, then the voter's,
  // until nothing is left.
  void CarryOut() {
    for (;;) {
      bool any = false;
      entity::Effects fx = runtime_->TakeEffects();
      any = any || !fx.empty();
      replies_ += fx.replies.size();
      for (entity::StoreCall& call : fx.store_calls) {
        any = true;
        runtime_->HandleStoreResult(call.ticket, StoreAnswer(call.op), now_);
      }
      for (const std::string& id : fx.claims) {
        session_->Claim(id, now_);
      }
      for (const std::string& id : fx.releases) {
        session_->Release(id, now_);
      }
      lock::SessionEffects lx = session_->TakeEffects(now_);
      any = any || !lx.heartbeats.empty() || !lx.messages.empty() || !lx.events.empty();
      for (const protocol::Heartbeat& hb : lx.heartbeats) {
        if (hb.to == kSelf) {
          voter_->Step(hb, now_);
        } else {
          session_->Step(PeerReply(LockMessage::Kind::kHbAck, hb.to, hb.seq, 0, {}), now_);
        }
      }
      for (const LockMessage& m : lx.messages) {
        if (m.to == kSelf) {
          voter_->Step(m, now_);
        } else if (m.kind == LockMessage::Kind::kClaim) {
          std::vector<LockItem> items;
          items.reserve(m.items.size());
          for (const LockItem& item : m.items) {
            items.push_back({item.name, item.claim, {}});
          }
          session_->Step(PeerReply(LockMessage::Kind::kGrant, m.to, 0, m.sent_ms, std::move(items)),
                         now_);
        }
      }
      for (const lock::LockEvent& e : lx.events) {
        TENURE_CHECK(e.kind == lock::LockEvent::Kind::kGranted);
        runtime_->HandleGranted(e.name, now_);
      }
      for (const LockMessage& m : voter_->TakeOutbox()) {
        any = true;
        session_->Step(m, now_);
      }
      if (!any) {
        return;
      }
    }
  }

  static LockMessage PeerReply(LockMessage::Kind kind, const std::string& voter, std::uint64_t seq,
                               std::int64_t sent_ms, std::vector<LockItem> items) {
    LockMessage m;
    m.kind = kind;
    m.from = voter;
    m.from_incarnation = kPeerIncarnation;
    m.to = kSelf;
    m.to_incarnation = kSelfIncarnation;
    m.seq = seq;
    m.sent_ms = sent_ms;
    m.items = std::move(items);
    return m;
  }

  // The row of an existing entity, as SqliteStore's activation returns it.
  store::StoreResult StoreAnswer(const store::StoreOp& op) {
    const auto* activate = std::get_if<store::ActivateOp>(&op);
    TENURE_CHECK(activate != nullptr);
    store::StoreResult r;
    r.epoch = ++epoch_;
    r.row = store::EntityRow{activate->id,   "working", 7,
                             activate->node, r.epoch,   "2025-01-01T00:00:00.000Z"};
    return r;
  }

  TimePoint now_;
  entity::PlainHandler handler_;
  std::unique_ptr<lock::Session> session_;
  std::unique_ptr<entity::Runtime> runtime_;
  std::unique_ptr<lock::Voter> voter_;
  std::uint64_t request_id_ = 0;
  std::uint64_t epoch_ = 0;
  std::size_t replies_ = 0;
};

Figures Measure(const Options& o) {
  Node node(TimePoint{} + std::chrono::hours(1));
  node.Warm();
  std::vector<std::string> batch;
  batch.reserve(o.batch);
  malloc_trim(0);
  const std::size_t heap_before = HeapInUse();
  const std::size_t resident_before = ResidentBytes();
  const auto began = std::chrono::steady_clock::now();
  for (std::size_t i = 1; i <= o.entities; ++i) {
    batch.push_back(EntityId(i, o.id_bytes));
    if (batch.size() == o.batch || i == o.entities) {
      node.Drive(batch);
      batch.clear();
    }
  }
  Figures f;
  f.drive_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  node.Check(o.entities);
  f.heap = HeapInUse() - heap_before;
  f.resident = ResidentBytes() - resident_before;
  f.runtime = node.DestroyRuntime();  // First: it refers to the session.
  f.session = node.DestroySession();
  f.voter = node.DestroyVoter();
  return f;
}

}  // namespace
}  // namespace tenure::bench

int main(int argc, char** argv) {
  tenure::bench::Options o;
  CLI::App app{"footprint: bytes per active entity in one worker_node's cores"};
  app.add_option("--entities", o.entities, "Active entities to reach")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--id-bytes", o.id_bytes, "Length of each entity id (8: e0000001)")
      ->check(CLI::Range(8, 255));
  app.add_option("--batch", o.batch, "Requests per round")->check(CLI::Range(1, 1'000'000));
  app.add_flag("--json", o.json, "Print one JSON object");
  CLI11_PARSE(app, argc, argv);

  const tenure::bench::Figures f = tenure::bench::Measure(o);
  const double n = static_cast<double>(o.entities);
  const double other =
      static_cast<double>(f.heap) - static_cast<double>(f.runtime + f.session + f.voter);
  if (o.json) {
    std::printf(
        "{\"entities\":%zu,\"id_bytes\":%zu,\"runtime_bytes_per_entity\":%.1f,"
        "\"session_bytes_per_entity\":%.1f,\"voter_bytes_per_entity\":%.1f,"
        "\"other_heap_bytes_per_entity\":%.1f,\"heap_bytes_per_entity\":%.1f,"
        "\"rss_bytes_per_entity\":%.1f,\"drive_seconds\":%.3f}\n",
        o.entities, o.id_bytes, static_cast<double>(f.runtime) / n,
        static_cast<double>(f.session) / n, static_cast<double>(f.voter) / n, other / n,
        static_cast<double>(f.heap) / n, static_cast<double>(f.resident) / n, f.drive_seconds);
    return 0;
  }
  std::printf("%zu active entities, %zu-byte ids, driven in %.2f s\n", o.entities, o.id_bytes,
              f.drive_seconds);
  std::printf("  runtime  %8.1f heap bytes per entity\n", static_cast<double>(f.runtime) / n);
  std::printf("  session  %8.1f\n", static_cast<double>(f.session) / n);
  std::printf("  voter    %8.1f\n", static_cast<double>(f.voter) / n);
  std::printf("  other    %8.1f\n", other / n);
  std::printf("  heap     %8.1f (all retained growth)\n", static_cast<double>(f.heap) / n);
  std::printf("  rss      %8.1f bytes per entity\n", static_cast<double>(f.resident) / n);
  return 0;
}
