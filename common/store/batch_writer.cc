#include "common/store/batch_writer.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/base/check.h"
#include "common/base/status.h"
#include "common/store/store.h"

namespace tenure::store {

BatchWriter::BatchWriter(std::unique_ptr<Store> store, BatchWriterOptions options,
                         std::function<void()> notify)
    : options_(options), notify_(std::move(notify)), store_(std::move(store)) {
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

void BatchWriter::Run() {
  std::vector<std::uint64_t> tickets;
  std::vector<StoreOp> ops;
  for (;;) {
    tickets.clear();
    ops.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // Stopping, and everything queued before Stop() is done.
      }
      // Everything queued so far, up to the bound, is one transaction.
      const std::size_t count = std::min(queue_.size(), options_.batch_ops_max);
      for (std::size_t i = 0; i < count; ++i) {
        tickets.push_back(queue_.front().ticket);
        ops.push_back(std::move(queue_.front().op));
        queue_.pop_front();
      }
    }
    std::vector<StoreResult> results = store_->Apply(ops);
    TENURE_CHECK(results.size() == ops.size());
    const StoreStats stats = store_->stats();
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Published only now that Apply() returned, i.e. after the commit.
      for (std::size_t i = 0; i < results.size(); ++i) {
        done_.push_back(Done{tickets[i], std::move(results[i])});
      }
      stats_ = stats;
    }
    // Outside the lock: notify_ may well call TakeDone().
    if (notify_) {
      notify_();
    }
  }
}

}  // namespace tenure::store
