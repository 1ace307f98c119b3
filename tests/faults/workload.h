// The clients of a fault run: each thread is one client (its own connection,
// one operation at a time) issuing random gets, sets, compare-and-sets and
// creates on a small set of entities, recording every operation with its
// invocation and completion times for the history checker.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "history/history.h"

namespace tenure::faults {

struct WorkloadOptions {
  std::string broker;
  int clients = 8;
  int entities = 8;
  std::chrono::milliseconds timeout{2000};
  std::uint64_t seed = 1;
};

// Nanoseconds on the monotonic clock: every time in a history.
std::int64_t NowNs();

class Workload {
 public:
  explicit Workload(WorkloadOptions options);
  ~Workload();  // Stops the clients.
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void Start();
  // Asks every client to finish its current operation, and joins them.
  void Stop();
  // Reads every entity until the answer is definite (ok or not_found), or the
  // deadline passes; those reads join the history. Returns id -> value read.
  std::map<std::string, history::Observed> ReadAll(std::chrono::milliseconds deadline);

  std::vector<std::string> entity_ids() const;
  // The owner named by the newest ok reply for `id`; empty if none yet.
  std::string OwnerOf(const std::string& id) const;
  // The history so far (call after Stop for a complete one).
  std::vector<history::Op> history() const;
  std::uint64_t operations() const { return completed_.load(); }

 private:
  void Run(int process);
  void Record(history::Op op, const std::string& owner);

  const WorkloadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> completed_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<history::Op> history_;
  std::map<std::string, std::string> owners_;
};

}  // namespace tenure::faults
