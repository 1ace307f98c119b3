// Starting a cluster's broker and nodes with SpawnOptions (another user, an
// extra environment), which Cluster::StartBroker and StartNode do not take.
// The processes use the cluster's endpoints, database and log paths, so the
// cluster's Client(), NodeAlive() and db() work with them as usual.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include "integration/process.h"

namespace tenure::testing {

inline std::vector<std::string> FlagsOf(const Cluster& cluster) {
  return {"--log-level", "debug", "--lease", std::to_string(cluster.options().lease_ms)};
}

// Starts the broker and waits for its ready line.
inline std::unique_ptr<Process> StartBrokerWith(const Cluster& cluster,
                                                const SpawnOptions& options) {
  std::vector<std::string> argv = {BinDir() + "/broker", "--router", cluster.router(), "--pub",
                                   cluster.pub()};
  for (const std::string& flag : FlagsOf(cluster)) {
    argv.push_back(flag);
  }
  auto broker = std::make_unique<Process>(argv, cluster.path("broker.log"), options);
  const bool ready = WaitFor(
      [&] { return broker->Log().find("broker ready") != std::string::npos || !broker->running(); },
      milliseconds(10000));
  EXPECT_TRUE(ready && broker->running()) << broker->Log();
  return broker;
}

// Starts node `id` on the cluster's database and waits until the broker lists it.
inline std::unique_ptr<Process> StartNodeWith(const Cluster& cluster, const std::string& id,
                                              const SpawnOptions& options) {
  std::vector<std::string> argv = {BinDir() + "/worker_node",
                                   "--id",
                                   id,
                                   "--broker",
                                   cluster.router(),
                                   "--pub",
                                   cluster.pub(),
                                   "--db",
                                   cluster.db()};
  for (const std::string& flag : FlagsOf(cluster)) {
    argv.push_back(flag);
  }
  auto node = std::make_unique<Process>(argv, cluster.path(id + ".log"), options);
  const bool up =
      WaitFor([&] { return !node->running() || cluster.NodeAlive(id); }, milliseconds(10000));
  EXPECT_TRUE(up && node->running()) << node->Log();
  return node;
}

}  // namespace tenure::testing
