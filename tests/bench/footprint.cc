// footprint: the memory one worker_node spends per active entity.
//
// Runs the node's pure core (node::NodeCore, as worker_node does: a node that
// is one of three voters) and drives N names through its real state machines
// until every one is owned and active: a `get` per name, the claim it causes,
// CLAIMs to the three voters (this node's Voter answers for real, through
// the core; the two others grant as a live voter would), the activation the
// grants start, and the store's answer to it with the row found (as
// SqliteStore gives it).
//
// Retained heap of the core is what destroying it gives back (mallinfo2():
// uordblks + hblkhd), so transient buffers count nowhere; RSS is the growth
// of /proc/self/statm from before the first name to after the last.
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

#include "tenure/base/check.h"
#include "tenure/base/ids.h"
#include "tenure/base/time.h"
#include "tenure/entity/handler.h"
#include "tenure/lock/rules.h"
#include "tenure/node/node_core.h"
#include "tenure/protocol/messages.h"

#include <malloc.h>
#include <unistd.h>

namespace tenure::bench {
namespace {

using namespace tenure::literals;

using protocol::LockItem;
using protocol::LockMessage;

constexpr Incarnation kSelfIncarnation{0x5e1f};
constexpr Incarnation kPeerIncarnation{0x9ee7};
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
  std::size_t core = 0;      // Retained heap bytes of the node core.
  std::size_t heap = 0;      // All retained heap growth.
  std::size_t resident = 0;  // RSS growth.
  double drive_seconds = 0;
};

// The node's core, carried out as worker_node/node.cc does, with the two
// peer voters' replies and the store's answers made up on the spot.
class Node {
 public:
  explicit Node(TimePoint start) : now_(start) {
    node::NodeCoreOptions o;
    o.id = NodeId(kSelf);
    o.incarnation = kSelfIncarnation;
    o.voters = NodeIds(kVoters);
    core_ = std::make_unique<node::NodeCore>(std::move(o), handler_, start);
  }

  // Heartbeats until this node's voter is past its quiet period and every
  // voter's deadline is fresh.
  void Warm() {
    const lock::LockTiming timing;
    const TimePoint until = now_ + timing.quiet_period() + timing.lease;
    while (now_ < until) {
      core_->Advance(now_);
      CarryOut();
      now_ += timing.heartbeat_interval();
    }
    core_->Advance(now_);
    CarryOut();
    TENURE_CHECK(!core_->voter()->Quiet(now_));
  }

  // Requests `ids`, and carries everything out until each is active.
  void Drive(const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      protocol::Request r;
      r.request_id = ++request_id_;
      r.op = protocol::Op::kGet;
      r.entity_id = id;
      core_->Step("route", std::move(r), now_);
    }
    CarryOut();
  }

  void Check(std::size_t entities) const {
    TENURE_CHECK(core_->worker_count() == entities);
    TENURE_CHECK(core_->runtime().stats().activations == entities);
    TENURE_CHECK(core_->claimant().owned_count() == entities);
    TENURE_CHECK(replies_ == entities);
  }

  std::size_t DestroyCore() {
    const std::size_t before = HeapInUse();
    core_.reset();
    return before - HeapInUse();
  }

 private:
  void CarryOut() {
    for (;;) {
      node::NodeEffects fx = core_->TakeEffects(now_);
      if (fx.store_jobs.empty() && fx.messages.empty()) {
        return;
      }
      for (store::Job& job : fx.store_jobs) {
        core_->HandleStoreResult(store::Done{job.ticket, StoreAnswer(job.op), StoreGeneration(1)},
                                 now_);
      }
      for (node::Outgoing& out : fx.messages) {
        if (std::holds_alternative<protocol::Reply>(out.message)) {
          ++replies_;
        } else if (auto* hb = std::get_if<protocol::Heartbeat>(&out.message)) {
          if (hb->to == kSelf) {
            core_->Step({}, *hb, now_);
          } else if (!hb->to.empty()) {
            core_->Step({}, PeerReply(LockMessage::Kind::kHbAck, hb->to, hb->seq, 0, {}), now_);
          }
        } else if (auto* m = std::get_if<LockMessage>(&out.message)) {
          if (m->to == kSelf) {
            core_->Step({}, *m, now_);
          } else if (m->kind == LockMessage::Kind::kClaim) {
            std::vector<LockItem> items;
            items.reserve(m->items.size());
            for (const LockItem& item : m->items) {
              items.push_back({item.name, item.claim, {}});
            }
            core_->Step(
                {}, PeerReply(LockMessage::Kind::kGrant, m->to, 0, m->sent_ms, std::move(items)),
                now_);
          }
        }
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
    epoch_ = Next(epoch_);
    r.epoch = epoch_;
    r.row = store::EntityRow{activate->id,   "working", 7_version,
                             activate->node, r.epoch,   "2025-01-01T00:00:00.000Z"};
    return r;
  }

  TimePoint now_;
  entity::PlainHandler handler_;
  std::unique_ptr<node::NodeCore> core_;
  std::uint64_t request_id_ = 0;
  Epoch epoch_;
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
  f.core = node.DestroyCore();
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
  const double other = static_cast<double>(f.heap) - static_cast<double>(f.core);
  if (o.json) {
    std::printf(
        "{\"entities\":%zu,\"id_bytes\":%zu,\"core_bytes_per_entity\":%.1f,"
        "\"other_heap_bytes_per_entity\":%.1f,\"heap_bytes_per_entity\":%.1f,"
        "\"rss_bytes_per_entity\":%.1f,\"drive_seconds\":%.3f}\n",
        o.entities, o.id_bytes, static_cast<double>(f.core) / n, other / n,
        static_cast<double>(f.heap) / n, static_cast<double>(f.resident) / n, f.drive_seconds);
    return 0;
  }
  std::printf("%zu active entities, %zu-byte ids, driven in %.2f s\n", o.entities, o.id_bytes,
              f.drive_seconds);
  std::printf("  core     %8.1f heap bytes per entity (session, voter, runtime)\n",
              static_cast<double>(f.core) / n);
  std::printf("  other    %8.1f\n", other / n);
  std::printf("  heap     %8.1f (all retained growth)\n", static_cast<double>(f.heap) / n);
  std::printf("  rss      %8.1f bytes per entity\n", static_cast<double>(f.resident) / n);
  return 0;
}
