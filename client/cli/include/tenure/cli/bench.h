// `client bench`: load generator and latency report over a Pipeline (the
// client library, many requests in flight on one connection).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "tenure/client.h"

namespace tenure::cli {

struct BenchOptions {
  std::string op = "get";  // get, set, cas, create or mix (90% get, 10% set).
  // Entities used; 0 = the op's default: 1000, and no limit for create.
  std::uint64_t entities = 0;
  int concurrency = 16;  // Requests in flight.
  double duration_s = 10;
  double warmup_s = 2;
  // Entity ids are <prefix><n>, n in [0, entities). Empty: "bench_", and for
  // create "bench_<random run tag>_" so that every run creates new ids.
  std::string prefix;
  bool once = false;    // Each entity exactly once, in order, then stop (duration_s still caps it).
  bool prepare = true;  // Create missing entities first (not for create).
  bool json = false;
};

// Runs the benchmark; the report goes to `out`, progress (on a terminal) and
// diagnostics to `err`. Returns the exit code.
int RunBench(const BenchOptions& bench, const ClientOptions& client, std::ostream& out,
             std::ostream& err);

}  // namespace tenure::cli
