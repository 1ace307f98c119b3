// One broker, one worker_node, the real client binary.
#include <gtest/gtest.h>

#include "integration/cluster.h"
#include <signal.h>

namespace tenure::testing {
namespace {

class SingleNode : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartBroker();
    cluster_.StartNode("foo");
  }
  Cluster cluster_;
};

TEST_F(SingleNode, CreateSetGetRoundTrip) {
  CommandResult created = cluster_.Client({"create", "entity_1"});
  ASSERT_EQ(created.exit, 0) << created.err;
  EXPECT_EQ(created.out, "entity_1  initialized  v1  owner=foo  epoch=1\n");
  ASSERT_EQ(cluster_.Client({"set", "entity_1", "working"}).exit, 0);
  CommandResult got = cluster_.Client({"get", "entity_1"});
  ASSERT_EQ(got.exit, 0) << got.err;
  EXPECT_EQ(got.out, "entity_1  working  v2  owner=foo  epoch=1\n");
  auto rows = Query(cluster_.db("foo"), "SELECT id, state, version, owner_node FROM entities");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"entity_1", "working", "2", "foo"}));
}

TEST_F(SingleNode, JsonRepliesHaveTheDocumentedShape) {
  nlohmann::json e = cluster_.ClientJson({"create", "entity_2", "working"});
  EXPECT_EQ(e["_exit"], 0);
  EXPECT_EQ(e["id"], "entity_2");
  EXPECT_EQ(e["state"], "working");
  EXPECT_EQ(e["version"], 1);
  EXPECT_EQ(e["owner"], "foo");
  EXPECT_EQ(e["epoch"], 1);
  nlohmann::json conflict =
      cluster_.ClientJson({"set", "entity_2", "finalized", "--expect", "initialized"});
  EXPECT_EQ(conflict["_exit"], 4);
  EXPECT_EQ(conflict["error"], "conflict");
  EXPECT_EQ(conflict["state"], "working");
  EXPECT_TRUE(conflict["message"].is_string());
  nlohmann::json missing = cluster_.ClientJson({"get", "nope"});
  EXPECT_EQ(missing["_exit"], 3);
  EXPECT_EQ(missing["error"], "not_found");
}

TEST_F(SingleNode, GlobalOptionsGoBeforeOrAfterTheCommand) {
  ASSERT_EQ(cluster_.Client({"create", "e"}).exit, 0);
  CommandResult after = RunCommand({BinDir() + "/client", "get", "e", "--json", "--broker",
                                    cluster_.router(), "--timeout", "3000"});
  EXPECT_EQ(after.exit, 0) << after.err;
  EXPECT_EQ(nlohmann::json::parse(after.out)["state"], "initialized");
  CommandResult before =
      RunCommand({BinDir() + "/client", "--json", "--broker", cluster_.router(), "get", "e"});
  EXPECT_EQ(before.exit, 0) << before.err;
  EXPECT_EQ(before.out, after.out);
}

TEST_F(SingleNode, CompareAndSetByVersion) {
  ASSERT_EQ(cluster_.Client({"create", "e", "working"}).exit, 0);
  CommandResult stale = cluster_.Client({"set", "e", "finalized", "--if-version", "5"});
  EXPECT_EQ(stale.exit, 4);
  EXPECT_NE(stale.err.find("conflict"), std::string::npos);
  EXPECT_EQ(cluster_.Client({"set", "e", "finalized", "--if-version", "1"}).exit, 0);
  CommandResult dup = cluster_.Client({"create", "e"});
  EXPECT_EQ(dup.exit, 4);
}

TEST_F(SingleNode, ListShowsEntitiesInIdOrder) {
  for (const char* id : {"c", "a", "b"}) {
    ASSERT_EQ(cluster_.Client({"create", id}).exit, 0);
  }
  nlohmann::json page = cluster_.ClientJson({"list", "--limit", "2"});
  ASSERT_EQ(page["entities"].size(), 2u);
  EXPECT_EQ(page["entities"][0]["id"], "a");
  EXPECT_EQ(page["entities"][1]["id"], "b");
  CommandResult text = cluster_.Client({"list"});
  EXPECT_EQ(text.exit, 0);
  EXPECT_NE(text.out.find("c  initialized  v1"), std::string::npos) << text.out;
}

TEST_F(SingleNode, ShellPrintsOneJsonLinePerCommandWithItsExitCode) {
  CommandResult r = cluster_.Client(
      {"shell"}, "create s1\nset s1 working\nget s1\nget missing\nset s1 bogus\nfrobnicate\n\n");
  ASSERT_EQ(r.exit, 2) << "the last command's exit code";
  std::vector<nlohmann::json> lines;
  std::stringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0]["exit"], 0);
  EXPECT_EQ(lines[1]["state"], "working");
  EXPECT_EQ(lines[2]["version"], 2);
  EXPECT_EQ(lines[3]["exit"], 3);
  EXPECT_EQ(lines[4]["error"], "invalid_state");
  EXPECT_EQ(lines[4]["exit"], 2);
  EXPECT_EQ(lines[5]["error"], "bad_request");
}

TEST_F(SingleNode, RestartedNodeKeepsTheStateAndBumpsTheEpoch) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1"}).exit, 0);
  ASSERT_EQ(cluster_.Client({"set", "entity_1", "working"}).exit, 0);
  cluster_.node("foo").Signal(SIGTERM);
  ASSERT_EQ(cluster_.node("foo").Wait(milliseconds(10000)), 0) << cluster_.node("foo").Log();
  auto tenure = Query(cluster_.db("foo"), "SELECT reason FROM ownership WHERE id='entity_1'");
  ASSERT_EQ(tenure.size(), 1u);
  EXPECT_EQ(tenure[0][0], "shutdown");

  cluster_.StartNode("foo");
  nlohmann::json e = cluster_.ClientJson({"get", "entity_1"});
  EXPECT_EQ(e["state"], "working");
  EXPECT_EQ(e["version"], 2);
  EXPECT_EQ(e["epoch"], 2);
}

TEST_F(SingleNode, IdleWorkersArePassivated) {
  cluster_.node("foo").Signal(SIGTERM);
  ASSERT_EQ(cluster_.node("foo").Wait(milliseconds(10000)), 0);
  cluster_.StartNode("foo", {"--idle", "300ms"});
  ASSERT_EQ(cluster_.Client({"create", "e"}).exit, 0);
  const bool closed = WaitFor(
      [&] {
        auto rows = Query(cluster_.db("foo"),
                          "SELECT reason FROM ownership WHERE id='e' AND released_at IS NOT NULL");
        return !rows.empty() && rows[0][0] == "passivated";
      },
      milliseconds(10000));
  EXPECT_TRUE(closed) << Dump(cluster_.db("foo"));
  EXPECT_EQ(cluster_.ClientJson({"get", "e"})["epoch"], 2) << "activated again after passivation";
}

TEST(NoCluster, ClientWithoutABrokerIsUnavailable) {
  TempDir dir;
  CommandResult r =
      RunCommand({BinDir() + "/client", "--broker", "ipc://" + dir.path() + "/nothing", "--timeout",
                  "300", "get", "e"});
  EXPECT_EQ(r.exit, 5);
  EXPECT_NE(r.err.find("unavailable"), std::string::npos) << r.err;
  CommandResult write =
      RunCommand({BinDir() + "/client", "--broker", "ipc://" + dir.path() + "/nothing", "--timeout",
                  "300", "--json", "set", "e", "working"});
  EXPECT_EQ(write.exit, 5);
  EXPECT_EQ(nlohmann::json::parse(write.out)["error"], "unavailable");
}

TEST(NoCluster, BrokerWithoutNodesAnswersUnavailable) {
  Cluster cluster;
  cluster.StartBroker();
  CommandResult r = cluster.Client({"get", "e"});
  EXPECT_EQ(r.exit, 5);
  EXPECT_NE(r.err.find("no live worker_node"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tenure::testing
