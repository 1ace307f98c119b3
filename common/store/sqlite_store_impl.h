// SqliteStore, the Store over one SQLite connection: its declaration, shared
// by sqlite_store.cc (the connection's life and the batches) and
// sqlite_store_ops.cc (the SQL of each op). Private to tenure_store: other
// code reaches it through OpenSqliteStore() of store.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/store/db_file.h"
#include "tenure/store/sqlite_store.h"
#include "tenure/store/store.h"

namespace tenure::store::internal {

// The statements of the store, prepared once at open and reused by every batch.
enum Sql : std::size_t {
  kBegin,
  kCommit,
  kRollback,
  kSavepoint,
  kRelease,
  kRollbackTo,
  kSelectEntity,
  kNextEpoch,
  kActivateEntity,
  kCloseOpenTenures,
  kOpenTenure,
  kWriteEntity,
  kInsertEntity,
  kInsertEntityIfAbsent,
  kCloseTenure,
  kClearOwner,
  kList,
  kHistory,
  kSqlCount,
};

// The text of each statement, in the order of Sql.
extern const std::array<std::string_view, kSqlCount> kSqlText;

using Param = std::variant<std::int64_t, std::string_view>;

// `status` with "<context>: " before its message.
inline Status WithContext(std::string_view context, const Status& status) {
  return Status(status.code(), std::string(context) + ": " + status.message());
}

// The Store over one SQLite connection. See store.h for the contract.
//
// States of the connection to the database file:
//
//          Open()              file moved (Recover, CheckFiles, BatchFault)
//   (none) ------> kReady ------------------------------------------> kMoved
//                   ^  ^ \                                              |
//                   |  |  \ I/O error, corruption (BatchFault)          |
//                   |  |   v                                            |
//                   |  |  kBroken                                       |
//                   |  +----+ Recover(): reconnected                    |
//                   +---------------------------------------------------+
//                     Recover(): the same file is back, or a valid one
//
// | transition        | function                                              |
// |-------------------|-------------------------------------------------------|
// | (none) -> kReady  | Open                                                  |
// | kReady -> kMoved  | Recover (between batches), CheckFiles (before a       |
// |                   | batch), CheckMoved (after its commit), BatchFault     |
// |                   | (SQLITE_READONLY_DBMOVED)                             |
// | kReady -> kBroken | BatchFault, ApplyInSavepoint, RollbackAfter           |
// | kMoved -> kReady  | Recover: the file came back (same connection), or     |
// |                   | Reconnect to the valid database now at the path       |
// | kBroken -> kReady | Recover -> Reconnect                                  |
//
// Guarantees per state:
// - kReady: db_ is open on the files of files_ and Apply() runs batches. A
//   full disk or a read-only file fails a batch but is no state: the
//   connection is sound, and the next batch checks again.
// - kMoved: no batch runs. db_, if set, still holds the old file open, so
//   the file is recognized if it comes back (an open inode is never reused).
//   Nothing is ever created at the path.
// - kBroken: no batch runs; db_ is in doubt and is replaced by Recover().
//
// Invariants:
//   (1) In kReady no transaction is open between calls to Apply().
//   (2) Every statement of statements_ is reset after each use, so none holds
//       a read lock or a pointer into an op's strings.
//   (3) In kReady db_ is set and statements_ are prepared on it.
//   (4) generation_ grows by one exactly when Recover() leaves kMoved or
//       kBroken; fault_ is not OK in both.
class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override { Disconnect(); }

  std::vector<StoreResult> Apply(std::span<const StoreOp> ops) override;
  Status Recover() override;
  StoreGeneration generation() const override { return generation_; }
  Status fault() const override { return fault_; }
  StoreStats stats() const override { return stats_; }

 private:
  enum class State { kReady, kMoved, kBroken };

  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}

  bool in_memory() const { return options_.path == ":memory:"; }
  // Opens db_ on the path and makes it ready (invariant (3)). Only Open()
  // may `create` the file: a reconnection must find a database, never start
  // an empty one where the lost one was.
  Status Connect(bool create);
  Status Configure(bool create);
  Status PrepareStatements();
  // Closes db_; SQLite may then delete the -wal and -shm at the path only if
  // they are db_'s own.
  void Disconnect();
  // Replaces db_ by a connection to the database at the path now.
  Status Reconnect();

  // Before a batch: the path still names db_'s files, and (for a batch that
  // `writes`) they may be written.
  Status CheckFiles(bool writes);
  // The path still names the database and WAL files db_ has open.
  Status CheckMoved();
  // The status of a batch that failed with `cause` (db_'s latest error), and
  // the state it leaves the store in. kStorageError for a busy database.
  Status BatchFault(std::string_view context, const Status& cause, bool at_commit);
  std::vector<StoreResult> FailBatch(std::vector<StoreResult> results, const Status& fault);

  // Runs every op of a batch inside the open transaction, each in a
  // savepoint of its own or not. `fault` is OK to commit, otherwise the
  // batch fault that ends it; without savepoints, `op_failed` says an op
  // failed on its own instead (and may have run in part).
  struct OpsOutcome {
    Status fault;
    bool op_failed = false;
  };
  OpsOutcome ApplyOps(std::span<const StoreOp> ops, std::vector<StoreResult>& results,
                      bool savepoints);
  // One op inside its savepoint. OK to go on with the batch; otherwise the
  // batch fault that ends it. An op's own failure is in `result`.
  Status ApplyInSavepoint(const StoreOp& op, StoreResult& result);
  Result<StoreResult> Do(const ActivateOp& op);
  Result<StoreResult> Do(const WriteOp& op);
  Result<StoreResult> Do(const CreateOp& op);
  Result<StoreResult> Do(const CloseTenureOp& op);
  Result<StoreResult> Do(const ListOp& op);
  Result<StoreResult> Do(const HistoryOp& op);
  Status OpenTenure(const EntityId& id, const NodeId& node, std::int64_t epoch);

  // Runs statement `sql` with `params` to completion.
  Status Execute(Sql sql, std::initializer_list<Param> params);
  // Runs `sql`, which yields at most one entity row.
  Result<std::optional<EntityRow>> QueryEntity(Sql sql, std::initializer_list<Param> params);
  // Runs `sql`, which yields one row of one integer; nullopt for NULL.
  Result<std::optional<std::int64_t>> QueryInt(Sql sql, std::initializer_list<Param> params);
  Status Bind(SqliteStatement& statement, std::initializer_list<Param> params);
  // Ends the open transaction after a failure; kBroken if it cannot.
  void RollbackAfter();

  // Constant after construction.
  const SqliteOptions options_;

  std::optional<SqliteConnection> db_;  // Declared before statements_: outlives them.
  std::array<SqliteStatement, kSqlCount> statements_;
  DbFiles files_;  // The files db_ opened, as the path named them then.
  State state_ = State::kReady;
  Status fault_;                   // Keeps invariant (4).
  StoreGeneration generation_{1};  // Keeps invariant (4).
  StoreStats stats_;
};

}  // namespace tenure::store::internal
