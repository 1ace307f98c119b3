// The migration runner and the migrations embedded from sql/.
#include "tenure/store/migrations.h"

#include <filesystem>
#include <latch>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tenure/base/status.h"
#include "tenure/store/sqlite_store.h"
#include "tenure/store/store.h"

#include "unit/store/store_test_util.h"

namespace tenure::store {
namespace {

using namespace tenure::literals;

using testing::ApplyOne;
using testing::MustOpen;
using testing::RawQuery;
using testing::ReadBytes;
using testing::TempDir;

SqliteConnection MustConnect(const std::string& path) {
  Result<SqliteConnection> db =
      SqliteConnection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

int Version(SqliteConnection& db) {
  Result<int> version = ReadSchemaVersion(db);
  EXPECT_TRUE(version.ok()) << version.status().ToString();
  return version.ok() ? *version : -1;
}

bool HasTable(SqliteConnection& db, const std::string& name) {
  Result<SqliteStatement> statement =
      db.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
  EXPECT_TRUE(statement.ok());
  EXPECT_TRUE(statement->BindText(1, name).ok());
  Result<bool> has_row = statement->Step();
  EXPECT_TRUE(has_row.ok() && *has_row);
  return statement->ColumnInt64(0) == 1;
}

int Newest() { return EmbeddedMigrations().back().version; }

// Rewrites schema_version of the database at `path` to claim `version`.
void ClaimVersion(const std::string& path, int version) {
  RawQuery(path, "INSERT INTO schema_version (version) VALUES (" + std::to_string(version) + ")");
}

TEST(Migrations, EmbeddedAreNumberedFromOneWithoutGap) {
  std::span<const Migration> migrations = EmbeddedMigrations();
  ASSERT_FALSE(migrations.empty());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
  }
  EXPECT_EQ(migrations[0].name, "001_init");
  EXPECT_NE(migrations[0].sql.find("CREATE TABLE entities"), std::string_view::npos);
  EXPECT_NE(migrations[0].sql.find("CREATE TABLE ownership"), std::string_view::npos);
}

TEST(Migrations, FreshMemoryDatabaseGetsEveryMigration) {
  SqliteConnection db = MustConnect(":memory:");
  EXPECT_EQ(Version(db), 0);
  Status status = ApplyMigrations(db, EmbeddedMigrations());
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(Version(db), Newest());
  EXPECT_TRUE(HasTable(db, "entities"));
  EXPECT_TRUE(HasTable(db, "ownership"));
  EXPECT_TRUE(HasTable(db, "schema_version"));
  EXPECT_TRUE(db.autocommit());
}

TEST(Migrations, FreshFileDatabaseIsMigratedOnOpen) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  MustOpen(path);
  std::vector<std::string> expected;
  for (const Migration& migration : EmbeddedMigrations()) {
    expected.push_back(std::to_string(migration.version));
  }
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version ORDER BY version"), expected);
}

TEST(Migrations, ReopenIsIdempotentAndKeepsData) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  {
    std::unique_ptr<Store> store = MustOpen(path);
    ASSERT_TRUE(
        ApplyOne(*store, CreateOp{.id = "e1", .node = "n1", .epoch = 0_epoch, .state = "working"})
            .status.ok());
  }
  const std::vector<std::string> versions = RawQuery(path, "SELECT * FROM schema_version");
  for (int i = 0; i < 2; ++i) {
    std::unique_ptr<Store> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(ApplyOne(*store, HistoryOp{.id = "e1"}).tenures.size(), 1u);
    StoreResult listed = ApplyOne(*store, ListOp{});
    ASSERT_EQ(listed.rows.size(), 1u);
    EXPECT_EQ(listed.rows[0].id, "e1");
    EXPECT_EQ(listed.rows[0].state, "working");
  }
  EXPECT_EQ(RawQuery(path, "SELECT * FROM schema_version"), versions);
}

TEST(Migrations, AppliesOnlyTheMissingOnes) {
  const Migration first{1, "001_a", "CREATE TABLE a (x INTEGER);"};
  const Migration second{2, "002_b", "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (2);"};
  const std::vector<Migration> v1 = {first};
  const std::vector<Migration> v2 = {first, second};
  SqliteConnection db = MustConnect(":memory:");
  ASSERT_TRUE(ApplyMigrations(db, v1).ok());
  EXPECT_EQ(Version(db), 1);
  // Applying the same list again is a no-op (CREATE TABLE a would fail if not).
  Status status = ApplyMigrations(db, v1);
  ASSERT_TRUE(status.ok()) << status.ToString();
  status = ApplyMigrations(db, v2);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(Version(db), 2);
  EXPECT_TRUE(HasTable(db, "b"));
}

TEST(Migrations, FailedMigrationIsRolledBackWhole) {
  const Migration good{1, "001_good", "CREATE TABLE a (x INTEGER);"};
  const Migration bad{2, "002_bad", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);"};
  const std::vector<Migration> migrations = {good, bad};
  SqliteConnection db = MustConnect(":memory:");
  Status status = ApplyMigrations(db, migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kStorageError);
  EXPECT_NE(status.message().find("002_bad"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("nowhere"), std::string::npos) << status.message();
  EXPECT_EQ(Version(db), 1);
  EXPECT_TRUE(HasTable(db, "a"));
  EXPECT_FALSE(HasTable(db, "b"));
  EXPECT_TRUE(db.autocommit());
}

TEST(Migrations, NewerSchemaIsRefusedAndTheFileIsUntouched) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  MustOpen(path);
  const int newer = Newest() + 41;
  ClaimVersion(path, newer);
  const std::string bytes = ReadBytes(path);

  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
  const std::string message = opened.status().message();
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("schema version " + std::to_string(newer)), std::string::npos) << message;
  EXPECT_NE(message.find("up to " + std::to_string(Newest())), std::string::npos) << message;
  EXPECT_EQ(ReadBytes(path), bytes);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(Migrations, NewerSchemaInRollbackJournalModeStaysInThatMode) {
  // A file that never was in WAL mode: refusing it must not switch it.
  TempDir dir;
  const std::string path = dir.File("t.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  const std::string sql =
      "CREATE TABLE schema_version (version INTEGER NOT NULL);"
      " INSERT INTO schema_version VALUES (" +
      std::to_string(Newest() + 1) + ");";
  ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  const std::string bytes = ReadBytes(path);

  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(ReadBytes(path), bytes);
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), std::vector<std::string>{"delete"});
}

TEST(Migrations, NewerSchemaIsRefusedByTheRunner) {
  SqliteConnection db = MustConnect(":memory:");
  ASSERT_TRUE(db.Exec("CREATE TABLE schema_version (version INTEGER NOT NULL);"
                      "INSERT INTO schema_version VALUES (1), (2), (3);")
                  .ok());
  const std::vector<Migration> migrations = {{1, "001_a", "CREATE TABLE a (x INTEGER);"}};
  Status status = ApplyMigrations(db, migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("schema version 3"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("up to 1 (001_a)"), std::string::npos) << status.message();
  EXPECT_FALSE(HasTable(db, "a"));
}

// A SQLite database of another application: tables, no tenure schema.
void MakeForeignDatabase(const std::string& path) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
}

TEST(Migrations, ForeignDatabaseIsRefusedAndUntouched) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  ASSERT_NO_FATAL_FAILURE(MakeForeignDatabase(path));
  const std::string bytes = ReadBytes(path);

  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("not a tenure one"), std::string::npos)
      << opened.status().message();
  EXPECT_EQ(ReadBytes(path), bytes);
}

// What one opener got: a store, or the status that says why not.
struct Opened {
  Status status;
  std::unique_ptr<Store> store;
};

// Opens `path` through OpenSqliteStore from `count` threads released at once
// by a latch, so that their opens overlap as a supervisor's starts do.
std::vector<Opened> OpenAtOnce(const std::string& path, int count, int busy_timeout_ms = 5000) {
  std::vector<Opened> opened(static_cast<std::size_t>(count));
  std::latch start(count);
  std::vector<std::thread> threads;
  for (Opened& slot : opened) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      Result<std::unique_ptr<Store>> store =
          OpenSqliteStore(SqliteOptions{.path = path, .busy_timeout_ms = busy_timeout_ms});
      if (store.ok()) {
        slot.store = std::move(store).value();
      } else {
        slot.status = store.status();
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  return opened;
}

TEST(Migrations, ManyOpenersOfOneNewFileAllGetTheWholeSchema) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::vector<std::string> expected;
  for (const Migration& migration : EmbeddedMigrations()) {
    expected.push_back(std::to_string(migration.version));
  }
  TempDir dir;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = dir.File("t" + std::to_string(round) + ".db");
    std::vector<Opened> opened = OpenAtOnce(path, kThreads);
    for (int i = 0; i < kThreads; ++i) {
      const Opened& one = opened[static_cast<std::size_t>(i)];
      ASSERT_NE(one.store, nullptr)
          << "round " << round << ", opener " << i << ": " << one.status.ToString();
      // Each store writes through its own connection: the schema it checked is
      // the one it uses.
      const EntityId id("e" + std::to_string(i));
      StoreResult created = ApplyOne(
          *one.store, CreateOp{.id = id, .node = "n1", .epoch = 0_epoch, .state = "working"});
      EXPECT_TRUE(created.status.ok()) << "round " << round << ": " << created.status.ToString();
    }
    // Exactly one row per migration: no opener applied one twice.
    EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version ORDER BY version"), expected)
        << "round " << round;
    EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM entities"),
              std::vector<std::string>{std::to_string(kThreads)})
        << "round " << round;
  }
}

TEST(Migrations, ManyOpenersOfAForeignDatabaseAreAllRefusedAndChangeNothing) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  ASSERT_NO_FATAL_FAILURE(MakeForeignDatabase(path));
  const std::string bytes = ReadBytes(path);

  for (const Opened& one : OpenAtOnce(path, 8)) {
    EXPECT_EQ(one.store, nullptr);
    EXPECT_NE(one.status.message().find("not a tenure one"), std::string::npos)
        << one.status.ToString();
  }
  EXPECT_EQ(ReadBytes(path), bytes);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(Migrations, WaitForAnotherMigratorIsBoundedAndSaysWhy) {
  // A new database in WAL mode, write-locked by a migrator that never ends.
  TempDir dir;
  const std::string path = dir.File("t.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw, "PRAGMA journal_mode = WAL; BEGIN IMMEDIATE;", nullptr, nullptr, nullptr),
      SQLITE_OK);

  Result<std::unique_ptr<Store>> opened =
      OpenSqliteStore(SqliteOptions{.path = path, .busy_timeout_ms = 50});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
  EXPECT_NE(opened.status().message().find("another process"), std::string::npos)
      << opened.status().message();
  EXPECT_NE(opened.status().message().find("50 ms"), std::string::npos)
      << opened.status().message();

  // Once the lock is released, the same file opens and is migrated.
  ASSERT_EQ(sqlite3_exec(raw, "ROLLBACK;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_NE(MustOpen(path), nullptr);
}

}  // namespace
}  // namespace tenure::store
