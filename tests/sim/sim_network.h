// SimNetwork: what happens to one message between two processes.
//
// It decides, from the shared SimRandom, whether a message is lost, doubled,
// and how long each copy takes (a short uniform delay, or with a small chance
// a long one, so messages overtake each other). One-way cuts between two ids
// drop everything in that direction. The world carries the copies out; this
// class holds no messages.
//
// Not thread-safe: one run, one thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "sim/sim_random.h"

namespace tenure::sim {

using SimTime = std::int64_t;  // Real time of the run, microseconds.

inline SimTime FromMillis(double ms) { return static_cast<SimTime>(std::llround(ms * 1000.0)); }
inline double ToMillis(SimTime t) { return static_cast<double>(t) / 1000.0; }

struct NetworkOptions {
  double drop = 0.05;
  double dup = 0.03;
  double delay_min_ms = 1.0;
  double delay_max_ms = 20.0;
  double p_long = 0.05;
  double long_max_ms = 3000.0;
};

class SimNetwork {
 public:
  struct Copies {
    int count = 0;  // 0: dropped or cut.
    SimTime delay[2] = {0, 0};
  };

  SimNetwork(const NetworkOptions& options, SimRandom& rng) : options_(options), rng_(rng) {}

  // The copies of one message from `from` to `to`. With `faulty` false the
  // network is healthy: nothing is lost or doubled and delays are short.
  Copies Send(const std::string& from, const std::string& to, bool faulty);

  void Cut(const std::string& from, const std::string& to) { cuts_.insert({from, to}); }
  void Heal(const std::string& from, const std::string& to) { cuts_.erase({from, to}); }
  void HealAll() { cuts_.clear(); }
  bool IsCut(const std::string& from, const std::string& to) const {
    return cuts_.count({from, to}) != 0;
  }
  std::size_t cut_count() const { return cuts_.size(); }

 private:
  SimTime Delay(bool faulty);

  const NetworkOptions options_;
  SimRandom& rng_;
  std::set<std::pair<std::string, std::string>> cuts_;  // (from, to), one direction each.
};

}  // namespace tenure::sim
