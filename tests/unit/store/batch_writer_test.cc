// The batch writer: group commit, publication after commit, bounds, draining.
//
// No sleeps: the writer is held inside Store::Apply() by a gate the test opens,
// and the test waits for results on the notify callback with a deadline.
#include "tenure/store/batch_writer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tenure/base/status.h"
#include "tenure/store/store.h"

#include "unit/store/store_test_util.h"

namespace tenure::store {
namespace {

using namespace tenure::literals;

using testing::MustOpen;
using testing::RawQuery;
using testing::TempDir;

std::chrono::steady_clock::time_point Deadline() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(30);
}

// Counts notify() calls and lets the test wait for the next one.
class Notifier {
 public:
  std::function<void()> Callback() {
    return [this] {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++calls_;
      }
      cv_.notify_all();
    };
  }
  std::uint64_t calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // False when the deadline passed first.
  bool WaitBeyond(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return calls_ > seen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t calls_ = 0;
};

// Collects results until `count` arrived; fails the test at the deadline.
std::vector<Done> WaitForDone(BatchWriter& writer, Notifier& notifier, std::size_t count) {
  std::vector<Done> all;
  const auto deadline = Deadline();
  for (;;) {
    // Read the count first: a notify after TakeDone() then still wakes us.
    const std::uint64_t seen = notifier.calls();
    for (Done& done : writer.TakeDone()) {
      all.push_back(std::move(done));
    }
    if (all.size() >= count) {
      return all;
    }
    if (!notifier.WaitBeyond(seen, deadline)) {
      ADD_FAILURE() << "timed out with " << all.size() << " of " << count << " results";
      return all;
    }
  }
}

// Holds every Apply() until Open(), and records the batch sizes.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::vector<std::size_t> batch_sizes;

  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  bool WaitEntered(std::size_t batches) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_until(lock, Deadline(), [&] { return batch_sizes.size() >= batches; });
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard<std::mutex> lock(mu);
    return batch_sizes;
  }
};

class GatedStore : public Store {
 public:
  GatedStore(std::unique_ptr<Store> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}

  std::vector<StoreResult> Apply(std::span<const StoreOp> ops) override {
    {
      std::unique_lock<std::mutex> lock(gate_->mu);
      gate_->batch_sizes.push_back(ops.size());
      gate_->cv.notify_all();
      // The deadline only keeps a failed test from hanging in ~BatchWriter.
      gate_->cv.wait_until(lock, Deadline(), [this] { return gate_->open; });
    }
    return inner_->Apply(ops);
  }
  StoreStats stats() const override { return inner_->stats(); }

 private:
  std::unique_ptr<Store> inner_;
  std::shared_ptr<Gate> gate_;
};

std::unique_ptr<Store> Gated(std::unique_ptr<Store> inner, std::shared_ptr<Gate> gate) {
  return std::make_unique<GatedStore>(std::move(inner), std::move(gate));
}

// Creates a never-seen id on n1: a write that opens tenure 1.
StoreOp Create(const std::string& id) {
  return CreateOp{.id = EntityId(id), .node = "n1", .epoch = 0_epoch, .state = "initialized"};
}

TEST(BatchWriter, JobsSubmittedTogetherCommitInOneTransaction) {
  TempDir dir;
  auto gate = std::make_shared<Gate>();
  Notifier notifier;
  BatchWriter writer(Gated(MustOpen(dir.File("t.db")), gate), {}, notifier.Callback());

  // The writer takes the first job alone and is held in Apply() meanwhile.
  ASSERT_TRUE(writer.Submit(Job{0, Create("first")}).ok());
  ASSERT_TRUE(gate->WaitEntered(1));
  constexpr std::uint64_t kJobs = 10;
  for (std::uint64_t ticket = 1; ticket <= kJobs; ++ticket) {
    ASSERT_TRUE(writer.Submit(Job{ticket, Create("e" + std::to_string(ticket))}).ok());
  }
  gate->Open();
  std::vector<Done> done = WaitForDone(writer, notifier, kJobs + 1);

  ASSERT_EQ(done.size(), kJobs + 1);
  for (std::uint64_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].ticket, i);  // In submission order.
    EXPECT_TRUE(done[i].result.status.ok()) << done[i].result.status.ToString();
    EXPECT_EQ(done[i].result.epoch, 1_epoch);
  }
  EXPECT_EQ(gate->sizes(), (std::vector<std::size_t>{1, kJobs}));
  EXPECT_EQ(writer.stats().transactions, 2u);
  EXPECT_EQ(writer.stats().ops, kJobs + 1);
}

// An idle writer wakes at the first Submit: jobs submitted one by one can be
// split over two commits. SubmitAll hands them over at once.
TEST(BatchWriter, SubmitAllPutsEveryJobInOneTransaction) {
  TempDir dir;
  auto gate = std::make_shared<Gate>();
  Notifier notifier;
  BatchWriter writer(Gated(MustOpen(dir.File("t.db")), gate), {}, notifier.Callback());
  constexpr std::uint64_t kJobs = 50;
  std::vector<Job> jobs;
  for (std::uint64_t ticket = 0; ticket < kJobs; ++ticket) {
    jobs.push_back(Job{ticket, Create("e" + std::to_string(ticket))});
  }
  EXPECT_TRUE(writer.SubmitAll(std::move(jobs)).empty());
  ASSERT_TRUE(gate->WaitEntered(1));
  gate->Open();
  std::vector<Done> done = WaitForDone(writer, notifier, kJobs);
  ASSERT_EQ(done.size(), kJobs);
  for (std::uint64_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].ticket, i);
    EXPECT_TRUE(done[i].result.status.ok()) << done[i].result.status.ToString();
  }
  EXPECT_EQ(gate->sizes(), (std::vector<std::size_t>{kJobs}));
  EXPECT_EQ(writer.stats().transactions, 1u);
}

TEST(BatchWriter, SubmitAllRefusesWhatDoesNotFitAndSaysWhich) {
  TempDir dir;
  auto gate = std::make_shared<Gate>();
  Notifier notifier;
  BatchWriterOptions options;
  options.queue_depth_max = 3;
  BatchWriter writer(Gated(MustOpen(dir.File("t.db")), gate), options, notifier.Callback());
  // The writer holds the first job in Apply(): the queue is empty again.
  ASSERT_TRUE(writer.Submit(Job{100, Create("first")}).ok());
  ASSERT_TRUE(gate->WaitEntered(1));
  std::vector<Job> jobs;
  for (std::uint64_t ticket = 0; ticket < 5; ++ticket) {
    jobs.push_back(Job{ticket, Create("e" + std::to_string(ticket))});
  }
  auto refused = writer.SubmitAll(std::move(jobs));
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].first, 3u);
  EXPECT_EQ(refused[1].first, 4u);
  EXPECT_EQ(refused[0].second.code(), ErrorCode::kBusy);
  gate->Open();
  std::vector<Done> done = WaitForDone(writer, notifier, 4);
  EXPECT_EQ(done.size(), 4u);
}

TEST(BatchWriter, ResultsArePublishedOnlyAfterCommit) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  Notifier notifier;
  // The callback runs on the writer thread right after publishing: a second
  // connection must already see what the batch wrote.
  std::vector<std::string> seen_at_notify;
  std::mutex seen_mu;
  std::function<void()> wake = notifier.Callback();
  BatchWriter writer(MustOpen(path), {}, [&] {
    std::vector<std::string> rows = RawQuery(path, "SELECT id, node, epoch FROM ownership");
    {
      std::lock_guard<std::mutex> lock(seen_mu);
      seen_at_notify = std::move(rows);
    }
    wake();
  });

  ASSERT_TRUE(writer.Submit(Job{1, Create("e1")}).ok());
  std::vector<Done> done = WaitForDone(writer, notifier, 1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].result.status.ok());
  {
    std::lock_guard<std::mutex> lock(seen_mu);
    EXPECT_EQ(seen_at_notify, std::vector<std::string>{"e1|n1|1"});
  }

  ASSERT_TRUE(writer
                  .Submit(Job{2, WriteOp{.id = "e1",
                                         .epoch = done[0].result.epoch,
                                         .expected_version = 1_version,
                                         .state = "working"}})
                  .ok());
  done = WaitForDone(writer, notifier, 1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].result.status.ok()) << done[0].result.status.ToString();
  EXPECT_EQ(RawQuery(path, "SELECT id, state, version, owner_node, owner_epoch FROM entities"),
            std::vector<std::string>{"e1|working|2|n1|1"});
}

TEST(BatchWriter, SubmitBeyondQueueDepthIsBusy) {
  auto gate = std::make_shared<Gate>();
  Notifier notifier;
  BatchWriter writer(Gated(MustOpen(":memory:"), gate),
                     BatchWriterOptions{.queue_depth_max = 3, .batch_ops_max = 100},
                     notifier.Callback());
  ASSERT_TRUE(writer.Submit(Job{0, ListOp{}}).ok());
  ASSERT_TRUE(gate->WaitEntered(1));  // Job 0 is out of the queue.
  for (std::uint64_t ticket = 1; ticket <= 3; ++ticket) {
    ASSERT_TRUE(writer.Submit(Job{ticket, ListOp{}}).ok());
  }
  Status busy = writer.Submit(Job{4, ListOp{}});
  EXPECT_EQ(busy.code(), ErrorCode::kBusy);
  gate->Open();
  EXPECT_EQ(WaitForDone(writer, notifier, 4).size(), 4u);
  // Drained: room again.
  EXPECT_TRUE(writer.Submit(Job{5, ListOp{}}).ok());
  EXPECT_EQ(WaitForDone(writer, notifier, 1).size(), 1u);
}

TEST(BatchWriter, FailingOpDoesNotSpoilItsBatch) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto gate = std::make_shared<Gate>();
  Notifier notifier;
  BatchWriter writer(Gated(MustOpen(path), gate), {}, notifier.Callback());
  ASSERT_TRUE(writer.Submit(Job{0, ActivateOp{.id = "e1", .node = "n1"}}).ok());
  ASSERT_TRUE(gate->WaitEntered(1));
  ASSERT_TRUE(writer.Submit(Job{1, Create("e1")}).ok());
  ASSERT_TRUE(writer
                  .Submit(Job{2, WriteOp{.id = "e1",
                                         .epoch = 1_epoch,
                                         .expected_version = 1_version,
                                         .state = "nope"}})
                  .ok());
  ASSERT_TRUE(writer.Submit(Job{3, Create("e2")}).ok());
  gate->Open();
  std::vector<Done> done = WaitForDone(writer, notifier, 4);
  ASSERT_EQ(done.size(), 4u);
  // e1 was missing: the activation reports its newest epoch, 0.
  EXPECT_TRUE(done[0].result.status.ok()) << done[0].result.status.ToString();
  EXPECT_EQ(done[0].result.epoch, 0_epoch);
  EXPECT_FALSE(done[0].result.row.has_value());
  EXPECT_TRUE(done[1].result.status.ok()) << done[1].result.status.ToString();
  EXPECT_EQ(done[1].result.epoch, 1_epoch);
  EXPECT_EQ(done[2].result.status.code(), ErrorCode::kStorageError);
  EXPECT_TRUE(done[3].result.status.ok()) << done[3].result.status.ToString();
  EXPECT_EQ(gate->sizes(), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(writer.stats().transactions, 2u);
  // Both creates of the second batch committed around the failed write, which
  // left e1 at version 1.
  EXPECT_EQ(RawQuery(path, "SELECT id, state, version FROM entities ORDER BY id"),
            (std::vector<std::string>{"e1|initialized|1", "e2|initialized|1"}));
  EXPECT_EQ(RawQuery(path, "SELECT id, node, epoch FROM ownership ORDER BY id"),
            (std::vector<std::string>{"e1|n1|1", "e2|n1|1"}));
}

TEST(BatchWriter, BatchesAreBoundedByBatchOpsMax) {
  auto gate = std::make_shared<Gate>();
  Notifier notifier;
  BatchWriter writer(Gated(MustOpen(":memory:"), gate),
                     BatchWriterOptions{.queue_depth_max = 100, .batch_ops_max = 2},
                     notifier.Callback());
  ASSERT_TRUE(writer.Submit(Job{0, ListOp{}}).ok());
  ASSERT_TRUE(gate->WaitEntered(1));
  for (std::uint64_t ticket = 1; ticket <= 5; ++ticket) {
    ASSERT_TRUE(writer.Submit(Job{ticket, ListOp{}}).ok());
  }
  gate->Open();
  EXPECT_EQ(WaitForDone(writer, notifier, 6).size(), 6u);
  EXPECT_EQ(gate->sizes(), (std::vector<std::size_t>{1, 2, 2, 1}));
  EXPECT_EQ(writer.stats().transactions, 4u);
}

TEST(BatchWriter, StopRunsEverythingQueuedThenRefusesWork) {
  Notifier notifier;
  BatchWriter writer(MustOpen(":memory:"), {}, notifier.Callback());
  constexpr std::uint64_t kJobs = 100;
  for (std::uint64_t ticket = 0; ticket < kJobs; ++ticket) {
    StoreOp op = ticket == 0 ? Create("e") : StoreOp(ActivateOp{.id = "e", .node = "n1"});
    ASSERT_TRUE(writer.Submit(Job{ticket, std::move(op)}).ok());
  }
  writer.Stop();
  std::vector<Done> done = writer.TakeDone();
  ASSERT_EQ(done.size(), kJobs);
  for (std::uint64_t i = 0; i < kJobs; ++i) {
    EXPECT_EQ(done[i].ticket, i);
    EXPECT_EQ(done[i].result.epoch, Epoch{i + 1});  // Applied in order.
  }
  EXPECT_EQ(writer.Submit(Job{kJobs, ListOp{}}).code(), ErrorCode::kUnavailable);
  writer.Stop();  // Idempotent.
  EXPECT_TRUE(writer.TakeDone().empty());
}

TEST(BatchWriter, DestructorDrainsTheQueue) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  {
    BatchWriter writer(MustOpen(path), {}, nullptr);
    for (std::uint64_t ticket = 0; ticket < 20; ++ticket) {
      ASSERT_TRUE(writer.Submit(Job{ticket, Create("e" + std::to_string(ticket))}).ok());
    }
  }
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM ownership"), std::vector<std::string>{"20"});
}

// A store that reconnects (a new generation) at the next Recover() when told.
class ReconnectingStore : public Store {
 public:
  explicit ReconnectingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
  std::vector<StoreResult> Apply(std::span<const StoreOp> ops) override {
    return inner_->Apply(ops);
  }
  Status Recover() override {
    if (reconnect_.exchange(false)) {
      ++generation_;
    }
    return Status::Ok();
  }
  StoreGeneration generation() const override { return StoreGeneration(generation_); }
  StoreStats stats() const override { return inner_->stats(); }
  void ReconnectAtNextBatch() { reconnect_ = true; }

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<bool> reconnect_{false};
  std::atomic<std::uint64_t> generation_{1};
};

TEST(BatchWriter, OpsFromAnOlderGenerationAreRefusedAfterAReconnect) {
  TempDir dir;
  Notifier notifier;
  auto owned = std::make_unique<ReconnectingStore>(MustOpen(dir.File("t.db")));
  ReconnectingStore& store = *owned;
  BatchWriter writer(std::move(owned), {}, notifier.Callback());
  EXPECT_EQ(writer.generation(), StoreGeneration(1));
  ASSERT_TRUE(writer.Submit(Job{1, Create("e1"), StoreGeneration(1)}).ok());
  std::vector<Done> done = WaitForDone(writer, notifier, 1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].result.status.ok());
  EXPECT_EQ(done[0].generation, StoreGeneration(1));

  store.ReconnectAtNextBatch();
  // Prepared from generation 1: a write (refused), a list (runs: it depends
  // on no cache), and an op stamped 0 (depends on none either).
  ASSERT_TRUE(
      writer
          .Submit(Job{
              2,
              WriteOp{
                  .id = "e1", .epoch = 1_epoch, .expected_version = 1_version, .state = "working"},
              StoreGeneration(1)})
          .ok());
  ASSERT_TRUE(writer.Submit(Job{3, ListOp{}, StoreGeneration(1)}).ok());
  ASSERT_TRUE(writer.Submit(Job{4, Create("e2"), StoreGeneration(0)}).ok());
  done = WaitForDone(writer, notifier, 3);
  ASSERT_EQ(done.size(), 3u);
  for (const Done& d : done) {
    EXPECT_EQ(d.generation, StoreGeneration(2));
  }
  EXPECT_EQ(done[0].result.status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(done[0].result.status.message().find("reopened"), std::string::npos)
      << done[0].result.status.message();
  ASSERT_TRUE(done[1].result.status.ok());
  ASSERT_EQ(done[1].result.rows.size(), 1u);
  EXPECT_EQ(done[1].result.rows[0].version, 1_version) << "the refused write ran";
  EXPECT_TRUE(done[2].result.status.ok()) << done[2].result.status.ToString();

  // Stamped with the new generation, the write goes through.
  ASSERT_TRUE(
      writer
          .Submit(Job{
              5,
              WriteOp{
                  .id = "e1", .epoch = 1_epoch, .expected_version = 1_version, .state = "working"},
              StoreGeneration(2)})
          .ok());
  done = WaitForDone(writer, notifier, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].result.status.ok()) << done[0].result.status.ToString();
}

TEST(BatchWriter, APokeFindsAReconnectionWithoutAJob) {
  TempDir dir;
  Notifier notifier;
  auto owned = std::make_unique<ReconnectingStore>(MustOpen(dir.File("t.db")));
  ReconnectingStore& store = *owned;
  BatchWriter writer(std::move(owned), {}, notifier.Callback());
  const std::uint64_t seen = notifier.calls();
  writer.Poke();  // Nothing changed: no notify is owed.
  store.ReconnectAtNextBatch();
  writer.Poke();
  ASSERT_TRUE(notifier.WaitBeyond(seen, Deadline()));
  EXPECT_EQ(writer.generation(), StoreGeneration(2));
  EXPECT_TRUE(writer.TakeDone().empty());
}

}  // namespace
}  // namespace tenure::store
