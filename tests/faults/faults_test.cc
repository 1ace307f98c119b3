// The fault harness: a broker and three voting nodes from the build, eight
// concurrent clients, one kind of fault after another for --duration seconds
// (default 60), then heal, read every entity, and check the history:
// linearizable, no version going back, no acknowledged write lost (against
// the final reads and the database file). Availability is printed.
//
//   build/tests/faults_test --gtest_filter='Faults.Mix' --duration 600 --seed 7
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "faults/availability.h"
#include "faults/injector.h"
#include "faults/post_checks.h"
#include "faults/workload.h"
#include "history/history.h"
#include "integration/cluster.h"

namespace tenure::faults {
namespace {

using std::chrono::milliseconds;
using testing::Cluster;
using testing::ClusterOptions;

struct Flags {
  int duration_s = 60;
  std::uint64_t seed = 0;  // 0: from the clock, printed so a run can be replayed.
  std::string keep;        // Where to write the history; default: only on failure, in /tmp.
};
Flags g_flags;

constexpr int kLeaseMs = 1000;
const std::vector<std::string> kNodes = {"foo", "bar", "baz"};

std::map<std::string, history::Observed> Rows(const std::string& db) {
  std::map<std::string, history::Observed> rows;
  for (const auto& row : testing::Query(db, "SELECT id, state, version FROM entities")) {
    rows[row[0]] = history::Observed{row[1], std::stoull(row[2])};
  }
  return rows;
}

void RunFaults(FaultKind kind) {
  const std::uint64_t seed =
      g_flags.seed != 0
          ? g_flags.seed
          : static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  std::printf("faults %s: seed %llu, %d s, lease %d ms, nodes foo,bar,baz\n",
              FaultName(kind).c_str(), static_cast<unsigned long long>(seed), g_flags.duration_s,
              kLeaseMs);
  Cluster cluster(ClusterOptions{kNodes, kLeaseMs});
  const std::string fault_file = cluster.path("faults");
  std::ofstream(fault_file) << "";
  cluster.StartBroker({"--fault-file", fault_file});
  for (const std::string& id : kNodes) {
    cluster.StartNode(id);
  }

  Workload workload(WorkloadOptions{cluster.router(), 8, 8, milliseconds(1500), seed});
  std::mt19937_64 rng(seed);
  Injector injector(cluster, kNodes, fault_file, seed ^ 0x9e3779b97f4a7c15ULL, [&] {
    const std::vector<std::string> ids = workload.entity_ids();
    return workload.OwnerOf(ids[rng() % ids.size()]);
  });

  const std::int64_t begin = NowNs();
  const std::int64_t end = begin + std::int64_t{g_flags.duration_s} * 1'000'000'000;
  workload.Start();
  testing::Hold(milliseconds(2 * kLeaseMs));  // A calm start: quorum, first creates.
  while (NowNs() < end) {
    const std::int64_t at = NowNs();
    const std::string what = injector.InjectAndHeal(kind);
    std::printf("  [%5.1f s] %s\n", static_cast<double>(at - begin) / 1e9, what.c_str());
    std::fflush(stdout);
    testing::Hold(milliseconds(kLeaseMs + static_cast<int>(rng() % (2 * kLeaseMs))));
  }
  injector.HealAll();
  const std::int64_t faults_end = NowNs();
  workload.Stop();
  const std::map<std::string, history::Observed> finals = workload.ReadAll(milliseconds(30000));
  const std::vector<history::Op> ops = workload.history();

  const history::CheckResult check = history::CheckHistory(ops);
  const std::vector<std::string> back = VersionsGoingBack(ops);
  const std::vector<std::string> lost = LostWrites(ops, finals, Rows(cluster.db()));
  const Availability availability = Measure(ops, begin, faults_end);

  std::string faults;
  for (const auto& [name, n] : injector.counts()) {
    faults += (faults.empty() ? "" : ", ") + name + " " + std::to_string(n);
  }
  std::printf("faults %s: %zu operations on %zu entities; faults: %s\n", FaultName(kind).c_str(),
              ops.size(), check.entities, faults.c_str());
  std::printf("faults %s: %s\n", FaultName(kind).c_str(), Summary(availability).c_str());
  std::map<std::string, int> errors;
  for (const history::Op& op : ops) {
    if (op.outcome != history::Outcome::kOk) {
      ++errors[op.error];
    }
  }
  std::string error_line;
  for (const auto& [name, n] : errors) {
    error_line += (error_line.empty() ? "" : ", ") + name + " " + std::to_string(n);
  }
  std::printf("faults %s: errors: %s\n", FaultName(kind).c_str(), error_line.c_str());
  std::printf("faults %s: linearizable %s; versions going back %zu; lost writes %zu\n",
              FaultName(kind).c_str(), check.linearizable ? "yes" : "NO", back.size(), lost.size());

  const bool violated = !check.linearizable || !back.empty() || !lost.empty();
  if (violated || !g_flags.keep.empty()) {
    const std::string path = !g_flags.keep.empty() ? g_flags.keep
                                                   : "/tmp/tenure-faults-" + FaultName(kind) + "-" +
                                                         std::to_string(seed) + ".jsonl";
    std::ofstream(path) << history::ToJsonLines(ops);
    std::printf("faults %s: history kept in %s (check it again: history_check %s)\n",
                FaultName(kind).c_str(), path.c_str(), path.c_str());
  }
  EXPECT_TRUE(check.linearizable) << check.explanation;
  for (const std::string& line : back) ADD_FAILURE() << "version went back: " << line;
  for (const std::string& line : lost) ADD_FAILURE() << "lost write: " << line;
  EXPECT_EQ(finals.size(), Rows(cluster.db()).size())
      << "every entity that exists must be readable after healing";
  EXPECT_GT(availability.ok, 0u);
  for (const std::string& id : kNodes) {
    EXPECT_TRUE(cluster.node(id).running()) << id << " died:\n" << cluster.node(id).Log();
  }
}

TEST(Faults, Kill) { RunFaults(FaultKind::kKill); }
TEST(Faults, Pause) { RunFaults(FaultKind::kPause); }
TEST(Faults, Broker) { RunFaults(FaultKind::kBroker); }
TEST(Faults, Partition) { RunFaults(FaultKind::kPartition); }
TEST(Faults, Mix) { RunFaults(FaultKind::kMix); }

}  // namespace
}  // namespace tenure::faults

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--duration" && has_value) {
      tenure::faults::g_flags.duration_s = std::atoi(argv[++i]);
    } else if (flag == "--seed" && has_value) {
      tenure::faults::g_flags.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (flag == "--keep" && has_value) {
      tenure::faults::g_flags.keep = argv[++i];
    } else {
      std::cerr << "faults_test: unknown flag '" << flag
                << "' (takes --duration SECONDS, --seed N, --keep FILE and gtest flags)\n";
      return 2;
    }
  }
  if (tenure::faults::g_flags.duration_s <= 0) {
    std::cerr << "faults_test: --duration must be a positive number of seconds\n";
    return 2;
  }
  return RUN_ALL_TESTS();
}
