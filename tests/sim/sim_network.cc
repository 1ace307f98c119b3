#include "sim/sim_network.h"

namespace tenure::sim {

SimTime SimNetwork::Delay(bool faulty) {
  if (faulty && rng_.Chance(options_.p_long)) {
    return FromMillis(rng_.Uniform(options_.delay_max_ms, options_.long_max_ms));
  }
  return FromMillis(rng_.Uniform(options_.delay_min_ms, options_.delay_max_ms));
}

SimNetwork::Copies SimNetwork::Send(const std::string& from, const std::string& to, bool faulty) {
  Copies copies;
  if (IsCut(from, to)) {
    return copies;
  }
  int count = 1;
  if (faulty) {
    if (rng_.Chance(options_.drop)) {
      return copies;
    }
    if (rng_.Chance(options_.dup)) {
      count = 2;
    }
  }
  for (int i = 0; i < count; ++i) {
    copies.delay[i] = Delay(faulty);
  }
  copies.count = count;
  return copies;
}

}  // namespace tenure::sim
