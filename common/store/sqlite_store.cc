// SqliteStore: the connection's life (open, file checks, reconnection) and
// the batches. The SQL of each op is in sqlite_store_ops.cc.
#include "tenure/store/sqlite_store.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <sqlite3.h>

#include "tenure/base/check.h"
#include "tenure/base/status.h"
#include "tenure/store/db_file.h"
#include "tenure/store/migrations.h"
#include "tenure/store/store.h"

#include "sqlite_fault.h"
#include "sqlite_store_impl.h"

namespace tenure::store {
namespace internal {
namespace {

// Refuses paths SQLite would reject with a vaguer message, before touching
// anything, so that nothing is created next to a wrong path.
Status CheckPath(const std::string& path) {
  if (path.empty()) {
    return Status::StorageError("no database path given");
  }
  if (path == ":memory:") {
    return Status::Ok();
  }
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path file(path);
  if (fs::is_directory(file, error)) {
    return Status::StorageError("cannot open database '" + path + "': it is a directory");
  }
  const fs::path parent = file.parent_path();
  if (parent.empty()) {
    return Status::Ok();  // Relative to the working directory, which exists.
  }
  const fs::file_status parent_status = fs::status(parent, error);
  if (!fs::exists(parent_status)) {
    return Status::StorageError("cannot open database '" + path + "': directory '" +
                                parent.string() + "' does not exist");
  }
  if (!fs::is_directory(parent_status)) {
    return Status::StorageError("cannot open database '" + path + "': '" + parent.string() +
                                "' is not a directory");
  }
  return Status::Ok();
}

// Refuses to create a database beside a -wal or -shm whose database is gone:
// SQLite would pair them with the new, empty file and replay another
// database's pages into it.
Status CheckNoOrphans(const std::string& path) {
  if (path == ":memory:") {
    return Status::Ok();
  }
  for (const std::string& orphan : {WalPath(path), ShmPath(path)}) {
    // The database is looked for after its -wal or -shm: another process
    // creating it at this moment makes the database first, so a database
    // missing after its -wal was seen is really gone, not yet to come.
    if (IdOf(orphan).has_value() && !IdOf(path).has_value()) {
      return Status::StorageError("database '" + path + "' does not exist but '" + orphan +
                                  "' does (its database was deleted without it); put the "
                                  "database back, or remove '" +
                                  WalPath(path) + "' and '" + ShmPath(path) +
                                  "' to start an empty one");
    }
  }
  return Status::Ok();
}

// Asks for WAL mode and returns the journal mode the database is in after.
// Several processes opening one new file switch it at once, and SQLite does
// not wait for the others there: the switch reads the header, then upgrades
// to a write, and a connection that already reads must not wait for the write
// lock (that could deadlock), so it fails at once with SQLITE_BUSY. Then the
// other switch is under way: BEGIN IMMEDIATE waits for it, bounded by the
// busy_timeout, and asking again finds WAL mode, or this one switches.
Result<std::string> SwitchToWal(SqliteConnection& db) {
  // After the wait the other switch has ended: done, and the next attempt
  // finds WAL mode; or failed, and this one may switch. Only switches that
  // fail make a third attempt needed.
  constexpr int kAttemptsMax = 5;
  Status status;
  for (int attempt = 0; attempt < kAttemptsMax; ++attempt) {
    {
      Result<SqliteStatement> wal = db.Prepare("PRAGMA journal_mode = WAL");
      if (!wal.ok()) {
        return wal.status();
      }
      Result<bool> has_row = wal->Step();
      if (has_row.ok()) {
        return *has_row ? wal->ColumnText(0) : std::string();
      }
      status = has_row.status();
      if ((sqlite3_errcode(db.get()) & 0xff) != SQLITE_BUSY) {
        return status;
      }
    }  // The statement ends here: BEGIN IMMEDIATE must not find it reading.
    if (Status begin = db.BeginImmediate(); !begin.ok()) {
      return begin;
    }
    if (Status rollback = db.Exec("ROLLBACK"); !rollback.ok()) {
      return rollback;
    }
  }
  return status;
}

bool WritesAny(std::span<const StoreOp> ops) {
  return std::any_of(ops.begin(), ops.end(), [](const StoreOp& op) {
    return !std::holds_alternative<ListOp>(op) && !std::holds_alternative<HistoryOp>(op);
  });
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  Status status = CheckPath(options.path);
  if (!status.ok()) {
    return status;
  }
  status = CheckNoOrphans(options.path);
  if (!status.ok()) {
    return status;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(options));
  status = store->Connect(/*create=*/true);
  if (!status.ok()) {
    return status;
  }
  return store;
}

Status SqliteStore::Connect(bool create) {
  TENURE_CHECK(!db_.has_value());
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  Result<SqliteConnection> db = SqliteConnection::Open(options_.path, flags);
  if (!db.ok()) {
    return db.status();
  }
  db_.emplace(std::move(db).value());
  Status status = Configure(create);
  if (status.ok()) {
    status = ApplyMigrations(*db_, EmbeddedMigrations());
  }
  if (status.ok()) {
    status = PrepareStatements();
  }
  if (!status.ok()) {
    Disconnect();
    return status;
  }
  // The WAL exists now: Configure read the database in WAL mode.
  files_ = in_memory() ? DbFiles{} : DbFiles::Identify(options_.path);
  return Status::Ok();
}

// Everything up to CheckSchemaCompatible only reads: a file refused here is
// left byte for byte as it was. Switching to WAL is the first write.
Status SqliteStore::Configure(bool create) {
  const std::string& path = options_.path;
  int rc = sqlite3_busy_timeout(db_->get(), options_.busy_timeout_ms);
  if (rc != SQLITE_OK) {
    return db_->Error("cannot set busy_timeout on '" + path + "'", rc);
  }
  // READWRITE quietly falls back to read-only for a write-protected file.
  // Checked before the first read: reading a WAL database would leave -wal
  // and -shm files that a read-only connection cannot remove.
  if (sqlite3_db_readonly(db_->get(), "main") == 1) {
    return Status::StorageError("database '" + path + "' is read-only; tenure needs to write it");
  }
  // The first statement reads the header: this is where a file that is not a
  // database shows itself.
  Status status = db_->Exec("SELECT count(*) FROM sqlite_master");
  if (!status.ok()) {
    if ((sqlite3_errcode(db_->get()) & 0xff) == SQLITE_NOTADB) {
      return Status::StorageError("'" + path + "' is not a SQLite database");
    }
    return WithContext("cannot read database '" + path + "'", status);
  }
  // Other nodes may be creating or migrating this very file now: the check
  // reads one snapshot, so it sees their work whole or not at all, and
  // ApplyMigrations checks again under the write lock before it migrates.
  status = CheckSchemaCompatible(*db_, EmbeddedMigrations());
  if (!status.ok()) {
    return status;
  }
  if (!create) {
    Result<int> version = ReadSchemaVersion(*db_);
    if (!version.ok()) {
      return WithContext("cannot read database '" + path + "'", version.status());
    }
    if (*version == 0) {
      return Status::StorageError("'" + path + "' holds no tenure database");
    }
  }

  Result<std::string> mode = SwitchToWal(*db_);
  if (!mode.ok()) {
    return WithContext("cannot set WAL mode on '" + path + "'", mode.status());
  }
  // An in-memory database stays "memory"; any other answer means the file
  // system could not do WAL and we would silently lose concurrent readers.
  if (*mode != "wal" && !(in_memory() && *mode == "memory")) {
    return Status::StorageError("cannot set WAL mode on '" + path + "': journal mode is '" + *mode +
                                "'");
  }
  status = db_->Exec(options_.sync == SyncMode::kFull ? "PRAGMA synchronous = FULL"
                                                      : "PRAGMA synchronous = NORMAL");
  if (!status.ok()) {
    return WithContext("cannot set synchronous on '" + path + "'", status);
  }
  return Status::Ok();
}

void SqliteStore::Disconnect() {
  if (!db_.has_value()) {
    return;
  }
  if (files_.db.has_value() && DbFiles::Identify(options_.path) != files_) {
    // The path names other files now. A last connection's close deletes the
    // -wal and -shm by name: they may be another database's now.
    int persist = 1;
    sqlite3_file_control(db_->get(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  }
  for (SqliteStatement& statement : statements_) {
    statement = SqliteStatement();
  }
  db_.reset();
}

Status SqliteStore::Recover() {
  if (state_ == State::kReady) {
    // Between batches too: a node that only reads must still learn that its
    // file was replaced, or it would serve caches newer than the database.
    Status moved = CheckMoved();
    if (moved.ok()) {
      return moved;
    }
    fault_ = moved;
  }
  TENURE_CHECK(!fault_.ok());  // Invariant (4).
  if (in_memory()) {
    return fault_;  // Its only copy went with the connection in doubt.
  }
  const DbFiles now = DbFiles::Identify(options_.path);
  const bool same_db = db_.has_value() && files_.db.has_value() && now.db == files_.db;
  Status status;
  if (state_ == State::kMoved && same_db && now.wal == files_.wal) {
    // Moved away and back: db_ has had this very file open all along.
  } else if (state_ == State::kMoved && same_db) {
    // Commits in the old WAL live on only in the processes that hold it.
    fault_ = Status::Unavailable("'" + WalPath(options_.path) +
                                 "' was deleted or replaced while this node ran; nothing was "
                                 "written; restart the nodes that use '" +
                                 options_.path + "'");
    return fault_;
  } else if (!now.db.has_value()) {
    fault_ = MovedStatus(options_.path);  // Still gone: wait; never create one.
    return fault_;
  } else {
    status = Reconnect();
  }
  if (!status.ok()) {
    fault_ = Status::Unavailable("cannot reopen the database: " + status.message() +
                                 "; nothing was written; retry");
    return fault_;
  }
  // The database may be another file now, perhaps older: every generation
  // starts afresh (invariant (4)); callers drop what they cached.
  state_ = State::kReady;
  generation_ = Next(generation_);
  return Status::Ok();
}

Status SqliteStore::Reconnect() {
  // Checked before anything is touched: an empty or foreign file at the path
  // must not cost the old files anything, and a file still being copied in
  // must not be written to (put it in place with a rename).
  // (Not when the path still holds the very file db_ has open: closing any
  // descriptor of it would drop SQLite's locks on it.)
  const bool same_file =
      db_.has_value() && files_.db.has_value() && DbFiles::Identify(options_.path).db == files_.db;
  if (!same_file && !IsWholeSqliteFile(options_.path)) {
    return Status::StorageError("'" + options_.path +
                                "' is not a whole tenure database (empty, partly copied, or not "
                                "SQLite); the node does not start an empty database in place of "
                                "the one it had");
  }
  // Serializes with the other nodes of this machine reconnecting to this
  // database: none may remove the -wal another has just created.
  DirectoryLock lock(options_.path);
  if (!lock.locked()) {
    return Status::StorageError("another process holds the lock of '" + options_.path +
                                "''s directory (is a node paused while reopening it?); "
                                "nothing was written; retry");
  }
  if (db_.has_value() && files_.db.has_value()) {
    const DbFiles now = DbFiles::Identify(options_.path);
    if (now.db != files_.db) {
      // A -wal or -shm still at the path and still the one db_ holds open
      // belongs to the deleted database (their identities cannot have been
      // reused while open). SQLite would pair them with the new file: a WAL
      // replayed into another database corrupts it, and a stale -shm points
      // into that WAL. Nothing else reads them.
      // The -wal may hold commits never copied into the deleted file: kept
      // aside under another name, for an operator to recover by hand.
      if (files_.wal.has_value() && now.wal == files_.wal) {
        const std::string aside =
            WalPath(options_.path) + ".replaced-" + std::to_string(generation_.value());
        if (std::rename(WalPath(options_.path).c_str(), aside.c_str()) != 0) {
          unlink(WalPath(options_.path).c_str());
        }
      }
      if (files_.shm.has_value() && now.shm == files_.shm) {
        unlink(ShmPath(options_.path).c_str());
      }
    }
  }
  Disconnect();
  files_ = DbFiles{};
  return Connect(/*create=*/false);
}

Status SqliteStore::CheckFiles(bool writes) {
  if (in_memory()) {
    return Status::Ok();
  }
  if (Status status = CheckMoved(); !status.ok()) {
    return status;
  }
  // An open file stays writable after a chmod: ask the path, as a restart
  // would, so that an operator's "read-only" takes effect now.
  if (writes) {
    if (std::optional<std::string> why = NotWritable(options_.path)) {
      return ReadOnlyStatus(options_.path, *why);
    }
  }
  return Status::Ok();
}

Status SqliteStore::CheckMoved() {
  if (in_memory()) {
    return Status::Ok();
  }
  if (IdOf(options_.path) == files_.db && IdOf(WalPath(options_.path)) == files_.wal) {
    return Status::Ok();
  }
  state_ = State::kMoved;
  return MovedStatus(options_.path);
}

Status SqliteStore::BatchFault(std::string_view context, const Status& cause, bool at_commit) {
  const int rc = sqlite3_extended_errcode(db_->get());
  const FaultKind kind = ClassifyFault(db_->get(), rc);
  switch (kind) {
    case FaultKind::kOp:
    case FaultKind::kBusy:
      return WithContext(context, cause);
    case FaultKind::kMoved:
      state_ = State::kMoved;
      break;
    case FaultKind::kUncertain:
      state_ = State::kBroken;
      break;
    case FaultKind::kFull:
    case FaultKind::kReadOnly:
      break;
  }
  const std::string why = kind == FaultKind::kUncertain ? WithContext(context, cause).message()
                                                        : FaultReason(db_->get(), rc);
  return FaultStatus(kind, options_.path, why, at_commit);
}

std::vector<StoreResult> SqliteStore::FailBatch(std::vector<StoreResult> results,
                                                const Status& fault) {
  TENURE_CHECK(!fault.ok());
  for (StoreResult& result : results) {
    result = StoreResult{};
    result.status = fault;
  }
  fault_ = fault;
  return results;
}

std::vector<StoreResult> SqliteStore::Apply(std::span<const StoreOp> ops) {
  std::vector<StoreResult> results(ops.size());
  if (ops.empty()) {
    return results;
  }
  stats_.ops += ops.size();
  if (state_ != State::kReady) {
    return FailBatch(std::move(results), fault_);  // Recover() has not succeeded.
  }
  TENURE_CHECK(db_.has_value());    // Invariant (3).
  TENURE_CHECK(db_->autocommit());  // Invariant (1).
  if (Status status = CheckFiles(WritesAny(ops)); !status.ok()) {
    return FailBatch(std::move(results), status);
  }
  // Ops almost never fail on their own, and a savepoint per op costs two
  // statements: the batch runs without them first. Should an op fail, part
  // of it may have run, so the whole batch is rolled back and run again with
  // a savepoint per op, which keeps the others. The ops are a function of
  // what the database holds, so the second run gives the same results.
  Status status = Status::Ok();
  for (const bool savepoints : {false, true}) {
    status = Execute(kBegin, {});
    if (!status.ok()) {
      return FailBatch(std::move(results), BatchFault("cannot begin a transaction", status, false));
    }
    OpsOutcome outcome = ApplyOps(ops, results, savepoints);
    if (outcome.fault.ok() && !outcome.op_failed) {
      break;
    }
    RollbackAfter();  // The ops before this one go too: nothing of the batch stays.
    if (!outcome.op_failed) {
      return FailBatch(std::move(results), outcome.fault);
    }
    if (state_ != State::kReady) {
      return FailBatch(std::move(results),
                       Status::Unavailable("cannot roll back a batch to retry it op by op; "
                                           "nothing was written; the node reopens the database; "
                                           "retry"));
    }
    std::fill(results.begin(), results.end(), StoreResult{});
  }
  status = Execute(kCommit, {});
  if (!status.ok()) {
    Status fault = BatchFault("commit failed", status, /*at_commit=*/true);
    RollbackAfter();
    return FailBatch(std::move(results), fault);
  }
  TENURE_CHECK(db_->autocommit());  // Invariant (1).
  // Checked again before anything is acknowledged: a file deleted while the
  // batch ran took the batch with it, and its results would be lies.
  if (!CheckMoved().ok()) {
    return FailBatch(std::move(results),
                     Status::Unavailable("database file '" + options_.path +
                                         "' was deleted or replaced while a batch was written "
                                         "to it; the batch went to the old file only and is not "
                                         "acknowledged; retry once a valid database is back"));
  }
  ++stats_.transactions;
  if (WritesAny(ops)) {
    // Only a batch that wrote shows that writes work again: with the disk
    // full, a batch of reads still commits.
    fault_ = Status::Ok();
  }
  return results;
}

SqliteStore::OpsOutcome SqliteStore::ApplyOps(std::span<const StoreOp> ops,
                                              std::vector<StoreResult>& results, bool savepoints) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (savepoints) {
      if (Status fault = ApplyInSavepoint(ops[i], results[i]); !fault.ok()) {
        return {fault, false};
      }
      continue;
    }
    Result<StoreResult> done = std::visit([this](const auto& o) { return Do(o); }, ops[i]);
    if (done.ok()) {
      results[i] = std::move(done).value();
      continue;
    }
    TENURE_CHECK(done.status().code() == ErrorCode::kStorageError);
    const FaultKind kind = ClassifyFault(db_->get(), sqlite3_extended_errcode(db_->get()));
    if (kind != FaultKind::kOp || db_->autocommit()) {
      return {BatchFault("transaction rolled back", done.status(), false), false};
    }
    return {Status::Ok(), true};
  }
  return {Status::Ok(), false};
}

Status SqliteStore::ApplyInSavepoint(const StoreOp& op, StoreResult& result) {
  Status status = Execute(kSavepoint, {});
  if (!status.ok()) {
    return BatchFault("cannot open a savepoint", status, false);
  }
  Result<StoreResult> done = std::visit([this](const auto& o) { return Do(o); }, op);
  if (done.ok()) {
    result = std::move(done).value();
  } else {
    TENURE_CHECK(done.status().code() == ErrorCode::kStorageError);
    const FaultKind kind = ClassifyFault(db_->get(), sqlite3_extended_errcode(db_->get()));
    if (kind != FaultKind::kOp || db_->autocommit()) {
      // Not the op's own failure, or SQLite ended the transaction itself
      // (the ops before this one are gone): the batch fails as a whole.
      return BatchFault("transaction rolled back", done.status(), false);
    }
    result.status = done.status();
    // Undo whatever part of this op ran; the ops before it stay.
    status = Execute(kRollbackTo, {});
    if (!status.ok()) {
      state_ = State::kBroken;
      return Status::Unavailable("cannot roll back a failed op (" + status.message() +
                                 "); nothing was written; the node reopens the database; retry");
    }
  }
  status = Execute(kRelease, {});
  if (!status.ok()) {
    state_ = State::kBroken;
    return Status::Unavailable("cannot release a savepoint (" + status.message() +
                               "); nothing was written; the node reopens the database; retry");
  }
  return Status::Ok();
}

void SqliteStore::RollbackAfter() {
  if (db_->autocommit()) {
    return;  // SQLite already rolled back.
  }
  if (!Execute(kRollback, {}).ok()) {
    state_ = State::kBroken;  // Keeps invariant (1): the connection is replaced.
  }
}

}  // namespace internal

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  Result<std::unique_ptr<internal::SqliteStore>> store = internal::SqliteStore::Open(options);
  if (!store.ok()) {
    return store.status();
  }
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace tenure::store
