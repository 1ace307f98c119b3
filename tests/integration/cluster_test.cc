// Three worker nodes, every one a voter, sharing one store: the two-server
// story and the fault promises of DESIGN §7, with the real binaries.
#include "integration/cluster.h"

#include <chrono>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include <signal.h>

namespace tenure::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kThree = {"foo", "bar", "baz"};

class ThreeNodes : public ::testing::Test {
 protected:
  ThreeNodes() : cluster_(ClusterOptions{kThree, 2000}) {}
  void SetUp() override {
    cluster_.StartBroker();
    for (const std::string& id : kThree) cluster_.StartNode(id);
  }

  // The owner `where` reports through `via`.
  std::string OwnerVia(const std::string& id, const std::string& via) {
    nlohmann::json w = cluster_.ClientJson({"where", id, "--via", via});
    return w.value("owner", std::string());
  }

  // Runs `args` until it exits 0 or `timeout` passes; returns how long it took.
  std::optional<milliseconds> UntilOk(std::vector<std::string> args, milliseconds timeout) {
    const auto start = Clock::now();
    args.insert(args.begin(), {"--timeout", "1000"});
    bool ok = WaitFor(
        [&] {
          std::vector<std::string> argv = {BinDir() + "/client", "--broker", cluster_.router()};
          argv.insert(argv.end(), args.begin(), args.end());
          return RunCommand(argv).exit == 0;
        },
        timeout);
    if (!ok) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  }

  Cluster cluster_;
};

TEST_F(ThreeNodes, TwoServerStoryOneWorkerEverywhereTheSameState) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1", "--via", "foo"}).exit, 0);
  CommandResult set = cluster_.Client({"set", "entity_1", "working", "--via", "foo"});
  ASSERT_EQ(set.exit, 0) << set.err;
  for (const std::string& via : kThree) {
    nlohmann::json e = cluster_.ClientJson({"get", "entity_1", "--via", via});
    EXPECT_EQ(e["state"], "working") << "through " << via;
    EXPECT_EQ(e["owner"], "foo") << "through " << via;
  }
  // Every node names the same owner, and exactly one node runs a worker.
  std::set<std::string> owners;
  for (const std::string& via : kThree) owners.insert(OwnerVia("entity_1", via));
  EXPECT_EQ(owners, std::set<std::string>{"foo"});
  const bool one_worker = WaitFor(
      [&] {
        nlohmann::json nodes = cluster_.ClientJson({"nodes"});
        std::map<std::string, int> workers;
        for (const auto& n : nodes["nodes"]) workers[n["id"]] = n["entities"];
        return workers["foo"] == 1 && workers["bar"] == 0 && workers["baz"] == 0;
      },
      milliseconds(5000));
  EXPECT_TRUE(one_worker) << cluster_.Client({"nodes"}).out;
  auto rows = Query(cluster_.db(), "SELECT state, owner_node FROM entities WHERE id='entity_1'");
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"working", "foo"}}));
}

TEST_F(ThreeNodes, KilledOwnerIsReplacedWithinLeasePlusOneSecond) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1", "--via", "foo"}).exit, 0);
  ASSERT_EQ(cluster_.Client({"set", "entity_1", "finalized", "--via", "foo"}).exit, 0);
  ASSERT_EQ(cluster_.Kill(cluster_.node("foo"), SIGKILL), 128 + SIGKILL);
  std::optional<milliseconds> took = UntilOk({"get", "entity_1"}, milliseconds(15000));
  ASSERT_TRUE(took.has_value());
  std::cout << "served again " << took->count() << " ms after kill -9 of the owner\n";
  EXPECT_LE(*took, cluster_.lease() + milliseconds(1000));
  nlohmann::json e = cluster_.ClientJson({"get", "entity_1"});
  EXPECT_EQ(e["state"], "finalized") << "the acknowledged write survives";
  EXPECT_NE(e["owner"], "foo");
  EXPECT_EQ(e["epoch"], 2);
}

TEST_F(ThreeNodes, StoppedOwnerHandsOverAtOnce) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1", "working", "--via", "foo"}).exit, 0);
  ASSERT_EQ(cluster_.Kill(cluster_.node("foo"), SIGTERM), 0) << cluster_.node("foo").Log();
  std::optional<milliseconds> took = UntilOk({"get", "entity_1"}, milliseconds(10000));
  ASSERT_TRUE(took.has_value());
  std::cout << "served again " << took->count() << " ms after SIGTERM of the owner\n";
  EXPECT_LT(*took, cluster_.lease()) << "released locks need no lease expiry";
  auto tenures = Query(cluster_.db(),
                       "SELECT node, reason FROM ownership WHERE id='entity_1' "
                       "ORDER BY epoch");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0], (std::vector<std::string>{"foo", "shutdown"}));
}

TEST_F(ThreeNodes, PausedOwnerNeverServesStaleStateAndStepsDown) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1", "initialized", "--via", "foo"}).exit, 0);
  Process& foo = cluster_.node("foo");
  foo.Signal(SIGSTOP);
  // Wait out two leases, then write through another node.
  std::optional<milliseconds> took =
      UntilOk({"set", "entity_1", "working", "--via", "bar"}, milliseconds(15000));
  ASSERT_TRUE(took.has_value());
  Hold(2 * cluster_.lease() - std::min(*took, 2 * cluster_.lease()));  // The pause lasts 2 leases.
  foo.Signal(SIGCONT);
  for (int i = 0; i < 10; ++i) {
    nlohmann::json e = cluster_.ClientJson({"get", "entity_1", "--via", "foo"});
    if (e.contains("state")) {
      EXPECT_EQ(e["state"], "working") << "a resumed owner must not answer from its old cache";
    } else {
      EXPECT_EQ(e["error"], "unavailable");
    }
  }
  EXPECT_TRUE(
      WaitFor([&] { return foo.Log().find("stepped down from 'entity_1'") != std::string::npos; },
              milliseconds(5000)))
      << foo.Log();
  EXPECT_EQ(cluster_.ClientJson({"get", "entity_1", "--via", "foo"})["state"], "working");
}

TEST_F(ThreeNodes, BrokerRestartLosesNoAcknowledgedWrite) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1", "working"}).exit, 0);
  ASSERT_EQ(cluster_.Client({"create", "entity_2", "finalized"}).exit, 0);
  ASSERT_EQ(cluster_.Kill(cluster_.broker(), SIGKILL), 128 + SIGKILL);
  cluster_.StartBroker();
  ASSERT_TRUE(UntilOk({"get", "entity_1"}, milliseconds(20000)).has_value());
  EXPECT_EQ(cluster_.ClientJson({"get", "entity_1"})["state"], "working");
  EXPECT_EQ(cluster_.ClientJson({"get", "entity_2"})["state"], "finalized");
  ASSERT_TRUE(UntilOk({"set", "entity_1", "finalized"}, milliseconds(10000)).has_value());
  EXPECT_EQ(cluster_.ClientJson({"get", "entity_1"})["state"], "finalized");
}

TEST_F(ThreeNodes, SecondProcessWithALiveIdIsRefused) {
  // Every voter knows bar's session first (at start-up, whichever process of
  // an id reaches a voter first is the one that voter keeps).
  for (const char* voter : {"foo", "baz"}) {
    ASSERT_TRUE(WaitFor(
        [&] { return cluster_.node(voter).Log().find("session of bar") != std::string::npos; },
        milliseconds(10000)));
  }
  std::vector<std::string> argv = {BinDir() + "/worker_node",
                                   "--id",
                                   "bar",
                                   "--broker",
                                   cluster_.router(),
                                   "--pub",
                                   cluster_.pub(),
                                   "--db",
                                   cluster_.db(),
                                   "--voters",
                                   "foo,bar,baz"};
  CommandResult twin = RunCommand(argv, "", milliseconds(20000));
  EXPECT_NE(twin.exit, 0);
  EXPECT_NE(twin.err.find("another live process"), std::string::npos) << twin.err;
  EXPECT_TRUE(cluster_.node("bar").running());
  CommandResult create = cluster_.Client({"create", "e", "working", "--via", "bar"});
  ASSERT_EQ(create.exit, 0) << create.err << cluster_.node("bar").Log();
}

TEST_F(ThreeNodes, RestartedVoterIsWonBackWithoutDoubleOwnership) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1", "working", "--via", "foo"}).exit, 0);
  ASSERT_EQ(cluster_.Kill(cluster_.node("baz"), SIGKILL), 128 + SIGKILL);
  cluster_.StartNode("baz");
  // After baz's quiet period foo wins it back by repair; then foo + baz are a
  // majority without bar.
  const bool repaired = WaitFor(
      [&] {
        return RunCommand({BinDir() + "/client", "--broker", cluster_.router(), "--timeout", "500",
                           "get", "entity_1", "--via", "foo"})
                       .exit == 0 &&
               cluster_.node("baz").Log().find("lost") == std::string::npos;
      },
      milliseconds(10000));
  ASSERT_TRUE(repaired);
  Hold(cluster_.lease() + milliseconds(500));  // Until baz's quiet period is over.
  ASSERT_EQ(cluster_.Kill(cluster_.node("bar"), SIGKILL), 128 + SIGKILL);
  std::optional<milliseconds> took =
      UntilOk({"get", "entity_1", "--via", "foo"}, milliseconds(10000));
  ASSERT_TRUE(took.has_value());
  nlohmann::json e = cluster_.ClientJson({"get", "entity_1", "--via", "foo"});
  EXPECT_EQ(e["owner"], "foo");
  EXPECT_EQ(e["epoch"], 1) << "foo never lost it: no second tenure";
}

TEST(MinorityPartition, MinorityStopsServingAndTheMajorityTakesOver) {
  Cluster cluster(ClusterOptions{kThree, 2000});
  const std::string faults = cluster.path("faults");
  std::ofstream(faults) << "";
  cluster.StartBroker({"--fault-file", faults});
  for (const std::string& id : kThree) cluster.StartNode(id);
  ASSERT_EQ(cluster.Client({"create", "entity_1", "initialized", "--via", "foo"}).exit, 0);

  std::ofstream(faults) << "isolate foo\n";  // foo alone: a minority of one.
  ASSERT_TRUE(
      WaitFor([&] { return cluster.broker().Log().find("isolated [foo]") != std::string::npos; },
              milliseconds(5000)));
  // Writes through bar are forwarded to foo while foo's grants last; then the
  // majority takes over. Write until a node of the majority answers as owner.
  std::uint64_t version = 0;
  const bool taken = WaitFor(
      [&] {
        CommandResult r = RunCommand({BinDir() + "/client", "--broker", cluster.router(), "--json",
                                      "--timeout", "1000", "set", "entity_1",
                                      version % 2 == 0 ? "working" : "finalized", "--via", "bar"});
        nlohmann::json e = nlohmann::json::parse(r.out, nullptr, false);
        if (r.exit != 0 || !e.is_object()) return false;
        version = e["version"].get<std::uint64_t>();
        return e["owner"] != "foo";
      },
      milliseconds(15000));
  ASSERT_TRUE(taken) << cluster.node("bar").Log();
  // From then on foo never answers with an older version.
  for (int i = 0; i < 5; ++i) {
    CommandResult r = RunCommand({BinDir() + "/client", "--broker", cluster.router(), "--json",
                                  "--timeout", "1000", "get", "entity_1", "--via", "foo"});
    nlohmann::json e = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(e.is_object()) << r.out << r.err;
    if (r.exit == 0) {
      EXPECT_GE(e["version"].get<std::uint64_t>(), version) << r.out;
    } else {
      EXPECT_EQ(e["error"], "unavailable") << r.out;
    }
  }
  std::ofstream(faults) << "";  // Heal: foo rejoins and reads the new state.
  const bool healed = WaitFor(
      [&] {
        CommandResult r = RunCommand({BinDir() + "/client", "--broker", cluster.router(), "--json",
                                      "--timeout", "1000", "get", "entity_1", "--via", "foo"});
        nlohmann::json e = nlohmann::json::parse(r.out, nullptr, false);
        return r.exit == 0 && e.is_object() && e["version"].get<std::uint64_t>() == version;
      },
      milliseconds(15000));
  EXPECT_TRUE(healed);
}

TEST(EarlyStart, NodeWithoutQuorumServesNothingUntilOneArrives) {
  Cluster cluster(ClusterOptions{kThree, 2000});
  cluster.StartBroker();
  for (const std::string& id : kThree) cluster.StartNode(id);
  ASSERT_EQ(cluster.Client({"create", "entity_1"}).exit, 0);
  for (const std::string& id : kThree) ASSERT_EQ(cluster.Kill(cluster.node(id), SIGTERM), 0);

  cluster.StartNode("foo");
  const std::string before = Dump(cluster.db());
  CommandResult early = RunCommand({BinDir() + "/client", "--broker", cluster.router(), "--timeout",
                                    "6000", "set", "entity_1", "working"});
  EXPECT_EQ(early.exit, 5) << early.out << early.err;
  EXPECT_NE(early.err.find("unavailable"), std::string::npos) << early.err;
  EXPECT_EQ(Dump(cluster.db()), before) << "no private worker, no write";

  cluster.StartNode("bar");
  CommandResult later = cluster.Client({"set", "entity_1", "working"});
  EXPECT_EQ(later.exit, 0) << later.err;
  EXPECT_EQ(cluster.ClientJson({"get", "entity_1"})["state"], "working");
}

TEST(Witness, TwoVotersAndTheBrokerSurviveOneNode) {
  Cluster cluster(ClusterOptions{{"foo", "bar"}, 2000});
  cluster.StartBroker();
  cluster.StartNode("foo");
  cluster.StartNode("bar");
  EXPECT_NE(cluster.broker().Log().find("witness voter"), std::string::npos);
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(cluster.Client({"create", "e" + std::to_string(i), "working", "--via", "foo"}).exit,
              0);
  }
  ASSERT_EQ(cluster.Kill(cluster.node("foo"), SIGKILL), 128 + SIGKILL);
  for (int i = 0; i < 6; ++i) {
    const std::string id = "e" + std::to_string(i);
    const bool served = WaitFor(
        [&] {
          CommandResult r = RunCommand({BinDir() + "/client", "--broker", cluster.router(),
                                        "--json", "--timeout", "1000", "get", id});
          return r.exit == 0 && r.out.find("\"owner\":\"bar\"") != std::string::npos;
        },
        milliseconds(10000));
    EXPECT_TRUE(served) << id;
  }
}

}  // namespace
}  // namespace tenure::testing
