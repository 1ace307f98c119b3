#include "tenure/store/batch_writer.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "tenure/base/check.h"
#include "tenure/base/status.h"
#include "tenure/store/store.h"

namespace tenure::store {

BatchWriter::BatchWriter(std::unique_ptr<Store> store, BatchWriterOptions options,
                         std::function<void()> notify)
    : options_(options),
      notify_(std::move(notify)),
      store_(std::move(store)),
      generation_(store_ != nullptr ? store_->generation() : StoreGeneration(0)) {
  TENURE_CHECK(store_ != nullptr);
  TENURE_CHECK(options_.queue_depth_max > 0);
  TENURE_CHECK(options_.batch_ops_max > 0);
  // Started last: Run() reads every member initialized above.
  thread_ = std::thread([this] { Run(); });
}

BatchWriter::~BatchWriter() { Stop(); }

Status BatchWriter::Submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      return Status::Unavailable("the store writer is stopping");
    }
    if (queue_.size() >= options_.queue_depth_max) {
      return Status::Busy("store writer queue full (" + std::to_string(options_.queue_depth_max) +
                          " jobs waiting)");
    }
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return Status::Ok();
}

std::vector<std::pair<std::size_t, Status>> BatchWriter::SubmitAll(std::vector<Job> jobs) {
  std::vector<std::pair<std::size_t, Status>> refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (stopping_) {
        refused.emplace_back(i, Status::Unavailable("the store writer is stopping"));
      } else if (queue_.size() >= options_.queue_depth_max) {
        refused.emplace_back(
            i, Status::Busy("store writer queue full (" + std::to_string(options_.queue_depth_max) +
                            " jobs waiting)"));
      } else {
        queue_.push_back(std::move(jobs[i]));
      }
    }
  }
  wake_.notify_one();
  return refused;
}

std::vector<Done> BatchWriter::TakeDone() {
  std::vector<Done> done;
  std::lock_guard<std::mutex> lock(mu_);
  done.swap(done_);
  return done;
}

void BatchWriter::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // Whoever moves the thread out joins it; a second Stop() finds it empty.
    thread = std::move(thread_);
  }
  wake_.notify_one();
  if (thread.joinable()) {
    // Joining from notify_ (the writer thread itself) would deadlock.
    TENURE_CHECK(thread.get_id() != std::this_thread::get_id());
    thread.join();
  }
}

StoreStats BatchWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void BatchWriter::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
}

StoreGeneration BatchWriter::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

Status BatchWriter::fault() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fault_;
}

namespace {

// Ops whose epochs or versions come from the caller's cache. Lists and
// histories read whatever the database holds now.
bool DependsOnCache(const StoreOp& op) {
  return !std::holds_alternative<ListOp>(op) && !std::holds_alternative<HistoryOp>(op);
}

}  // namespace

std::vector<StoreResult> BatchWriter::RunBatch(std::vector<Job>& jobs, StoreGeneration generation) {
  std::vector<StoreResult> results(jobs.size());
  std::vector<std::size_t> run;  // Indexes of the jobs that go to the store.
  std::vector<StoreOp> ops;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].generation != StoreGeneration(0) && jobs[i].generation != generation &&
        DependsOnCache(jobs[i].op)) {
      results[i].status = Status::Unavailable(
          "the store reopened its database (it may be another copy now) after this operation "
          "was prepared; nothing was written; retry");
      continue;
    }
    run.push_back(i);
    ops.push_back(std::move(jobs[i].op));
  }
  std::vector<StoreResult> applied = store_->Apply(ops);
  TENURE_CHECK(applied.size() == ops.size());
  for (std::size_t k = 0; k < run.size(); ++k) {
    results[run[k]] = std::move(applied[k]);
  }
  return results;
}

void BatchWriter::RunPoke() {
  [[maybe_unused]] Status recovered = store_->Recover();
  const StoreGeneration generation = store_->generation();
  Status fault = store_->fault();
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = generation != generation_ || fault != fault_;
    generation_ = generation;
    fault_ = std::move(fault);
  }
  if (changed && notify_) {
    notify_();
  }
}

void BatchWriter::Run() {
  std::vector<Job> jobs;
  for (;;) {
    jobs.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || poked_ || !queue_.empty(); });
      if (queue_.empty() && poked_ && !stopping_) {
        poked_ = false;
        lock.unlock();
        RunPoke();
        continue;
      }
      poked_ = false;  // A batch recovers first anyway.
      if (queue_.empty()) {
        return;  // Stopping, and everything queued before Stop() is done.
      }
      // Everything queued so far, up to the bound, is one transaction.
      const std::size_t count = std::min(queue_.size(), options_.batch_ops_max);
      for (std::size_t i = 0; i < count; ++i) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // A failed recovery is no reason to skip the batch: Apply() fails it with
    // the reason, which is what its callers need to hear.
    [[maybe_unused]] Status recovered = store_->Recover();
    const StoreGeneration generation = store_->generation();
    std::vector<StoreResult> results = RunBatch(jobs, generation);
    const StoreStats stats = store_->stats();
    Status fault = store_->fault();
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Published only now that Apply() returned, i.e. after the commit.
      for (std::size_t i = 0; i < results.size(); ++i) {
        done_.push_back(Done{jobs[i].ticket, std::move(results[i]), generation});
      }
      stats_ = stats;
      fault_ = std::move(fault);
      generation_ = generation;
    }
    // Outside the lock: notify_ may well call TakeDone().
    if (notify_) {
      notify_();
    }
  }
}

}  // namespace tenure::store
