// SimRandom: the simulator's one source of randomness.
//
// Every random choice of a run comes from one std::mt19937_64 seeded from the
// run's seed, so a seed names a run. The helpers below use only the engine's
// raw 64-bit outputs (no std::*_distribution, whose results differ between
// standard libraries), so a seed names the same run on every platform.
//
// Not thread-safe: one run, one thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "tenure/base/check.h"
#include "tenure/base/strong_id.h"

namespace tenure::sim {

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) : engine_(seed) {}

  std::uint64_t Next() { return engine_(); }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) {
    TENURE_CHECK(lo <= hi);
    return lo + (hi - lo) * Unit();
  }
  bool Chance(double p) { return Unit() < p; }
  // Uniform in [0, n). REQUIRES: n > 0.
  std::size_t Below(std::size_t n) {
    TENURE_CHECK(n > 0);
    return static_cast<std::size_t>(engine_() % n);
  }
  // Exponentially distributed with the given mean.
  double Exponential(double mean) { return -mean * std::log1p(-Unit()); }
  // A process incarnation: random, never 0 (0 means "not heard from").
  tenure::Incarnation NewIncarnation() {
    std::uint64_t v = 0;
    while (v == 0) {
      v = engine_();
    }
    return tenure::Incarnation(v);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace tenure::sim
