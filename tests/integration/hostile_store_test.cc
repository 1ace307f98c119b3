// A hostile environment around the database file: full, made read-only,
// deleted. Each fault gets clear `unavailable` replies, reads of cached
// entities go on, nothing half-written shows in the file, and writes succeed
// again once the cause is gone, without a restart.
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include "integration/hostile_start.h"
#include <sys/stat.h>
#include <unistd.h>

namespace tenure::testing {
namespace {

namespace fs = std::filesystem;

// A write refused for `why`: exit 5 (retry), error `unavailable`, the reason named.
void ExpectUnavailable(const CommandResult& r, const std::string& why) {
  EXPECT_EQ(r.exit, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("unavailable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
}

bool LogHas(const Process& p, const std::string& text) {
  return p.Log().find(text) != std::string::npos;
}

class HostileStore : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartBroker();
    cluster_.StartNode("foo");
    ASSERT_EQ(cluster_.Client({"create", "e1", "working"}).exit, 0);
    ASSERT_EQ(cluster_.Client({"create", "e2", "working"}).exit, 0);
  }
  Process& node() { return cluster_.node("foo"); }

  Cluster cluster_;
};

TEST_F(HostileStore, FullDiskFailsWritesUntilThereIsRoomAgain) {
  const std::string db = cluster_.db();
  const std::string before = Dump(db);
  // The WAL cannot grow past its size now: the next commit has no room. (The
  // node's log may be past the limit too; its lines are lost meanwhile.)
  const std::uint64_t wal_bytes = fs::file_size(db + "-wal");
  ASSERT_TRUE(SetFileSizeLimit(node().pid(), wal_bytes));

  ExpectUnavailable(cluster_.Client({"set", "e1", "finalized"}), "disk full");
  ExpectUnavailable(cluster_.Client({"create", "e3"}), "disk full");
  CommandResult cached = cluster_.Client({"get", "e1"});
  EXPECT_EQ(cached.exit, 0) << cached.err;
  EXPECT_NE(cached.out.find("working  v1"), std::string::npos) << cached.out;
  EXPECT_TRUE(node().running()) << "SIGXFSZ must not kill the node";
  EXPECT_EQ(Dump(db), before) << "a failed commit left something behind";

  ASSERT_TRUE(SetFileSizeLimit(node().pid(), std::nullopt));
  CommandResult set = cluster_.Client({"set", "e1", "finalized"});
  ASSERT_EQ(set.exit, 0) << set.err;
  EXPECT_NE(set.out.find("finalized  v2"), std::string::npos) << set.out;
  ASSERT_EQ(cluster_.Client({"create", "e3"}).exit, 0);
  EXPECT_EQ(Query(db, "SELECT state, version FROM entities WHERE id = 'e1'")[0],
            (std::vector<std::string>{"finalized", "2"}));
  EXPECT_TRUE(
      WaitFor([&] { return LogHas(node(), "store: writes succeed again"); }, milliseconds(5000)))
      << node().Log();
}

TEST_F(HostileStore, DeletedDatabaseIsNeverRecreatedAndARestoredOneIsServed) {
  const std::string db = cluster_.db();
  const std::string backup = cluster_.path("backup.db");
  CommandResult copied = RunCommand({"/usr/bin/sqlite3", db, ".backup '" + backup + "'"});
  ASSERT_EQ(copied.exit, 0) << copied.err;
  ASSERT_EQ(cluster_.Client({"set", "e1", "finalized"}).exit, 0);  // Lost with the file below.

  ASSERT_TRUE(fs::remove(db));
  ExpectUnavailable(cluster_.Client({"set", "e1", "initialized"}), "deleted or replaced");
  ExpectUnavailable(cluster_.Client({"create", "e3"}), "deleted or replaced");
  ExpectUnavailable(cluster_.Client({"set", "e2", "finalized"}), "deleted or replaced");
  CommandResult cached = cluster_.Client({"get", "e2"});
  EXPECT_EQ(cached.exit, 0) << cached.err;
  EXPECT_FALSE(fs::exists(db)) << "the node created a database in place of the deleted one";
  EXPECT_TRUE(node().running());

  // The operator restores the backup. The -wal and -shm of the deleted file
  // are still there; the node must not pair them with the restored one. It
  // notices with nobody writing, and drops what it cached from the lost file.
  // Copied in beside, then renamed into place: the node never sees half a file.
  fs::copy_file(backup, db + ".restoring");
  fs::rename(db + ".restoring", db);
  ASSERT_TRUE(
      WaitFor([&] { return LogHas(node(), "store: reopened the database"); }, milliseconds(5000)))
      << node().Log();
  nlohmann::json e1 = cluster_.ClientJson({"get", "e1"});
  EXPECT_EQ(e1["state"], "working") << "served from a cache of the deleted file";
  EXPECT_EQ(e1["version"], 1);
  EXPECT_GT(e1["epoch"].get<int>(), 1) << "no new tenure in the restored file";
  // The backup had e1 working at v1: the write applies to the restored row.
  CommandResult set = cluster_.Client({"set", "e1", "initialized"});
  ASSERT_EQ(set.exit, 0) << set.err << node().Log();
  EXPECT_NE(set.out.find("initialized  v2"), std::string::npos) << set.out;
  nlohmann::json e2 = cluster_.ClientJson({"get", "e2"});
  EXPECT_EQ(e2["state"], "working");
  EXPECT_GT(e2["epoch"].get<int>(), 1);
  EXPECT_EQ(
      Query(db, "SELECT id, state, version FROM entities ORDER BY id"),
      (std::vector<std::vector<std::string>>{{"e1", "initialized", "2"}, {"e2", "working", "1"}}));
  EXPECT_EQ(Query(db, "PRAGMA integrity_check")[0][0], "ok");
}

// Root writes through file permissions, so as root the node runs as nobody.
class HostileReadOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() == 0) {
      const uid_t nobody = 65534;
      ASSERT_EQ(chown(cluster_.path("").c_str(), nobody, nobody), 0);
      options_.uid = nobody;
      options_.gid = nobody;
    }
    broker_ = StartBrokerWith(cluster_, options_);
    node_ = StartNodeWith(cluster_, "foo", options_);
    ASSERT_EQ(cluster_.Client({"create", "e1", "working"}).exit, 0);
  }

  Cluster cluster_;
  SpawnOptions options_;
  std::unique_ptr<Process> broker_;
  std::unique_ptr<Process> node_;
};

TEST_F(HostileReadOnly, ReadOnlyDatabaseFailsWritesUntilWritableAgain) {
  const std::string db = cluster_.db();
  const std::string before = Dump(db);
  ASSERT_EQ(chmod(db.c_str(), 0444), 0);

  ExpectUnavailable(cluster_.Client({"set", "e1", "finalized"}), "read-only");
  ExpectUnavailable(cluster_.Client({"create", "e2"}), "read-only");
  CommandResult cached = cluster_.Client({"get", "e1"});
  EXPECT_EQ(cached.exit, 0) << cached.err;
  EXPECT_EQ(cluster_.Client({"list"}).exit, 0) << "reads need no write access";
  EXPECT_EQ(Dump(db), before);
  EXPECT_TRUE(WaitFor([&] { return LogHas(*node_, "is read-only"); }, milliseconds(5000)))
      << node_->Log();

  ASSERT_EQ(chmod(db.c_str(), 0644), 0);
  CommandResult set = cluster_.Client({"set", "e1", "finalized"});
  ASSERT_EQ(set.exit, 0) << set.err;
  ASSERT_EQ(cluster_.Client({"create", "e2"}).exit, 0);
  EXPECT_EQ(Query(db, "SELECT id, state, version FROM entities ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"e1", "finalized", "2"},
                                                   {"e2", "initialized", "1"}}));
  EXPECT_TRUE(node_->running());
}

}  // namespace
}  // namespace tenure::testing
