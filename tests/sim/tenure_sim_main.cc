// tenure_sim: the deterministic simulator of the quorum name lock table.
//
//   tenure_sim --seed 7                  one run: the last trace lines and the verdict
//   tenure_sim --seeds 250 --start 500   many runs: a summary
//   tenure_sim --rules all-no_break --seeds 300 --expect-violation
//                                        shows that a rule bites (exit 0 iff a seed violates)
//
// Exit code: 0 when every run is safe and live, 1 otherwise (with
// --expect-violation: 0 iff some run broke a safety invariant), 2 on bad flags.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/sim_world.h"
#include <unistd.h>

namespace {

// What a failed TENURE_CHECK (an invariant of a core, checked after every
// event) prints on its way out: the seed, so that the run can be replayed.
// Formatted before each run, written by the SIGABRT handler.
char abort_note[512];
std::size_t abort_note_size = 0;

extern "C" void OnAbort(int /*signal*/) {
  [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, abort_note, abort_note_size);
}

void NoteSeed(int argc, char** argv, std::uint64_t seed);

using tenure::sim::RunResult;
using tenure::sim::SimOptions;

// The command line that replays `seed` alone: the flags given, with the
// seed range and --expect-violation replaced by --seed.
std::string ReplayCommand(int argc, char** argv, std::uint64_t seed) {
  std::string out = "tenure_sim --seed " + std::to_string(seed);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seeds" || arg == "--start" || arg == "--seed") {
      ++i;
      continue;
    }
    if (arg.rfind("--seeds=", 0) == 0 || arg.rfind("--start=", 0) == 0 ||
        arg.rfind("--seed=", 0) == 0 || arg == "--expect-violation" || arg == "--verbose") {
      continue;
    }
    out += " " + arg;
  }
  return out;
}

void PrintTail(const RunResult& r) {
  for (const std::string& line : r.tail) {
    std::printf("  %s\n", line.c_str());
  }
}

std::string Verdict(const RunResult& r) {
  if (r.violation) {
    char at[64];
    std::snprintf(at, sizeof at, " (at %.3f ms)", r.violation_at_ms);
    return "VIOLATION " + std::string(tenure::sim::ViolationKindName(r.violation->kind)) + ": " +
           r.violation->text + at;
  }
  if (!r.liveness.empty()) {
    std::string out = "LIVENESS FAILURE:";
    for (const auto& f : r.liveness) {
      char item[128];
      std::snprintf(item, sizeof item, " %s unserved for %.0f ms", f.name.c_str(), f.gap_ms);
      out += item;
    }
    return out;
  }
  return "ok";
}

int RunOne(const SimOptions& options, std::uint64_t seed, bool expect_violation) {
  const RunResult r = tenure::sim::RunSeed(options, seed);
  std::printf("seed %llu, last %zu trace lines:\n", static_cast<unsigned long long>(seed),
              r.tail.size());
  PrintTail(r);
  const auto& s = r.stats;
  std::printf(
      "events=%llu messages=%llu requests=%llu reads=%llu writes=%llu errors=%llu "
      "batches=%llu batch_faults=%llu activations=%llu handler_throws=%llu faults=%llu "
      "nack_exits=%llu\n",
      static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.messages),
      static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.reads),
      static_cast<unsigned long long>(s.writes_acked), static_cast<unsigned long long>(s.errors),
      static_cast<unsigned long long>(s.store_batches),
      static_cast<unsigned long long>(s.batch_faults),
      static_cast<unsigned long long>(s.activations),
      static_cast<unsigned long long>(s.handler_throws), static_cast<unsigned long long>(s.faults),
      static_cast<unsigned long long>(s.fatal_exits));
  std::printf("trace hash %016llx\n", static_cast<unsigned long long>(r.trace_hash));
  std::printf("seed %llu: %s\n", static_cast<unsigned long long>(seed), Verdict(r).c_str());
  if (expect_violation) {
    return r.safe() ? 1 : 0;
  }
  return r.ok() ? 0 : 1;
}

void NoteSeed(int argc, char** argv, std::uint64_t seed) {
  const int n =
      std::snprintf(abort_note, sizeof abort_note, "tenure_sim: aborted in seed %llu: %s\n",
                    static_cast<unsigned long long>(seed), ReplayCommand(argc, argv, seed).c_str());
  abort_note_size = std::min(sizeof abort_note - 1, static_cast<std::size_t>(std::max(n, 0)));
}

int RunMany(const SimOptions& options, std::uint64_t start, std::uint64_t count,
            bool expect_violation, int argc, char** argv) {
  const auto began = std::chrono::steady_clock::now();
  std::uint64_t ok = 0;
  std::uint64_t runs = 0;
  std::map<std::string, std::uint64_t> violations;  // kind -> count
  std::map<std::string, std::uint64_t> first;       // kind -> first seed
  std::vector<std::uint64_t> liveness_seeds;
  bool printed_trace = false;
  for (std::uint64_t seed = start; seed < start + count; ++seed) {
    NoteSeed(argc, argv, seed);
    const RunResult r = tenure::sim::RunSeed(options, seed);
    ++runs;
    if (r.violation) {
      const std::string kind(tenure::sim::ViolationKindName(r.violation->kind));
      ++violations[kind];
      first.try_emplace(kind, seed);
      std::printf("seed %llu: %s\n  replay: %s\n", static_cast<unsigned long long>(seed),
                  Verdict(r).c_str(), ReplayCommand(argc, argv, seed).c_str());
      if (!printed_trace) {
        PrintTail(r);
        printed_trace = true;
      }
      if (expect_violation) {
        break;  // Found what was expected: the rule bites.
      }
    } else if (!r.liveness.empty()) {
      liveness_seeds.push_back(seed);
      std::printf("seed %llu: %s\n  replay: %s\n", static_cast<unsigned long long>(seed),
                  Verdict(r).c_str(), ReplayCommand(argc, argv, seed).c_str());
    } else {
      ++ok;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::string kinds;
  for (const auto& [kind, n] : violations) {
    kinds += (kinds.empty() ? "" : ", ") + kind + "=" + std::to_string(n) + " (first seed " +
             std::to_string(first[kind]) + ")";
  }
  std::printf(
      "seeds %llu..%llu rules=%s fence=%s: %llu runs, ok=%llu, violations: %s; liveness "
      "failures: %zu",
      static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + count - 1),
      options.rules.ToString().c_str(), options.fence ? "on" : "off",
      static_cast<unsigned long long>(runs), static_cast<unsigned long long>(ok),
      kinds.empty() ? "none" : kinds.c_str(), liveness_seeds.size());
  if (!liveness_seeds.empty()) {
    std::printf(" (first seed %llu)", static_cast<unsigned long long>(liveness_seeds.front()));
  }
  std::printf("; %.1f s, %.1f seeds/s\n", secs, static_cast<double>(runs) / secs);
  if (expect_violation) {
    if (violations.empty()) {
      std::printf("expected a violation with rules=%s fence=%s, found none\n",
                  options.rules.ToString().c_str(), options.fence ? "on" : "off");
      return 1;
    }
    return 0;
  }
  return violations.empty() && liveness_seeds.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tenure_sim: deterministic simulation of the quorum name lock table"};
  SimOptions options;
  std::uint64_t seed = 0;
  std::uint64_t seeds = 0;
  std::uint64_t start = 0;
  std::string rules = "all";
  std::string kinds = tenure::sim::FaultKindsToString(options.kinds);
  bool no_fence = false;
  bool expect_violation = false;
  auto* seed_opt = app.add_option("--seed", seed, "Run this one seed and print its trace");
  app.add_option("--seeds", seeds, "Run this many seeds")->excludes(seed_opt);
  app.add_option("--start", start, "First seed of --seeds");
  app.add_option("--rules", rules, "Safety rules on: all | none | all-NAME | a,b,..")
      ->capture_default_str();
  app.add_flag("--no-fence", no_fence, "The store applies writes whatever their epoch");
  app.add_flag("--expect-violation", expect_violation,
               "Exit 0 iff some seed breaks a safety invariant (stops at the first)");
  app.add_option("--voters", options.voters, "Voters (even: plus the broker's witness)")
      ->check(CLI::Range(1, 15))
      ->capture_default_str();
  app.add_option("--nodes", options.nodes, "Node processes")
      ->check(CLI::Range(1, 26))
      ->capture_default_str();
  app.add_option("--names", options.names, "Entity names")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  bool separate_voters = false;
  std::string routing = "broker";
  std::string misconfig = "none";
  app.add_flag("--separate-voters", separate_voters,
               "Every voter is a process of its own, not inside a node");
  app.add_option("--routing", routing,
                 "Lock traffic for a node id: broker (RouterCore) | last-sender (whichever process "
                 "last sent under it)")
      ->check(CLI::IsMember({"broker", "last-sender"}))
      ->capture_default_str();
  app.add_option("--misconfig", misconfig,
                 "Add node R with other settings: none | subset (one of the voters) | disjoint "
                 "(itself as voter) | lease (three times as long)")
      ->check(CLI::IsMember({"none", "subset", "disjoint", "lease"}))
      ->capture_default_str();
  app.add_option("--kinds", kinds,
                 "Fault kinds: pause,crash,cut,twin,broker,reopen (repeat to weight)")
      ->capture_default_str();
  app.add_option("--drift", options.drift, "Clock rate bound |rate-1|")
      ->check(CLI::Range(0.0, 0.2))
      ->capture_default_str();
  app.add_option("--lease", options.lease_ms, "Lease (ms)")->capture_default_str();
  app.add_option("--margin", options.margin_ms, "Session margin (ms)")->capture_default_str();
  app.add_option("--fault-gap", options.fault_gap_ms, "Mean time between faults (ms)")
      ->capture_default_str();
  app.add_option("--t-fault", options.t_fault_ms, "Faults stop at (ms)")->capture_default_str();
  app.add_option("--t-end", options.t_end_ms, "Run ends at (ms)")->capture_default_str();
  app.add_option("--drop", options.drop, "Message loss while faulty")->capture_default_str();
  app.add_option("--dup", options.dup, "Message duplication while faulty")->capture_default_str();
  app.add_option("--p-long", options.p_long, "Chance of a long delay while faulty")
      ->capture_default_str();
  app.add_option("--long-max", options.long_max_ms, "Longest message delay (ms)")
      ->capture_default_str();
  app.add_option("--pause-max", options.pause_max_leases, "Longest pause (leases)")
      ->capture_default_str();
  app.add_option("--down-max", options.down_max_leases, "Longest down time (leases)")
      ->capture_default_str();
  app.add_option("--cut-max", options.cut_max_leases, "Longest cut (leases)")
      ->capture_default_str();
  app.add_option("--store-fail", options.store_fail_p,
                 "Chance a store batch fails as a whole while faulty")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--throw", options.throw_p, "Chance the handler throws on a set while faulty")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--route-to-owner", options.route_to_owner,
                 "Chance a request goes where the broker routes it, not via a random node")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--liveness-leases", options.liveness_bound_leases,
                 "After heal, every name must be served within this many leases")
      ->capture_default_str();
  app.add_option("--tail", options.tail, "Trace lines to print")->capture_default_str();
  app.add_flag("--verbose", options.verbose, "Print every trace line as it happens");
  app.add_flag("--trace-heartbeats", options.trace_heartbeats,
               "Trace HEARTBEAT and HB_ACK deliveries too");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGABRT, OnAbort);

  if (!tenure::lock::LockRules::Parse(rules, options.rules)) {
    std::fprintf(stderr, "--rules: unknown rule in '%s'\n", rules.c_str());
    return 2;
  }
  if (!tenure::sim::ParseFaultKinds(kinds, options.kinds)) {
    std::fprintf(stderr, "--kinds: expected a comma list of pause,crash,cut,twin,broker\n");
    return 2;
  }
  options.fence = !no_fence;
  options.colocate = !separate_voters;
  options.routing =
      routing == "broker" ? tenure::sim::Routing::kBroker : tenure::sim::Routing::kLastSender;
  tenure::sim::ParseMisconfig(misconfig, options.misconfig);
  if (options.t_end_ms <= options.t_fault_ms) {
    std::fprintf(stderr, "--t-end must be after --t-fault\n");
    return 2;
  }
  if (seeds == 0) {
    NoteSeed(argc, argv, seed);
    return RunOne(options, seed, expect_violation);
  }
  return RunMany(options, start, seeds, expect_violation, argc, argv);
}
