#include "common/store/sqlite_store.h"

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <sqlite3.h>

#include "common/base/check.h"
#include "common/base/status.h"
#include "common/store/migrations.h"
#include "common/store/store.h"

namespace tenure::store {

// ---------------------------------------------------------------------------
// SqliteConnection

Result<SqliteConnection> SqliteConnection::Open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (db == nullptr) {
    return Status::StorageError("cannot open database '" + path + "': out of memory");
  }
  SqliteConnection connection(db, path);
  if (rc != SQLITE_OK) {
    Status status = connection.Error("cannot open database '" + path + "'", rc);
    // "unable to open database file" alone does not say why; the OS does.
    const int os_error = sqlite3_system_errno(db);
    if (os_error != 0) {
      return Status::StorageError(status.message() + " [" +
                                  std::generic_category().message(os_error) + "]");
    }
    return status;
  }
  // Extended codes tell e.g. a CHECK violation from a UNIQUE one in messages.
  sqlite3_extended_result_codes(db, 1);
  return connection;
}

SqliteConnection::SqliteConnection(SqliteConnection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteConnection& SqliteConnection::operator=(SqliteConnection&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) {
      sqlite3_close_v2(db_);
    }
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

SqliteConnection::~SqliteConnection() {
  if (db_ != nullptr) {
    // close_v2 never fails for a valid handle; with statements still alive it
    // defers the close until the last one is finalized.
    sqlite3_close_v2(db_);
  }
}

Status SqliteConnection::Exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string.
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return Error("database '" + path_ + "'", rc);
  }
  return Status::Ok();
}

Result<SqliteStatement> SqliteConnection::Prepare(std::string_view sql) {
  if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
    return Status::StorageError("statement too long");
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  SqliteStatement statement(stmt);  // Finalizes stmt on every path below.
  if (rc != SQLITE_OK) {
    return Error("database '" + path_ + "'", rc);
  }
  // Our SQL is a compile-time constant: an empty or multi-statement text is a
  // bug in this file, not an operating error.
  TENURE_CHECK(stmt != nullptr);
  const std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  TENURE_CHECK(rest.find_first_not_of(" \t\r\n;") == std::string_view::npos);
  return statement;
}

Status SqliteConnection::Error(std::string_view context, int rc) const {
  // sqlite3_errmsg describes the connection's latest error, which is `rc`
  // unless some later call overwrote it; then the generic text is all we have.
  const bool latest = sqlite3_extended_errcode(db_) == rc || sqlite3_errcode(db_) == rc;
  std::string message(context);
  message += ": ";
  message += latest ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  message += " (sqlite error " + std::to_string(rc) + ")";
  return Status::StorageError(std::move(message));
}

// ---------------------------------------------------------------------------
// SqliteStatement

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);  // A no-op for null.
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

Status SqliteStatement::BindText(int index, std::string_view text) {
  TENURE_CHECK(stmt_ != nullptr);
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    return Status::StorageError("text of " + std::to_string(text.size()) + " bytes is too long");
  }
  // A null data pointer would bind SQL NULL; an empty string_view may have one.
  const char* data = text.data() != nullptr ? text.data() : "";
  // A null destructor is SQLITE_STATIC (spelled without the macro's C cast):
  // SQLite does not copy the text, and Reset() drops the binding before the
  // caller's string can go away.
  const int rc = sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), nullptr);
  if (rc != SQLITE_OK) {
    return Error("bind", rc);
  }
  return Status::Ok();
}

Status SqliteStatement::BindInt64(int index, std::int64_t value) {
  TENURE_CHECK(stmt_ != nullptr);
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) {
    return Error("bind", rc);
  }
  return Status::Ok();
}

Status SqliteStatement::BindNull(int index) {
  TENURE_CHECK(stmt_ != nullptr);
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) {
    return Error("bind", rc);
  }
  return Status::Ok();
}

Result<bool> SqliteStatement::Step() {
  TENURE_CHECK(stmt_ != nullptr);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return Error("step", rc);
}

std::int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) {
    return {};
  }
  // Ask for the size after the text: the text call may convert the value.
  const int bytes = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void SqliteStatement::Reset() {
  if (stmt_ == nullptr) {
    return;
  }
  // sqlite3_reset repeats the error of a failed step, which its caller has
  // already reported; its own result carries nothing new.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Status SqliteStatement::Error(std::string_view context, int rc) const {
  sqlite3* db = sqlite3_db_handle(stmt_);
  const bool latest = sqlite3_extended_errcode(db) == rc || sqlite3_errcode(db) == rc;
  std::string message(context);
  message += ": ";
  message += latest ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite error " + std::to_string(rc) + ")";
  return Status::StorageError(std::move(message));
}

// ---------------------------------------------------------------------------
// SqliteStore

namespace {

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
  kCloseTenure,
  kClearOwner,
  kList,
  kHistory,
  kSqlCount,
};

// Timestamps are computed by SQLite (ISO 8601 UTC, milliseconds) so the C++
// never reads the wall clock. Entity rows are always read in this column order
// (see ReadEntity).
constexpr std::array<std::string_view, kSqlCount> kSqlText = {
    // kBegin: IMMEDIATE takes the write lock now, so a busy database fails
    // the batch up front instead of at its first write.
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT op",
    "RELEASE op",
    "ROLLBACK TO op",
    // kSelectEntity
    "SELECT id, state, version, owner_node, owner_epoch, updated_at FROM entities WHERE id = ?1",
    // kNextEpoch: above every epoch the id ever had, with or without an entity
    // row. An activation takes it; a create is fenced by it minus one.
    "SELECT 1 + max(coalesce((SELECT owner_epoch FROM entities WHERE id = ?1), 0),"
    " coalesce((SELECT max(epoch) FROM ownership WHERE id = ?1), 0))",
    // kActivateEntity
    "UPDATE entities SET owner_node = ?2, owner_epoch = ?3 WHERE id = ?1"
    " RETURNING id, state, version, owner_node, owner_epoch, updated_at",
    // kCloseOpenTenures
    "UPDATE ownership SET released_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),"
    " reason = 'superseded' WHERE id = ?1 AND released_at IS NULL",
    // kOpenTenure
    "INSERT INTO ownership (id, node, epoch, acquired_at)"
    " VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    // kWriteEntity: the fence is in the WHERE clause.
    "UPDATE entities SET state = ?2, version = version + 1,"
    " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    " WHERE id = ?1 AND owner_epoch = ?3 AND version = ?4"
    " RETURNING id, state, version, owner_node, owner_epoch, updated_at",
    // kInsertEntity
    "INSERT INTO entities (id, state, version, owner_node, owner_epoch, updated_at)"
    " VALUES (?1, ?2, 1, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    " RETURNING id, state, version, owner_node, owner_epoch, updated_at",
    // kCloseTenure
    "UPDATE ownership SET released_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), reason = ?3"
    " WHERE id = ?1 AND epoch = ?2 AND released_at IS NULL",
    // kClearOwner
    "UPDATE entities SET owner_node = NULL WHERE id = ?1 AND owner_epoch = ?2",
    // kList
    "SELECT id, state, version, owner_node, owner_epoch, updated_at FROM entities"
    " WHERE id > ?1 ORDER BY id LIMIT ?2",
    // kHistory: the newest 1000 tenures (what one reply can carry), oldest first.
    "SELECT id, node, epoch, acquired_at, released_at, reason FROM ("
    "SELECT * FROM ownership WHERE id = ?1 ORDER BY epoch DESC LIMIT 1000) ORDER BY epoch",
};

using Param = std::variant<std::int64_t, std::string_view>;

// Epochs and versions are stored as SQLite's signed 64-bit integers. One above
// INT64_MAX wraps to a negative number, which matches no row: fenced, as it
// should be for a token this store never handed out.
std::int64_t ToSql(std::uint64_t value) { return static_cast<std::int64_t>(value); }
std::uint64_t FromSql(std::int64_t value) { return static_cast<std::uint64_t>(value); }

Status WithContext(std::string_view context, const Status& status) {
  return Status(status.code(), std::string(context) + ": " + status.message());
}

EntityRow ReadEntity(const SqliteStatement& statement) {
  EntityRow row;
  row.id = statement.ColumnText(0);
  row.state = statement.ColumnText(1);
  row.version = FromSql(statement.ColumnInt64(2));
  row.owner_node = statement.ColumnText(3);
  row.owner_epoch = FromSql(statement.ColumnInt64(4));
  row.updated_at = statement.ColumnText(5);
  return row;
}

TenureRow ReadTenure(const SqliteStatement& statement) {
  TenureRow row;
  row.id = statement.ColumnText(0);
  row.node = statement.ColumnText(1);
  row.epoch = FromSql(statement.ColumnInt64(2));
  row.acquired_at = statement.ColumnText(3);
  row.released_at = statement.ColumnText(4);
  row.reason = statement.ColumnText(5);
  return row;
}

// The primary result codes after which the database may hold a commit we could
// not confirm (or is damaged): the store stops serving until reopened.
bool IsUncertain(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
         primary == SQLITE_NOMEM;
}

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

// The Store over one SQLite connection. See store.h for the contract.
//
// Invariants:
//   (1) Between calls to Apply() no transaction is open (autocommit is on),
//       unless broken_ is set.
//   (2) Every statement of statements_ is reset after each use, so none holds
//       a read lock or a pointer into an op's strings.
//   (3) Once broken_ is not OK it never changes: every later op fails with it.
class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);

  std::vector<StoreResult> Apply(std::span<const StoreOp> ops) override;
  StoreStats stats() const override { return stats_; }

 private:
  explicit SqliteStore(SqliteConnection db) : db_(std::move(db)) {}

  Status Configure(const SqliteOptions& options);
  Status PrepareStatements();

  // One op inside its savepoint. Returns false when SQLite rolled back the
  // whole transaction under it (then nothing of the batch is left).
  bool ApplyInSavepoint(const StoreOp& op, StoreResult& result);
  Result<StoreResult> Do(const ActivateOp& op);
  Result<StoreResult> Do(const WriteOp& op);
  Result<StoreResult> Do(const CreateOp& op);
  Result<StoreResult> Do(const ReleaseOp& op);
  Result<StoreResult> Do(const ListOp& op);
  Result<StoreResult> Do(const HistoryOp& op);

  // Runs statement `sql` with `params` to completion.
  Status Execute(Sql sql, std::initializer_list<Param> params);
  // Runs `sql`, which yields at most one entity row.
  Result<std::optional<EntityRow>> QueryEntity(Sql sql, std::initializer_list<Param> params);
  // Runs `sql`, which yields one row of one integer; nullopt for NULL.
  Result<std::optional<std::int64_t>> QueryInt(Sql sql, std::initializer_list<Param> params);
  Status Bind(SqliteStatement& statement, std::initializer_list<Param> params);
  // Ends the open transaction after a failure; sets broken_ if it cannot.
  void RollbackAfter(const Status& cause);

  SqliteConnection db_;  // Declared first: outlives statements_.
  std::array<SqliteStatement, kSqlCount> statements_;
  StoreStats stats_;
  Status broken_;  // Keeps invariant (3).
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  Status status = CheckPath(options.path);
  if (!status.ok()) {
    return status;
  }
  Result<SqliteConnection> db = SqliteConnection::Open(
      options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) {
    return db.status();
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db).value()));
  status = store->Configure(options);
  if (!status.ok()) {
    return status;
  }
  status = ApplyMigrations(store->db_, EmbeddedMigrations());
  if (!status.ok()) {
    return status;
  }
  status = store->PrepareStatements();
  if (!status.ok()) {
    return status;
  }
  return store;
}

// Everything up to CheckSchemaCompatible only reads: a file refused here is
// left byte for byte as it was. Switching to WAL is the first write.
Status SqliteStore::Configure(const SqliteOptions& options) {
  const std::string& path = options.path;
  int rc = sqlite3_busy_timeout(db_.get(), options.busy_timeout_ms);
  if (rc != SQLITE_OK) {
    return db_.Error("cannot set busy_timeout on '" + path + "'", rc);
  }
  // READWRITE quietly falls back to read-only for a write-protected file.
  // Checked before the first read: reading a WAL database would leave -wal
  // and -shm files that a read-only connection cannot remove.
  if (sqlite3_db_readonly(db_.get(), "main") == 1) {
    return Status::StorageError("database '" + path + "' is read-only; tenure needs to write it");
  }
  // The first statement reads the header: this is where a file that is not a
  // database shows itself.
  Status status = db_.Exec("SELECT count(*) FROM sqlite_master");
  if (!status.ok()) {
    if ((sqlite3_errcode(db_.get()) & 0xff) == SQLITE_NOTADB) {
      return Status::StorageError("'" + path + "' is not a SQLite database");
    }
    return WithContext("cannot read database '" + path + "'", status);
  }
  status = CheckSchemaCompatible(db_, EmbeddedMigrations());
  if (!status.ok()) {
    return status;
  }

  Result<SqliteStatement> wal = db_.Prepare("PRAGMA journal_mode = WAL");
  if (!wal.ok()) {
    return WithContext("cannot set WAL mode on '" + path + "'", wal.status());
  }
  Result<bool> has_row = wal->Step();
  if (!has_row.ok()) {
    return WithContext("cannot set WAL mode on '" + path + "'", has_row.status());
  }
  // An in-memory database stays "memory"; any other answer means the file
  // system could not do WAL and we would silently lose concurrent readers.
  const std::string mode = *has_row ? wal->ColumnText(0) : std::string();
  wal->Reset();
  if (mode != "wal" && !(path == ":memory:" && mode == "memory")) {
    return Status::StorageError("cannot set WAL mode on '" + path + "': journal mode is '" + mode +
                                "'");
  }
  status = db_.Exec(options.sync == SyncMode::kFull ? "PRAGMA synchronous = FULL"
                                                    : "PRAGMA synchronous = NORMAL");
  if (!status.ok()) {
    return WithContext("cannot set synchronous on '" + path + "'", status);
  }
  return Status::Ok();
}

Status SqliteStore::PrepareStatements() {
  for (std::size_t i = 0; i < kSqlCount; ++i) {
    Result<SqliteStatement> statement = db_.Prepare(kSqlText[i]);
    if (!statement.ok()) {
      return WithContext("cannot prepare the store's statements", statement.status());
    }
    statements_[i] = std::move(statement).value();
  }
  return Status::Ok();
}

std::vector<StoreResult> SqliteStore::Apply(std::span<const StoreOp> ops) {
  std::vector<StoreResult> results(ops.size());
  if (ops.empty()) {
    return results;
  }
  stats_.ops += ops.size();
  auto fail_all = [&results](const Status& status) {
    for (StoreResult& result : results) {
      result = StoreResult{};
      result.status = status;
    }
  };
  if (!broken_.ok()) {
    fail_all(broken_);
    return results;
  }
  TENURE_CHECK(db_.autocommit());  // Invariant (1).

  Status status = Execute(kBegin, {});
  if (!status.ok()) {
    fail_all(WithContext("cannot begin a transaction", status));
    return results;
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ApplyInSavepoint(ops[i], results[i])) {
      // SQLite ended the transaction itself (e.g. disk full): the ops before
      // this one are gone too.
      fail_all(WithContext("transaction rolled back", results[i].status));
      RollbackAfter(results[i].status);
      return results;
    }
  }
  status = Execute(kCommit, {});
  if (!status.ok()) {
    const int rc = sqlite3_extended_errcode(db_.get());
    fail_all(WithContext("commit failed, nothing was written", status));
    RollbackAfter(status);
    if (IsUncertain(rc) && broken_.ok()) {
      broken_ = WithContext("store stopped after a failed commit; reopen it", status);
    }
    return results;
  }
  ++stats_.transactions;
  TENURE_CHECK(db_.autocommit());  // Invariant (1).
  return results;
}

bool SqliteStore::ApplyInSavepoint(const StoreOp& op, StoreResult& result) {
  Status status = Execute(kSavepoint, {});
  if (!status.ok()) {
    result.status = WithContext("cannot open a savepoint", status);
    return !db_.autocommit();
  }
  Result<StoreResult> done = std::visit([this](const auto& o) { return Do(o); }, op);
  if (done.ok()) {
    result = std::move(done).value();
  } else {
    result.status = done.status();
    TENURE_CHECK(result.status.code() == ErrorCode::kStorageError);
    if (db_.autocommit()) {
      return false;
    }
    // Undo whatever part of this op ran; the ops before it stay.
    status = Execute(kRollbackTo, {});
    if (!status.ok()) {
      broken_ = WithContext("cannot roll back a failed op; reopen the store", status);
      return false;
    }
  }
  status = Execute(kRelease, {});
  if (!status.ok()) {
    broken_ = WithContext("cannot release a savepoint; reopen the store", status);
    result = StoreResult{};
    result.status = broken_;
    return false;
  }
  return true;
}

void SqliteStore::RollbackAfter(const Status& cause) {
  if (db_.autocommit()) {
    return;  // SQLite already rolled back.
  }
  Status status = Execute(kRollback, {});
  if (!status.ok() && broken_.ok()) {
    broken_ = Status::StorageError("cannot roll back after '" + cause.message() +
                                   "': " + status.message() + "; reopen the store");
  }
}

Result<StoreResult> SqliteStore::Do(const ActivateOp& op) {
  const std::string context = "activate '" + op.id + "'";
  Result<std::optional<std::int64_t>> next = QueryInt(kNextEpoch, {op.id});
  if (!next.ok()) {
    return WithContext(context, next.status());
  }
  if (!next->has_value()) {
    return Status::StorageError(context + ": no epoch computed");
  }
  const std::int64_t epoch = **next;
  Result<std::optional<EntityRow>> row = QueryEntity(kActivateEntity, {op.id, op.node, epoch});
  if (!row.ok()) {
    return WithContext(context, row.status());
  }
  StoreResult result;
  if (!row->has_value()) {
    // No entity: write nothing, so a request for an unknown id leaves no
    // trace; the newest epoch fences a later create.
    result.epoch = FromSql(epoch - 1);
    return result;
  }
  Status status = Execute(kCloseOpenTenures, {op.id});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  status = Execute(kOpenTenure, {op.id, op.node, epoch});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  result.epoch = FromSql(epoch);
  result.row = std::move(row).value();
  return result;
}

Result<StoreResult> SqliteStore::Do(const WriteOp& op) {
  const std::string context = "write '" + op.id + "'";
  Result<std::optional<EntityRow>> row =
      QueryEntity(kWriteEntity, {op.id, op.state, ToSql(op.epoch), ToSql(op.expected_version)});
  if (!row.ok()) {
    return WithContext(context, row.status());
  }
  StoreResult result;
  if (row->has_value()) {
    result.row = std::move(row).value();
    return result;
  }
  // Fenced. Read the row only to say why; nothing was written.
  Result<std::optional<EntityRow>> current = QueryEntity(kSelectEntity, {op.id});
  if (!current.ok()) {
    return WithContext(context, current.status());
  }
  std::string why;
  if (!current->has_value()) {
    why = "no entity '" + op.id + "'";
  } else if ((*current)->owner_epoch != op.epoch) {
    why = "epoch moved: '" + op.id + "' is at epoch " + std::to_string((*current)->owner_epoch) +
          ", the write carried " + std::to_string(op.epoch);
  } else {
    why = "version moved: '" + op.id + "' is at version " + std::to_string((*current)->version) +
          ", the write expected " + std::to_string(op.expected_version);
  }
  result.fenced = true;
  result.status = Status::Unavailable(why + "; nothing written");
  return result;
}

Result<StoreResult> SqliteStore::Do(const CreateOp& op) {
  const std::string context = "create '" + op.id + "'";
  Result<std::optional<EntityRow>> existing = QueryEntity(kSelectEntity, {op.id});
  if (!existing.ok()) {
    return WithContext(context, existing.status());
  }
  StoreResult result;
  if (existing->has_value()) {
    result.status = Status::Conflict("entity '" + op.id + "' already exists");
    result.row = std::move(existing).value();
    return result;
  }
  Result<std::optional<std::int64_t>> next = QueryInt(kNextEpoch, {op.id});
  if (!next.ok()) {
    return WithContext(context, next.status());
  }
  if (!next->has_value()) {
    return Status::StorageError(context + ": no epoch computed");
  }
  const std::int64_t epoch = **next;
  if (epoch - 1 != ToSql(op.epoch)) {
    result.fenced = true;
    result.status = Status::Unavailable("epoch moved: the newest epoch of '" + op.id + "' is " +
                                        std::to_string(epoch - 1) + ", the create carried " +
                                        std::to_string(op.epoch) + "; nothing written");
    return result;
  }
  Result<std::optional<EntityRow>> row =
      QueryEntity(kInsertEntity, {op.id, op.state, op.node, epoch});
  if (!row.ok()) {
    return WithContext(context, row.status());
  }
  if (!row->has_value()) {
    return Status::StorageError(context + ": insert returned no row");
  }
  Status status = Execute(kCloseOpenTenures, {op.id});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  status = Execute(kOpenTenure, {op.id, op.node, epoch});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  result.epoch = FromSql(epoch);
  result.row = std::move(row).value();
  return result;
}

Result<StoreResult> SqliteStore::Do(const ReleaseOp& op) {
  const std::string context = "release '" + op.id + "'";
  // Either statement may match nothing (a tenure already superseded, an
  // entity never created or since activated elsewhere): that is not an error.
  Status status = Execute(kCloseTenure, {op.id, ToSql(op.epoch), op.reason});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  status = Execute(kClearOwner, {op.id, ToSql(op.epoch)});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  return StoreResult{};
}

Result<StoreResult> SqliteStore::Do(const ListOp& op) {
  SqliteStatement& statement = statements_[kList];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, {op.after, static_cast<std::int64_t>(op.limit)});
  if (!status.ok()) {
    return WithContext("list", status);
  }
  StoreResult result;
  for (;;) {
    Result<bool> has_row = statement.Step();
    if (!has_row.ok()) {
      return WithContext("list", has_row.status());
    }
    if (!*has_row) {
      break;
    }
    result.rows.push_back(ReadEntity(statement));
  }
  return result;
}

Result<StoreResult> SqliteStore::Do(const HistoryOp& op) {
  const std::string context = "history '" + op.id + "'";
  SqliteStatement& statement = statements_[kHistory];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, {op.id});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  StoreResult result;
  for (;;) {
    Result<bool> has_row = statement.Step();
    if (!has_row.ok()) {
      return WithContext(context, has_row.status());
    }
    if (!*has_row) {
      break;
    }
    result.tenures.push_back(ReadTenure(statement));
  }
  return result;
}

Status SqliteStore::Bind(SqliteStatement& statement, std::initializer_list<Param> params) {
  int index = 0;
  for (const Param& param : params) {
    ++index;
    Status status = std::holds_alternative<std::int64_t>(param)
                        ? statement.BindInt64(index, std::get<std::int64_t>(param))
                        : statement.BindText(index, std::get<std::string_view>(param));
    if (!status.ok()) {
      return status;
    }
  }
  return Status::Ok();
}

Status SqliteStore::Execute(Sql sql, std::initializer_list<Param> params) {
  SqliteStatement& statement = statements_[sql];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, params);
  if (!status.ok()) {
    return status;
  }
  for (;;) {
    Result<bool> has_row = statement.Step();
    if (!has_row.ok()) {
      return has_row.status();
    }
    if (!*has_row) {
      return Status::Ok();
    }
  }
}

Result<std::optional<EntityRow>> SqliteStore::QueryEntity(Sql sql,
                                                          std::initializer_list<Param> params) {
  SqliteStatement& statement = statements_[sql];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, params);
  if (!status.ok()) {
    return status;
  }
  Result<bool> has_row = statement.Step();
  if (!has_row.ok()) {
    return has_row.status();
  }
  if (!*has_row) {
    return std::optional<EntityRow>();
  }
  EntityRow row = ReadEntity(statement);
  // A RETURNING statement finishes its change on the first step; stepping to
  // the end also surfaces any error SQLite reports only there.
  has_row = statement.Step();
  if (!has_row.ok()) {
    return has_row.status();
  }
  if (*has_row) {
    return Status::StorageError("more than one row for entity '" + row.id + "'");
  }
  return std::optional<EntityRow>(std::move(row));
}

Result<std::optional<std::int64_t>> SqliteStore::QueryInt(Sql sql,
                                                          std::initializer_list<Param> params) {
  SqliteStatement& statement = statements_[sql];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, params);
  if (!status.ok()) {
    return status;
  }
  Result<bool> has_row = statement.Step();
  if (!has_row.ok()) {
    return has_row.status();
  }
  if (!*has_row || statement.ColumnIsNull(0)) {
    return std::optional<std::int64_t>();
  }
  return std::optional<std::int64_t>(statement.ColumnInt64(0));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(options);
  if (!store.ok()) {
    return store.status();
  }
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace tenure::store
