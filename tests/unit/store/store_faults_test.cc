// Batch faults from outside the batch: a full disk, a read-only file, a file
// deleted, moved or replaced under the store. Each fails the whole batch with
// kUnavailable and changes nothing; the store works again once the cause is
// gone, reconnecting (a new generation) when the file it had is not the one
// at the path any more.
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tenure/base/status.h"
#include "tenure/store/db_file.h"
#include "tenure/store/store.h"

#include "unit/store/store_test_util.h"
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tenure::store {
namespace {

using namespace tenure::literals;

namespace fs = std::filesystem;
using testing::ApplyOne;
using testing::MustOpen;
using testing::RawQuery;
using testing::TempDir;
using testing::WriteBytes;

// Lowers this process's soft RLIMIT_FSIZE while it lives. SIGXFSZ is ignored,
// as the node does, so that a write beyond the limit fails with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    EXPECT_EQ(getrlimit(RLIMIT_FSIZE, &saved_), 0);
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit saved_{};
  void (*previous_handler_)(int) = nullptr;
};

// A store on a file in its own directory, holding e1 (working, v1, epoch 1).
class StoreFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MustOpen(path_);
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(ApplyOne(*store_, ActivateOp{.id = "e1", .node = "n1"}).status.ok());
    StoreResult created =
        ApplyOne(*store_, CreateOp{.id = "e1", .node = "n1", .epoch = 0_epoch, .state = "working"});
    ASSERT_TRUE(created.status.ok()) << created.status.ToString();
    ASSERT_EQ(created.epoch, 1_epoch);
  }

  StoreResult Write(std::uint64_t version, const std::string& state, Epoch epoch = 1_epoch) {
    return ApplyOne(
        *store_,
        WriteOp{.id = "e1", .epoch = epoch, .expected_version = Version{version}, .state = state});
  }
  std::vector<std::string> Rows() {
    return RawQuery(path_, "SELECT id, state, version FROM entities");
  }
  // Every result of a batch failed with kUnavailable naming `why`.
  static void ExpectBatchFault(const std::vector<StoreResult>& results, const std::string& why) {
    for (const StoreResult& result : results) {
      EXPECT_EQ(result.status.code(), ErrorCode::kUnavailable) << result.status.ToString();
      EXPECT_NE(result.status.message().find(why), std::string::npos) << result.status.message();
      EXPECT_FALSE(result.row.has_value());
    }
  }
  std::vector<StoreResult> MixedBatch() {
    std::vector<StoreOp> ops;
    ops.push_back(
        WriteOp{.id = "e1", .epoch = 1_epoch, .expected_version = 1_version, .state = "finalized"});
    ops.push_back(ActivateOp{.id = "e2", .node = "n1"});
    ops.push_back(CreateOp{.id = "e2", .node = "n1", .epoch = 0_epoch, .state = "working"});
    return store_->Apply(ops);
  }

  TempDir dir_;
  const std::string path_ = dir_.File("t.db");
  std::unique_ptr<Store> store_;
};

TEST_F(StoreFaults, FullDiskFailsTheWholeBatchAndTheNextOneCommits) {
  const std::vector<std::string> before = Rows();
  {
    // The WAL may not grow: the commit finds no room.
    FileSizeLimit limit(fs::file_size(WalPath(path_)));
    ExpectBatchFault(MixedBatch(), "disk full");
    ExpectBatchFault(MixedBatch(), "File too large");
    EXPECT_NE(store_->fault().message().find("disk full"), std::string::npos);
  }
  EXPECT_EQ(Rows(), before);
  EXPECT_EQ(store_->generation(), StoreGeneration(1)) << "a full disk needs no reconnection";
  EXPECT_TRUE(store_->Recover().ok());
  for (const StoreResult& result : MixedBatch()) {
    EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  }
  EXPECT_TRUE(store_->fault().ok());
  EXPECT_EQ(Rows(), (std::vector<std::string>{"e1|finalized|2", "e2|working|1"}));
}

TEST_F(StoreFaults, ReadOnlyFileFailsWritesButNotReads) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "root writes through file permissions";
  }
  const std::vector<std::string> before = Rows();
  ASSERT_EQ(chmod(path_.c_str(), 0444), 0);
  ExpectBatchFault(MixedBatch(), "is read-only");
  EXPECT_TRUE(ApplyOne(*store_, ListOp{}).status.ok()) << "reads need no write access";
  EXPECT_EQ(Rows(), before);
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  EXPECT_TRUE(Write(1, "finalized").status.ok());
  EXPECT_EQ(store_->generation(), StoreGeneration(1));
}

TEST_F(StoreFaults, DeletedFileFailsEveryBatchAndIsNeverRecreated) {
  ASSERT_TRUE(fs::remove(path_));
  Status recovered = store_->Recover();  // Found between batches.
  EXPECT_EQ(recovered.code(), ErrorCode::kUnavailable);
  EXPECT_NE(recovered.message().find("was deleted or replaced"), std::string::npos);
  EXPECT_EQ(store_->fault(), recovered);
  ExpectBatchFault(MixedBatch(), "was deleted or replaced");
  EXPECT_FALSE(store_->Recover().ok());
  std::vector<StoreOp> list = {ListOp{}};
  ExpectBatchFault(store_->Apply(list), "was deleted or replaced");
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_EQ(store_->generation(), StoreGeneration(1));
}

TEST_F(StoreFaults, RestoredOlderCopyIsANewGenerationAndFencesOldWrites) {
  const std::string backup = dir_.File("backup.db");
  RawQuery(path_, "VACUUM INTO '" + backup + "'");
  ASSERT_TRUE(Write(1, "finalized").status.ok());  // Lost with the file.
  ASSERT_TRUE(fs::remove(path_));
  ExpectBatchFault(MixedBatch(), "was deleted or replaced");
  const std::optional<FileId> stale_wal = IdOf(WalPath(path_));
  ASSERT_TRUE(stale_wal.has_value()) << "the deleted file's WAL stays until the store reconnects";

  fs::copy_file(backup, path_);
  ASSERT_TRUE(store_->Recover().ok()) << store_->fault().ToString();
  EXPECT_EQ(store_->generation(), StoreGeneration(2));
  EXPECT_NE(IdOf(WalPath(path_)), stale_wal) << "the deleted file's WAL was paired with the copy";
  // A write prepared from the lost file (e1 at v2) does not pass the fence.
  StoreResult stale = Write(2, "initialized");
  EXPECT_TRUE(stale.fenced);
  StoreResult activated = ApplyOne(*store_, ActivateOp{.id = "e1", .node = "n1"});
  ASSERT_TRUE(activated.status.ok()) << activated.status.ToString();
  EXPECT_EQ(activated.epoch, 2_epoch);
  EXPECT_EQ(activated.row->state, "working");
  EXPECT_TRUE(Write(1, "initialized", activated.epoch).status.ok());
  EXPECT_EQ(Rows(), std::vector<std::string>{"e1|initialized|2"});
  EXPECT_EQ(RawQuery(path_, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST_F(StoreFaults, FileMovedAwayAndBackIsTheSameDatabase) {
  const std::string aside = dir_.File("aside.db");
  fs::rename(path_, aside);
  ExpectBatchFault(MixedBatch(), "was deleted or replaced");
  EXPECT_FALSE(store_->Recover().ok());
  fs::rename(aside, path_);
  ASSERT_TRUE(store_->Recover().ok()) << store_->fault().ToString();
  EXPECT_EQ(store_->generation(), StoreGeneration(2)) << "callers drop their caches all the same";
  EXPECT_TRUE(Write(1, "finalized").status.ok());
  EXPECT_EQ(Rows(), std::vector<std::string>{"e1|finalized|2"});
}

TEST_F(StoreFaults, EmptyOrForeignFileIsNotAdopted) {
  ASSERT_TRUE(fs::remove(path_));
  ExpectBatchFault(MixedBatch(), "was deleted or replaced");
  const std::optional<FileId> stale_wal = IdOf(WalPath(path_));

  WriteBytes(path_, "");  // touch
  Status recovered = store_->Recover();
  EXPECT_EQ(recovered.code(), ErrorCode::kUnavailable);
  EXPECT_NE(recovered.message().find("not a whole tenure database"), std::string::npos)
      << recovered.message();
  EXPECT_EQ(fs::file_size(path_), 0u);
  EXPECT_EQ(IdOf(WalPath(path_)), stale_wal) << "refused before anything was touched";

  // A copy still in progress: the header says more pages than there are.
  const std::string backup = dir_.File("backup.db");
  { std::unique_ptr<Store> other = MustOpen(dir_.File("other.db")); }
  RawQuery(dir_.File("other.db"), "VACUUM INTO '" + backup + "'");
  const std::string whole = testing::ReadBytes(backup);
  ASSERT_GT(whole.size(), 4096u);
  WriteBytes(path_, whole.substr(0, whole.size() - 4096));
  recovered = store_->Recover();
  EXPECT_NE(recovered.message().find("partly copied"), std::string::npos) << recovered.message();
  EXPECT_EQ(testing::ReadBytes(path_), whole.substr(0, whole.size() - 4096)) << "written to";

  // A SQLite database, but an empty one: adopting it would start afresh.
  ASSERT_TRUE(fs::remove(path_));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("blank.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  fs::copy_file(dir_.File("blank.db"), path_);
  recovered = store_->Recover();
  EXPECT_NE(recovered.message().find("holds no tenure database"), std::string::npos)
      << recovered.message();
  EXPECT_EQ(store_->generation(), StoreGeneration(1));
  ExpectBatchFault(MixedBatch(), "holds no tenure database");
}

TEST_F(StoreFaults, OpenRefusesAWalWhoseDatabaseIsGone) {
  ASSERT_TRUE(fs::remove(path_));  // The open store keeps -wal and -shm.
  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path_});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
  EXPECT_NE(opened.status().message().find(WalPath(path_) + "' does"), std::string::npos)
      << opened.status().message();
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(StoreFaults, ClosingLeavesAWalThatIsNotTheStoresOwn) {
  // The WAL at the path was replaced while the store ran. A last connection
  // deletes the -wal by name as it closes; this one is someone else's.
  ASSERT_TRUE(fs::remove(WalPath(path_)));
  WriteBytes(WalPath(path_), "not this store's");
  ExpectBatchFault(MixedBatch(), "was deleted or replaced");
  Status recovered = store_->Recover();
  EXPECT_NE(recovered.message().find("restart the nodes"), std::string::npos)
      << recovered.message();
  store_.reset();
  EXPECT_EQ(testing::ReadBytes(WalPath(path_)), "not this store's");
}

}  // namespace
}  // namespace tenure::store
