// Nodes started together on a database file that does not exist yet, as a
// supervisor (systemd, a container runtime) starts them: every one must come
// up and serve, whichever of them creates and migrates the file.
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/cluster.h"
#include "integration/process.h"
#include <signal.h>

namespace tenure::testing {
namespace {

constexpr int kRounds = 20;
constexpr int kNodes = 5;
// Short, so that a freshly started voter's quiet period (lease + 50 ms) does
// not dominate each round.
constexpr int kLeaseMs = 500;

// True when the broker lists every one of `ids` alive.
bool AllAlive(const Cluster& cluster, const std::vector<std::string>& ids) {
  CommandResult r = RunCommand(
      {BinDir() + "/client", "--broker", cluster.router(), "--timeout", "500", "--json", "nodes"});
  if (r.exit != 0) {
    return false;
  }
  nlohmann::json parsed = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("nodes")) {
    return false;
  }
  std::set<std::string> alive;
  for (const auto& n : parsed["nodes"]) {
    if (n.value("alive", false)) {
      alive.insert(n.value("id", ""));
    }
  }
  for (const std::string& id : ids) {
    if (alive.count(id) == 0) {
      return false;
    }
  }
  return true;
}

TEST(ConcurrentStart, NodesStartedTogetherOnANewDatabaseAllServe) {
  // Every node votes for itself alone: each is a cluster of one, so that a
  // request through it depends on nothing but its own start.
  Cluster cluster(ClusterOptions{.voters = {}, .lease_ms = kLeaseMs});
  cluster.StartBroker();
  ASSERT_TRUE(cluster.broker().running());

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string db = cluster.path("round" + std::to_string(round) + ".db");
    ASSERT_FALSE(std::filesystem::exists(db));

    // All started before any is waited for: their opens of the new file overlap.
    std::vector<std::string> ids;
    std::vector<std::unique_ptr<Process>> nodes;
    for (int i = 0; i < kNodes; ++i) {
      const std::string id = "r" + std::to_string(round) + "n" + std::to_string(i);
      ids.push_back(id);
      nodes.push_back(std::make_unique<Process>(
          std::vector<std::string>{BinDir() + "/worker_node", "--id", id, "--broker",
                                   cluster.router(), "--pub", cluster.pub(), "--db", db, "--lease",
                                   std::to_string(kLeaseMs), "--log-level", "info"},
          cluster.path(id + ".log")));
    }

    // A node that failed to open the database exits: stop waiting at once.
    const auto any_exited = [&] {
      for (const std::unique_ptr<Process>& node : nodes) {
        if (!node->running()) {
          return true;
        }
      }
      return false;
    };
    const bool up =
        WaitFor([&] { return any_exited() || AllAlive(cluster, ids); }, milliseconds(15000));
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      ASSERT_TRUE(nodes[i]->running()) << ids[i] << " exited:\n" << nodes[i]->Log();
    }
    ASSERT_TRUE(up) << "not every node of the round registered with the broker";

    // A real request through each node: it claims a new entity and writes it
    // to the shared database. The clients run side by side.
    std::vector<std::unique_ptr<Process>> clients;
    for (const std::string& id : ids) {
      clients.push_back(std::make_unique<Process>(
          std::vector<std::string>{BinDir() + "/client", "--broker", cluster.router(), "--timeout",
                                   "10000", "--json", "--via", id, "create", "e-" + id},
          cluster.path(id + ".client.log")));
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const int exit = clients[i]->Wait(milliseconds(15000));
      const std::string out = clients[i]->Log();
      ASSERT_EQ(exit, 0) << "create via " << ids[i] << ": " << out << "\nnode log:\n"
                         << nodes[i]->Log();
      nlohmann::json reply = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(reply.is_object()) << out;
      EXPECT_EQ(reply["id"], "e-" + ids[i]);
      EXPECT_EQ(reply["owner"], ids[i]);
    }
    // Every migration recorded exactly once (versions 1..max, no repeat),
    // and the schema holds every node's write.
    EXPECT_EQ(Query(db,
                    "SELECT count(*) = max(version) AND count(DISTINCT version) = count(*) "
                    "FROM schema_version"),
              (std::vector<std::vector<std::string>>{{"1"}}));
    EXPECT_EQ(Query(db, "SELECT count(*) FROM entities"),
              (std::vector<std::vector<std::string>>{{std::to_string(kNodes)}}));

    for (std::unique_ptr<Process>& node : nodes) {
      EXPECT_NE(cluster.Kill(*node, SIGKILL), -1);
    }
  }
}

}  // namespace
}  // namespace tenure::testing
