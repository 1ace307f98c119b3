// A node that disagrees with the cluster about its voters or its lease, with
// the real binaries: the broker refuses it (no route, none of its lock
// traffic reaches a voter), it logs both settings and exits non-zero, and it
// never owns anything (PROTOCOL §10.2). Without the check, a node started with
// --voters foo beside the cluster foo,bar,baz owned an entity that bar owned
// too: foo alone was a majority of its one voter.
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cluster.h"

namespace tenure::testing {
namespace {

const std::vector<std::string> kThree = {"foo", "bar", "baz"};
const std::string kClusterSettings = "voters=bar,baz,foo lease=2000ms margin=50ms drift=0.01";

class Misconfigured : public ::testing::Test {
 protected:
  Misconfigured() : cluster_(ClusterOptions{kThree, 2000}) {}
  void SetUp() override {
    cluster_.StartBroker();
    for (const std::string& id : kThree) cluster_.StartNode(id);
  }

  // Starts node `id` on the cluster's broker and database with `flags`
  // (--voters, --lease) instead of the cluster's; does not wait for it.
  Process& StartWith(const std::string& id, std::vector<std::string> flags) {
    std::vector<std::string> argv = {BinDir() + "/worker_node",
                                     "--id",
                                     id,
                                     "--broker",
                                     cluster_.router(),
                                     "--pub",
                                     cluster_.pub(),
                                     "--db",
                                     cluster_.db(),
                                     "--log-level",
                                     "debug"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    others_.push_back(std::make_unique<Process>(argv, cluster_.path(id + ".log")));
    return *others_.back();
  }

  // The number of lines of `log` that contain every one of `parts`.
  static int LinesWith(const std::string& log, const std::vector<std::string>& parts) {
    std::istringstream in(log);
    int count = 0;
    for (std::string line; std::getline(in, line);) {
      bool all = true;
      for (const std::string& part : parts) all = all && line.find(part) != std::string::npos;
      count += all ? 1 : 0;
    }
    return count;
  }

  // The misconfigured node `id` (settings `theirs`) is refused: the broker
  // logs it once, routes nothing to it, and it exits non-zero naming both
  // settings within `exit_within`.
  void ExpectRefusedAndGone(const std::string& id, Process& p, const std::string& theirs,
                            milliseconds exit_within) {
    const std::string refused = "refused node " + id + " ";
    ASSERT_TRUE(WaitFor([&] { return cluster_.broker().Log().find(refused) != std::string::npos; },
                        milliseconds(10000)))
        << cluster_.broker().Log();
    ASSERT_TRUE(p.running()) << p.Log();  // Still waiting out its refusals.
    CommandResult create = cluster_.Client({"create", "e2", "working", "--via", id});
    EXPECT_EQ(create.exit, 5) << create.out << create.err;  // unavailable.
    EXPECT_NE(create.err.find("not alive"), std::string::npos) << create.err;
    EXPECT_FALSE(cluster_.NodeAlive(id));

    const int status = p.Wait(exit_within);
    EXPECT_NE(status, -1) << "still running after " << exit_within.count() << " ms\n" << p.Log();
    EXPECT_NE(status, 0) << p.Log();
    EXPECT_EQ(LinesWith(p.Log(), {"error", theirs, kClusterSettings}), 1) << p.Log();
    EXPECT_EQ(LinesWith(p.Log(), {"warn", theirs, kClusterSettings}), 1) << p.Log();
    EXPECT_EQ(LinesWith(cluster_.broker().Log(), {refused, theirs, kClusterSettings}), 1)
        << "once per incarnation, not per heartbeat\n"
        << cluster_.broker().Log();
    EXPECT_FALSE(cluster_.NodeAlive(id));
  }

  // e2 is served through bar, and nobody but the cluster's nodes ever owned it.
  void ExpectServedByTheClusterOnly(const std::string& misconfigured) {
    CommandResult create = cluster_.Client({"create", "e2", "working", "--via", "bar"});
    ASSERT_EQ(create.exit, 0) << create.err;
    CommandResult set = cluster_.Client({"set", "e2", "finalized", "--via", "bar"});
    ASSERT_EQ(set.exit, 0) << set.err;
    nlohmann::json got = cluster_.ClientJson({"get", "e2", "--via", "bar"});
    EXPECT_EQ(got["state"], "finalized");
    EXPECT_EQ(got["owner"], "bar");
    EXPECT_EQ(Query(cluster_.db(), "SELECT DISTINCT node FROM ownership WHERE id = 'e2'"),
              (std::vector<std::vector<std::string>>{{"bar"}}));
    EXPECT_EQ(
        Query(cluster_.db(), "SELECT count(*) FROM ownership WHERE node = '" + misconfigured + "'"),
        (std::vector<std::vector<std::string>>{{"0"}}));
  }

  Cluster cluster_;
  std::vector<std::unique_ptr<Process>> others_;
};

TEST_F(Misconfigured, NodeWithASubsetOfTheVotersIsRefusedAndExits) {
  Process& rogue = StartWith("rogue", {"--voters", "foo", "--lease", "2000"});
  // It waits out two leases (4 s) of refusals before it gives up.
  ExpectRefusedAndGone("rogue", rogue, "voters=foo lease=2000ms margin=50ms drift=0.01",
                       milliseconds(15000));
  ExpectServedByTheClusterOnly("rogue");
}

TEST_F(Misconfigured, NodeWithAnotherLeaseIsRefusedAndExits) {
  Process& slow = StartWith("slow", {"--voters", "foo,bar,baz", "--lease", "3000"});
  ExpectRefusedAndGone("slow", slow, "voters=bar,baz,foo lease=3000ms margin=50ms drift=0.01",
                       milliseconds(20000));  // Its own wait: 2 × 3 s.
  ExpectServedByTheClusterOnly("slow");
}

// Voter lists are compared as sets: the order they are given in is no
// disagreement.
TEST_F(Misconfigured, NodeListingTheVotersInAnotherOrderIsAccepted) {
  Process& qux = StartWith("qux", {"--voters", "baz,foo,bar", "--lease", "2s"});
  ASSERT_TRUE(WaitFor([&] { return cluster_.NodeAlive("qux"); }, milliseconds(10000))) << qux.Log();
  CommandResult create = cluster_.Client({"create", "e3", "working", "--via", "qux"});
  ASSERT_EQ(create.exit, 0) << create.err << qux.Log();
  EXPECT_EQ(cluster_.ClientJson({"get", "e3", "--via", "foo"})["owner"], "qux");
  EXPECT_TRUE(qux.running());
  EXPECT_EQ(cluster_.broker().Log().find("refused node"), std::string::npos);
}

}  // namespace
}  // namespace tenure::testing
