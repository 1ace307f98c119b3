// The RAII wrappers over the SQLite C API declared in sqlite_store.h.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <sqlite3.h>

#include "tenure/base/check.h"
#include "tenure/base/status.h"
#include "tenure/store/sqlite_store.h"

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

Status SqliteConnection::BeginImmediate() {
  TENURE_CHECK(autocommit());
  Status status = Exec("BEGIN IMMEDIATE");
  if (status.ok() || (sqlite3_errcode(db_) & 0xff) != SQLITE_BUSY) {
    return status;
  }
  // "database is locked" alone does not say that someone else holds the lock
  // (most likely another node creating, migrating or writing the same file),
  // nor that it was held for the whole wait, so that retrying may help.
  std::string waited = "the busy timeout";
  if (Result<SqliteStatement> timeout = Prepare("PRAGMA busy_timeout"); timeout.ok()) {
    if (Result<bool> has_row = timeout->Step(); has_row.ok() && *has_row) {
      waited = std::to_string(timeout->ColumnInt64(0)) + " ms";
    }
  }
  return Status::StorageError("database '" + path_ + "': gave up after " + waited +
                              " waiting for another process to finish creating, migrating or "
                              "writing it (it holds the write lock); nothing was changed; retry "
                              "once that process is done (" +
                              status.message() + ")");
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

}  // namespace tenure::store
