// The client's where, history and watch commands against one broker and one
// worker_node, through the real client binary.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include <signal.h>

namespace tenure::testing {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// The JSON objects of a `watch --json` log, one per line; lines that are not
// JSON (none are expected) fail the test.
std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (const std::string& line : Lines(text)) {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_object()) << "not a JSON object: " << line;
    if (parsed.is_object()) {
      out.push_back(std::move(parsed));
    }
  }
  return out;
}

class ClientCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartBroker();
    cluster_.StartNode("foo");
  }

  // Starts `client watch` with `args` after the global options.
  Process StartWatch(const std::string& log_name, std::vector<std::string> args) {
    std::vector<std::string> argv = {BinDir() + "/client", "--pub", cluster_.pub()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process(argv, cluster_.path(log_name));
  }

  // Sets `id` to the next of two states on each call, so every call commits a
  // change; returns the new version, or 0 if the set failed.
  std::uint64_t Flip(const std::string& id) {
    const char* state = (flips_++ % 2 == 0) ? "working" : "initialized";
    nlohmann::json e = cluster_.ClientJson({"set", id, state});
    EXPECT_EQ(e["_exit"], 0) << e.dump();
    return e.value("version", std::uint64_t{0});
  }

  Cluster cluster_;
  int flips_ = 0;
};

TEST_F(ClientCommands, WhereShowsTheOwnerAndTheEpoch) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1"}).exit, 0);
  CommandResult where = cluster_.Client({"where", "entity_1"});
  ASSERT_EQ(where.exit, 0) << where.err;
  EXPECT_EQ(where.out, "entity_1  owner=foo  epoch=1\n");

  nlohmann::json e = cluster_.ClientJson({"--via", "foo", "where", "entity_1"});
  EXPECT_EQ(e["_exit"], 0);
  EXPECT_EQ(e["id"], "entity_1");
  EXPECT_EQ(e["state"], "initialized");
  EXPECT_EQ(e["owner"], "foo");
  EXPECT_EQ(e["epoch"], 1);

  nlohmann::json missing = cluster_.ClientJson({"where", "nope"});
  EXPECT_EQ(missing["_exit"], 3);
  EXPECT_EQ(missing["error"], "not_found");
}

TEST_F(ClientCommands, HistoryListsOneTenurePerActivation) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1"}).exit, 0);
  cluster_.node("foo").Signal(SIGTERM);
  ASSERT_EQ(cluster_.node("foo").Wait(milliseconds(10000)), 0) << cluster_.node("foo").Log();
  cluster_.StartNode("foo");
  ASSERT_EQ(cluster_.ClientJson({"get", "entity_1"})["epoch"], 2);

  nlohmann::json h = cluster_.ClientJson({"--via", "foo", "history", "entity_1"});
  EXPECT_EQ(h["_exit"], 0);
  EXPECT_EQ(h["id"], "entity_1");
  ASSERT_EQ(h["tenures"].size(), 2u) << h.dump();
  const nlohmann::json& first = h["tenures"][0];
  EXPECT_EQ(first["node"], "foo");
  EXPECT_EQ(first["epoch"], 1);
  EXPECT_TRUE(first["acquired_at"].is_string());
  EXPECT_TRUE(first["released_at"].is_string());
  EXPECT_EQ(first["reason"], "shutdown");
  const nlohmann::json& second = h["tenures"][1];
  EXPECT_EQ(second["node"], "foo");
  EXPECT_EQ(second["epoch"], 2);
  EXPECT_TRUE(second["released_at"].is_null()) << "the current tenure is open";

  CommandResult text = cluster_.Client({"history", "entity_1"});
  ASSERT_EQ(text.exit, 0) << text.err;
  std::vector<std::string> lines = Lines(text.out);
  ASSERT_EQ(lines.size(), 2u) << text.out;
  EXPECT_EQ(lines[0], "epoch 1  foo  " + first["acquired_at"].get<std::string>() + " -> " +
                          first["released_at"].get<std::string>() + "  shutdown");
  EXPECT_EQ(lines[1], "epoch 2  foo  " + second["acquired_at"].get<std::string>() + " -> now");
}

TEST_F(ClientCommands, HistoryOfAnUnknownIdIsNotFound) {
  CommandResult r = cluster_.Client({"history", "never_created"});
  EXPECT_EQ(r.exit, 3);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  nlohmann::json j = cluster_.ClientJson({"history", "never_created"});
  EXPECT_EQ(j["_exit"], 3);
  EXPECT_EQ(j["error"], "not_found");
}

TEST_F(ClientCommands, ShellTakesWhereAndHistoryButNotWatch) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1"}).exit, 0);
  CommandResult r =
      cluster_.Client({"shell"}, "where entity_1\nhistory entity_1\nwatch entity_1\n");
  std::vector<nlohmann::json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out << r.err;
  EXPECT_EQ(lines[0]["owner"], "foo");
  EXPECT_EQ(lines[0]["exit"], 0);
  EXPECT_EQ(lines[1]["tenures"].size(), 1u);
  EXPECT_EQ(lines[1]["exit"], 0);
  EXPECT_EQ(lines[2]["error"], "bad_request");
  EXPECT_EQ(r.exit, 2);
}

TEST_F(ClientCommands, WatchPrintsChangesOfTheWatchedEntityOnly) {
  ASSERT_EQ(cluster_.Client({"create", "entity_1"}).exit, 0);
  ASSERT_EQ(cluster_.Client({"create", "entity_10"}).exit, 0);
  Process watcher = StartWatch("watch.log", {"--json", "watch", "entity_1"});

  // The subscription reaches the broker at some point after the start; until
  // then news is lost. Keep changing both entities until the watcher prints
  // a change of entity_1: from then on it is subscribed.
  std::uint64_t version = 0;
  const bool subscribed = WaitFor(
      [&] {
        Flip("entity_10");
        version = Flip("entity_1");
        return !watcher.running() || watcher.Log().find("changed") != std::string::npos;
      },
      milliseconds(15000));
  ASSERT_TRUE(subscribed && watcher.running()) << watcher.Log();

  // News goes out in order: once the change of entity_1 made after this one
  // of entity_10 is printed, the watcher has seen all it will of entity_10.
  Flip("entity_10");
  version = Flip("entity_1");
  ASSERT_NE(version, 0u);
  const auto printed = [&] {
    for (const nlohmann::json& e : JsonLines(watcher.Log())) {
      if (e.value("version", std::uint64_t{0}) == version) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(printed, milliseconds(10000))) << watcher.Log();

  watcher.Signal(SIGINT);
  EXPECT_EQ(watcher.Wait(milliseconds(5000)), 0) << watcher.Log();

  std::vector<nlohmann::json> events = JsonLines(watcher.Log());
  ASSERT_FALSE(events.empty());
  for (const nlohmann::json& e : events) {
    EXPECT_EQ(e["id"], "entity_1") << e.dump();
  }
  const nlohmann::json& e = events.back();
  EXPECT_EQ(e["event"], "changed");
  EXPECT_EQ(e["version"], version);
  EXPECT_EQ(e["epoch"], 1);
  EXPECT_EQ(e["node"], "foo");
  EXPECT_TRUE(e["state"].is_string());
  EXPECT_FALSE(e.contains("reason")) << "empty fields are left out";
}

TEST_F(ClientCommands, WatchWithoutIdsPrintsEveryEntityInWords) {
  ASSERT_EQ(cluster_.Client({"create", "entity_2"}).exit, 0);
  Process watcher = StartWatch("watch_all.log", {"watch"});
  const bool seen = WaitFor(
      [&] {
        Flip("entity_2");
        return !watcher.running() || watcher.Log().find("changed entity_2 ") != std::string::npos;
      },
      milliseconds(15000));
  ASSERT_TRUE(seen && watcher.running()) << watcher.Log();
  const std::uint64_t version = Flip("entity_2");
  const std::string state = (flips_ % 2 == 1) ? "working" : "initialized";  // Flip's choice.
  const std::string line =
      "changed entity_2 " + state + " v" + std::to_string(version) + " epoch 1 on foo\n";
  EXPECT_TRUE(
      WaitFor([&] { return watcher.Log().find(line) != std::string::npos; }, milliseconds(10000)))
      << "want: " << line << "log:\n"
      << watcher.Log();
  watcher.Signal(SIGTERM);
  EXPECT_EQ(watcher.Wait(milliseconds(5000)), 0) << watcher.Log();
}

TEST(ClientCommandsNoCluster, WatchRefusesABadId) {
  TempDir dir;
  CommandResult r = RunCommand({BinDir() + "/client", "--pub", "ipc://" + dir.path() + "/pub",
                                "--json", "watch", "bad\x01id"});
  EXPECT_EQ(r.exit, 2);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(j.value("error", ""), "bad_request") << r.out << r.err;
}

}  // namespace
}  // namespace tenure::testing
