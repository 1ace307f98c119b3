// failover_bench: how long the entities of a node killed with SIGKILL stay
// unserved, measured on a real local cluster.
//
// It starts a broker and three voting nodes (a, b, c) from this build on
// ipc:// sockets in a temp directory, sharing one SQLite file, and creates
// --entities entities through the client library. Each trial then
//   1. asks every entity's owner (Where) and picks the node owning the most,
//   2. writes a new state to each of that node's entities and keeps the
//      acknowledged (state, version),
//   3. kills the node (SIGKILL, by PID) at a random instant within a heartbeat
//      interval (so that the time since its last heartbeat is uniform, as
//      for a crash at any moment), and polls each of its entities with
//      Get from --threads threads, each entity no more often than every
//      --poll-ms, until a survivor serves it, checking that the state and
//      version served are the ones acknowledged (no lost write),
//   4. restarts the node under the same id, waits until the broker lists it
//      alive, then lets its voter's quiet period (lease + margin) pass.
// A trial's "first" is the time from the kill until the first entity was
// served again, its "all" the time until the last one was.
//
// Progress goes to stderr; the summary to stdout (one JSON object with
// --json). Every process it started is stopped by PID when it ends, also on
// an error or SIGINT/SIGTERM. Exit codes: 0 ok, 1 error or lost write, 2 usage.
//
// Single-threaded apart from the pollers of step 3, which share nothing but
// their read-only inputs and write only their own slots of the results.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <latch>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenure/client.h"

#include "integration/cluster.h"
#include "integration/process.h"

namespace tenure::bench {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using testing::Cluster;

struct Flags {
  int lease_ms = 2000;
  int entities = 200;
  int trials = 10;
  int threads = 8;
  int timeout_ms = 200;  // Of each polling Get.
  int poll_ms = 10;      // Minimum time between two Gets of one entity.
  bool json = false;
  std::uint64_t seed = 1;  // Of the kill instants.
  bool verbose = false;    // Per trial: heartbeat phases and every entity's time.
  std::string keep_logs;   // Copy the processes' logs here at the end; empty = don't.
};

const std::vector<std::string> kVoters = {"a", "b", "c"};

// Set by SIGINT/SIGTERM; checked by every loop, which then throws so that the
// cluster's destructors stop the processes.
std::atomic<bool> interrupted{false};

void OnSignal(int /*signo*/) { interrupted.store(true); }

void CheckInterrupted() {
  if (interrupted.load()) {
    throw std::runtime_error("interrupted");
  }
}

void Usage(std::ostream& out) {
  out << "usage: failover_bench [--lease MS] [--entities N] [--trials N] [--threads N]\n"
         "                      [--timeout MS] [--poll-ms MS] [--json] [--verbose]\n"
         "                      [--seed N] [--keep-logs DIR]\n"
         "  --lease MS      session lease of the cluster (2000)\n"
         "  --entities N    entities created (200)\n"
         "  --trials N      kills measured (10)\n"
         "  --threads N     polling threads, one client each (8)\n"
         "  --timeout MS    timeout of each polling Get (200)\n"
         "  --poll-ms MS    at most one Get per entity this often (10)\n"
         "  --seed N        of the random instants of the kills (1)\n"
         "  --json          print the summary as one JSON object\n"
         "  --verbose       per trial, also each node's last heartbeat before the kill (as\n"
         "                  the broker saw it) and every entity's time, by survivor\n"
         "  --keep-logs DIR copy the broker's and nodes' logs (debug level) into DIR\n";
}

// nullopt: bad usage (already reported).
std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  std::map<std::string, int*> ints = {
      {"--lease", &flags.lease_ms},     {"--entities", &flags.entities},
      {"--trials", &flags.trials},      {"--threads", &flags.threads},
      {"--timeout", &flags.timeout_ms}, {"--poll-ms", &flags.poll_ms}};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(std::cout);
      std::exit(0);
    }
    if (arg == "--json") {
      flags.json = true;
      continue;
    }
    if (arg == "--verbose") {
      flags.verbose = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "failover_bench: " << arg << ": unknown flag or missing value\n";
      Usage(std::cerr);
      return std::nullopt;
    }
    const std::string value = argv[++i];
    if (arg == "--keep-logs") {
      flags.keep_logs = value;
      continue;
    }
    if (arg == "--seed") {
      flags.seed = std::strtoull(value.c_str(), nullptr, 10);
      continue;
    }
    auto it = ints.find(arg);
    std::size_t used = 0;
    int parsed = 0;
    try {
      parsed = std::stoi(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (it == ints.end() || used != value.size() || parsed <= 0) {
      std::cerr << "failover_bench: " << arg << " " << value
                << ": unknown flag or not a positive integer\n";
      Usage(std::cerr);
      return std::nullopt;
    }
    *it->second = parsed;
  }
  return flags;
}

double Millis(SteadyClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Local wall-clock time with milliseconds, as the processes' log lines start.
std::string WallNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03lld", buf, static_cast<long long>(ms));
  return out;
}

// Nearest-rank percentile of `values` (not empty): the smallest value with at
// least q of them at or below it. With 10 trials p99 is the maximum.
double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// A short name for a failed Get, to count what the pollers met.
std::string Classify(const ClientError& e) {
  for (const char* key : {"no reply within", "is not alive", "is held by", "no quorum",
                          "not reachable", "lost the ownership", "shutting down"}) {
    if (e.message.find(key) != std::string::npos) {
      return key;
    }
  }
  return e.message.substr(0, 60);
}

// Calls `op` until it succeeds or `timeout` passes; throws on the deadline.
template <typename T, typename Op>
T Retry(const std::string& what, milliseconds timeout, Op op) {
  const auto deadline = SteadyClock::now() + timeout;
  std::string last;
  while (true) {
    CheckInterrupted();
    ClientResult<T> r = op();
    if (r.ok()) {
      return r.value();
    }
    last = r.error().message;
    if (SteadyClock::now() >= deadline) {
      throw std::runtime_error(what + " failed for " + std::to_string(timeout.count()) +
                               " ms: " + last);
    }
    testing::Hold(milliseconds(20));  // Between attempts only: the deadline decides.
  }
}

// One entity of the killed node, as last acknowledged before the kill.
struct Target {
  std::string id;
  std::string state;
  std::uint64_t version = 0;
};

// What the pollers saw of one target.
struct Outcome {
  std::optional<SteadyClock::duration> served;  // Since the kill.
  std::string owner;                            // The survivor that served it.
  std::string mismatch;                         // Non-empty: a lost or wrong write.
  int attempts = 0;
};

struct TrialResult {
  std::string victim;
  std::string killed_at;  // Wall clock, to find the trial in the logs.
  std::size_t entities = 0;
  double first_ms = 0;
  double median_ms = 0;
  double all_ms = 0;
  std::map<std::string, int> errors;  // Failed Gets by kind.
  std::map<std::string, int> served_by;
  std::vector<std::string> mismatches;
  // Since the kill: when the broker last heard each node's heartbeat (it is
  // sent in the same turn as the heartbeats to the voters, so the killed
  // node's session lapses at the voters about a lease after its value).
  std::map<std::string, double> last_heartbeat_ms;
  std::map<std::string, std::vector<double>> served_ms;  // By survivor, sorted.
};

class Bench {
 public:
  explicit Bench(Flags flags)
      : flags_(std::move(flags)),
        cluster_(testing::ClusterOptions{kVoters, flags_.lease_ms}),
        setup_timeout_(std::max(milliseconds(5000), 3 * cluster_.lease())) {}

  // Copies the logs when asked, whether the run succeeded or not.
  ~Bench() {
    if (flags_.keep_logs.empty()) {
      return;
    }
    std::error_code ec;
    std::filesystem::create_directories(flags_.keep_logs, ec);
    for (const std::string& name : {std::string("broker")}) {
      std::filesystem::copy_file(cluster_.path(name + ".log"),
                                 flags_.keep_logs + "/" + name + ".log",
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
    for (const std::string& id : kVoters) {
      std::filesystem::copy_file(cluster_.path(id + ".log"), flags_.keep_logs + "/" + id + ".log",
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
  }

  void Start() {
    cluster_.StartBroker();
    if (!cluster_.broker().running()) {
      throw std::runtime_error("the broker did not start:\n" + cluster_.broker().Log());
    }
    for (const std::string& id : kVoters) {
      StartNode(id);
    }
    Client client(ClientOptionsFor(setup_timeout_));
    for (int i = 0; i < flags_.entities; ++i) {
      CheckInterrupted();
      const std::string id = EntityId(i);
      (void)Retry<Entity>("create " + id, setup_timeout_, [&] { return client.Create(id); });
    }
    std::cerr << "cluster up: broker + " << kVoters.size() << " voting nodes, lease "
              << flags_.lease_ms << " ms, " << flags_.entities << " entities, logs in "
              << cluster_.path("") << "\n";
  }

  TrialResult RunTrial(int trial) {
    Client client(ClientOptionsFor(setup_timeout_));
    // 1. Who owns what.
    std::map<std::string, std::vector<std::string>> owned;
    for (int i = 0; i < flags_.entities; ++i) {
      const std::string id = EntityId(i);
      const Entity e =
          Retry<Entity>("where " + id, setup_timeout_, [&] { return client.Where(id); });
      owned[e.owner].push_back(id);
    }
    std::string victim;
    for (const auto& [node, ids] : owned) {
      if (victim.empty() || ids.size() > owned.at(victim).size()) {
        victim = node;
      }
    }
    // 2. A fresh acknowledged write on each of them, to check after the kill.
    const std::string state = std::string(kStates[static_cast<std::size_t>(trial) % 3]);
    std::vector<Target> targets;
    for (const std::string& id : owned[victim]) {
      const Entity e =
          Retry<Entity>("set " + id, setup_timeout_, [&] { return client.Set(id, state); });
      if (e.owner != victim) {
        throw std::runtime_error(id + " moved from " + victim + " to " + e.owner +
                                 " before the kill");
      }
      targets.push_back({id, e.state, e.version});
    }
    // 3. Kill and poll.
    TrialResult result;
    result.victim = victim;
    result.entities = targets.size();
    std::vector<Outcome> outcomes(targets.size());
    std::vector<std::map<std::string, int>> errors(static_cast<std::size_t>(flags_.threads));
    std::latch ready(flags_.threads + 1);
    std::latch go(1);
    SteadyClock::time_point killed{};
    const SteadyClock::duration limit = 10 * cluster_.lease() + milliseconds(10000);
    testing::Process& node = cluster_.node(victim);
    std::vector<std::thread> pollers;
    for (int t = 0; t < flags_.threads; ++t) {
      pollers.emplace_back([&, t] {
        Client poller(ClientOptionsFor(milliseconds(flags_.timeout_ms)));
        (void)poller.Nodes();  // Connected before the kill.
        ready.arrive_and_wait();
        go.wait();
        Poll(poller, targets, static_cast<std::size_t>(t), victim, killed, killed + limit, outcomes,
             errors[static_cast<std::size_t>(t)]);
      });
    }
    ready.arrive_and_wait();
    // The fault's instant, not a wait for an event: uniform over a heartbeat
    // interval, so the killed node's session lapses 0.75-1 lease later.
    std::uniform_int_distribution<int> phase(0, std::max(0, flags_.lease_ms / 4 - 1));
    testing::Hold(milliseconds(phase(rng_)));
    result.killed_at = WallNow();
    killed = SteadyClock::now();
    node.Signal(SIGKILL);
    const int status = node.Wait(milliseconds(5000));  // Reaped before polling starts.
    go.count_down();
    NoteHeartbeats(killed, result);
    for (std::thread& p : pollers) {
      p.join();
    }
    CheckInterrupted();
    if (status != 128 + SIGKILL) {
      throw std::runtime_error("node " + victim + " did not die of SIGKILL (status " +
                               std::to_string(status) + ")");
    }
    Summarise(targets, outcomes, errors, result);
    // 4. Back to three nodes, every voter past its quiet period.
    StartNode(victim);
    return result;
  }

 private:
  static constexpr std::array<std::string_view, 3> kStates = {"working", "finalized",
                                                              "initialized"};

  static std::string EntityId(int i) { return "fo-" + std::to_string(i); }

  ClientOptions ClientOptionsFor(milliseconds timeout) const {
    ClientOptions o;
    o.broker = cluster_.router();
    o.timeout = timeout;
    return o;
  }

  void StartNode(const std::string& id) {
    testing::Process& p = cluster_.StartNode(id);
    if (!p.running() || !cluster_.NodeAlive(id)) {
      throw std::runtime_error("node " + id + " did not come up:\n" + p.Log());
    }
    // A fresh voter answers no claim for lease + margin from its first input
    // (DESIGN §4 quiet period); the holders win it back by repair at their
    // next heartbeat tick (lease / 4) after that. Until then it grants names
    // their holders hold, so a kill in that window meets one denial instead
    // of two and skips the back-off: not the failover measured here. Nothing
    // outside shows when that ends, so this waits out its length.
    testing::Hold(cluster_.lease() + cluster_.lease() / 4 + milliseconds(50 + 200));
  }

  // Asks the broker how long ago it heard each node (heartbeat_age_ms).
  void NoteHeartbeats(SteadyClock::time_point killed, TrialResult& result) const {
    Client probe(ClientOptionsFor(milliseconds(1000)));
    const SteadyClock::time_point asked = SteadyClock::now();
    ClientResult<std::vector<NodeInfo>> nodes = probe.Nodes();
    const SteadyClock::time_point answered = SteadyClock::now();
    if (!nodes.ok()) {
      return;
    }
    const SteadyClock::time_point at = asked + (answered - asked) / 2;
    for (const NodeInfo& n : nodes.value()) {
      result.last_heartbeat_ms[n.id] =
          Millis(at - killed) - static_cast<double>(n.heartbeat_age_ms);
    }
  }

  // Polls the targets t, t + threads, ... until each is served or `deadline`.
  void Poll(Client& client, const std::vector<Target>& targets, std::size_t first,
            const std::string& victim, SteadyClock::time_point killed,
            SteadyClock::time_point deadline, std::vector<Outcome>& outcomes,
            std::map<std::string, int>& errors) const {
    const auto step = static_cast<std::size_t>(flags_.threads);
    const milliseconds interval(flags_.poll_ms);
    std::vector<std::size_t> pending;
    for (std::size_t i = first; i < targets.size(); i += step) {
      pending.push_back(i);
    }
    std::vector<SteadyClock::time_point> due(targets.size(), killed);
    while (!pending.empty() && !interrupted.load()) {
      SteadyClock::time_point next = SteadyClock::time_point::max();
      for (auto it = pending.begin(); it != pending.end();) {
        const std::size_t i = *it;
        const SteadyClock::time_point start = SteadyClock::now();
        if (start < due[i]) {
          next = std::min(next, due[i]);
          ++it;
          continue;
        }
        due[i] = start + interval;
        ++outcomes[i].attempts;
        ClientResult<Entity> r = client.Get(targets[i].id);
        const SteadyClock::time_point now = SteadyClock::now();
        if (!r.ok()) {
          ++errors[Classify(r.error())];
          next = std::min(next, due[i]);
          ++it;
          continue;
        }
        const Entity& e = r.value();
        Outcome& o = outcomes[i];
        o.served = now - killed;
        o.owner = e.owner;
        if (e.owner == victim || e.state != targets[i].state || e.version != targets[i].version) {
          o.mismatch = targets[i].id + ": acknowledged " + targets[i].state + " v" +
                       std::to_string(targets[i].version) + ", served " + e.state + " v" +
                       std::to_string(e.version) + " by " + e.owner;
        }
        it = pending.erase(it);
      }
      if (pending.empty() || SteadyClock::now() >= deadline) {
        return;
      }
      // The poll interval: sleeps only until the next entity is due again.
      std::this_thread::sleep_until(std::min(next, deadline));
    }
  }

  static void Summarise(const std::vector<Target>& targets, const std::vector<Outcome>& outcomes,
                        const std::vector<std::map<std::string, int>>& errors,
                        TrialResult& result) {
    std::vector<double> served;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const Outcome& o = outcomes[i];
      if (!o.served) {
        throw std::runtime_error("trial: " + targets[i].id + " was not served again after " +
                                 std::to_string(o.attempts) + " attempts");
      }
      served.push_back(Millis(*o.served));
      ++result.served_by[o.owner];
      result.served_ms[o.owner].push_back(served.back());
      if (!o.mismatch.empty()) {
        result.mismatches.push_back(o.mismatch);
      }
    }
    for (const auto& per_thread : errors) {
      for (const auto& [kind, n] : per_thread) {
        result.errors[kind] += n;
      }
    }
    for (auto& [node, times] : result.served_ms) {
      std::sort(times.begin(), times.end());
    }
    if (served.empty()) {
      return;
    }
    result.first_ms = *std::min_element(served.begin(), served.end());
    result.all_ms = *std::max_element(served.begin(), served.end());
    result.median_ms = Percentile(served, 0.5);
  }

  const Flags flags_;
  Cluster cluster_;
  const milliseconds setup_timeout_;
  std::mt19937_64 rng_{flags_.seed};
};

void PrintTrial(int trial, const TrialResult& r, const Flags& flags) {
  std::ostringstream line;
  line << "trial " << trial << ": killed " << r.victim << " at " << r.killed_at << " owning "
       << r.entities << "; first " << static_cast<long>(r.first_ms) << " ms, median "
       << static_cast<long>(r.median_ms) << " ms, all " << static_cast<long>(r.all_ms)
       << " ms; served by";
  for (const auto& [node, n] : r.served_by) {
    line << " " << node << ":" << n;
  }
  line << "; failed gets:";
  for (const auto& [kind, n] : r.errors) {
    line << " [" << kind << "] " << n;
  }
  std::cerr << line.str() << "\n";
  if (flags.verbose) {
    std::ostringstream more;
    more << "  last heartbeat at the broker (ms since the kill):";
    for (const auto& [node, ms] : r.last_heartbeat_ms) {
      more << " " << node << " " << static_cast<long>(ms);
    }
    more << "; heartbeats every " << flags.lease_ms / 4 << " ms\n";
    for (const auto& [node, times] : r.served_ms) {
      more << "  served by " << node << " (ms since the kill):";
      for (double t : times) {
        more << " " << static_cast<long>(t);
      }
      more << "\n";
    }
    std::cerr << more.str();
  }
  for (const std::string& m : r.mismatches) {
    std::cerr << "  LOST OR WRONG WRITE " << m << "\n";
  }
}

int Run(const Flags& flags) {
  std::vector<double> first;
  std::vector<double> all;
  std::size_t mismatches = 0;
  {
    Bench bench(flags);
    bench.Start();
    for (int t = 0; t < flags.trials; ++t) {
      const TrialResult r = bench.RunTrial(t);
      PrintTrial(t, r, flags);
      first.push_back(r.first_ms);
      all.push_back(r.all_ms);
      mismatches += r.mismatches.size();
    }
  }
  if (flags.json) {
    nlohmann::ordered_json out;
    out["lease_ms"] = flags.lease_ms;
    out["trials"] = flags.trials;
    out["first_p50_ms"] = Percentile(first, 0.5);
    out["first_p99_ms"] = Percentile(first, 0.99);
    out["all_p50_ms"] = Percentile(all, 0.5);
    out["all_p99_ms"] = Percentile(all, 0.99);
    out["all_max_ms"] = *std::max_element(all.begin(), all.end());
    std::cout << out.dump() << "\n";
  } else {
    std::printf(
        "failover after kill -9, lease %d ms, %d trials:\n"
        "  first entity served: p50 %.0f ms, p99 %.0f ms\n"
        "  all entities served: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
        flags.lease_ms, flags.trials, Percentile(first, 0.5), Percentile(first, 0.99),
        Percentile(all, 0.5), Percentile(all, 0.99), *std::max_element(all.begin(), all.end()));
  }
  if (mismatches > 0) {
    std::cerr << "failover_bench: " << mismatches << " acknowledged writes lost or wrong\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tenure::bench

int main(int argc, char** argv) {
  std::optional<tenure::bench::Flags> flags = tenure::bench::ParseFlags(argc, argv);
  if (!flags) {
    return 2;
  }
  std::signal(SIGINT, tenure::bench::OnSignal);
  std::signal(SIGTERM, tenure::bench::OnSignal);
  try {
    return tenure::bench::Run(*flags);
  } catch (const std::exception& e) {
    std::cerr << "failover_bench: " << e.what() << "\n";
    return 1;
  }
}
