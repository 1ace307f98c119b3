// BatchWriter: the one writer thread of a node (group commit).
//
// The node's event loop submits store operations; the writer thread takes every
// job queued so far (up to batch_ops_max) and runs them as one Store::Apply()
// batch, i.e. one transaction, then publishes the results and calls `notify`
// (which wakes the event loop, e.g. by writing an eventfd). Results of a batch
// are published only after its commit returned, so a reply built from them
// always describes committed data.
//
// Before each batch, and when poked between batches, the writer lets the
// store check itself and recover from the last fault (Store::Recover). When
// that reconnected the store to its database (a new generation, see
// store.h), jobs stamped with an older generation that depend on what the
// caller cached (activations, writes, creates, releases) are refused with
// kUnavailable instead of run: their epochs and versions were read from a
// database that may not be the one at the path now.
//
// Thread-safe: every public method may be called from any thread; the Store
// is touched only by the writer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/store/store.h"

namespace tenure::store {

struct BatchWriterOptions {
  std::size_t queue_depth_max = 65536;  // Jobs waiting; Submit answers busy beyond it.
  std::size_t batch_ops_max = 4096;     // Jobs per transaction.
};

class BatchWriter {
 public:
  BatchWriter(std::unique_ptr<Store> store, BatchWriterOptions options,
              std::function<void()> notify);
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;
  // Runs what is queued, then joins the thread.
  ~BatchWriter();

  // Queues `job`. kBusy when queue_depth_max jobs are already waiting.
  Status Submit(Job job);
  // Queues every job under one lock and wakes the writer once: the jobs an
  // event-loop turn produced then share one transaction, where one Submit
  // each let the writer start a batch with the first and commit the rest
  // one fsync later. Returns why each refused job (by index) was refused.
  std::vector<std::pair<std::size_t, Status>> SubmitAll(std::vector<Job> jobs);
  // Moves out every result published so far.
  std::vector<Done> TakeDone();
  // Has the writer call Store::Recover() soon even with no job queued, so
  // that a fault (or its end) is found without waiting for a write; notify
  // is called if that changed the fault or the generation.
  void Poke();
  // Finishes every queued job, then stops the thread. Idempotent.
  void Stop();
  // Snapshot of the store's counters, as of the last finished batch.
  StoreStats stats() const;
  // The store's generation, as of the last batch or poke. Results of a
  // generation are published before it is: once this reads N, no result of
  // an older generation remains untaken after the TakeDone() before it.
  StoreGeneration generation() const;
  // Why the last batch failed as a whole (Store::fault), OK once one commits.
  Status fault() const;

 private:
  void Run();
  // Runs one batch on the writer thread and returns a result per job.
  std::vector<StoreResult> RunBatch(std::vector<Job>& jobs, StoreGeneration generation);
  // A poke with nothing queued: recover, publish, notify if anything changed.
  void RunPoke();

  // Constant after construction.
  const BatchWriterOptions options_;
  const std::function<void()> notify_;
  std::unique_ptr<Store> store_;  // Used only by thread_.

  mutable std::mutex mu_;
  std::condition_variable wake_;  // Signalled when queue_ grows or stopping_ is set.
  std::deque<Job> queue_;         // Guarded by mu_.
  std::vector<Done> done_;        // Guarded by mu_.
  StoreStats stats_;              // Guarded by mu_.
  Status fault_;                  // Guarded by mu_.
  StoreGeneration generation_;    // Guarded by mu_.
  bool poked_ = false;            // Guarded by mu_.
  bool stopping_ = false;         // Guarded by mu_.

  std::thread thread_;
};

}  // namespace tenure::store
