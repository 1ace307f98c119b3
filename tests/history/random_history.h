// Test support: random histories that are linearizable by construction.
// Clients issue operations with random delays; each operation takes effect
// on a true register at a random instant inside its interval (an
// indeterminate write: any instant after its invocation, or never), and the
// recorded reply is what that register answered. The truth is kept so that
// tests can mutate a reply into one that is certainly wrong.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "history/history.h"

namespace tenure::history {

struct RandomHistoryOptions {
  std::uint64_t seed = 1;
  int clients = 4;
  int operations = 100;  // In all, over every client and entity.
  int entities = 1;
  double indeterminate = 0.05;  // Share of operations with no reply.
  double never_applied = 0.5;   // Share of indeterminate writes that never take effect.
  double refused = 0.02;        // Share failing with `busy`: no effect, no observation.
};

struct RandomHistory {
  std::vector<Op> ops;  // In invocation order.
  // Per entity, the state each version had (index 0 unused: absent).
  std::map<std::string, std::vector<std::string>> truth;
};

RandomHistory GenerateRandomHistory(const RandomHistoryOptions& options);

// Changes one thing about one operation, chosen at random: an observed
// version or state, a reply made indeterminate, not_found or ok, or the
// timing. The result may or may not still be linearizable.
// REQUIRES: !history->empty().
void PerturbOne(std::mt19937_64& random, std::vector<Op>* history);

}  // namespace tenure::history
