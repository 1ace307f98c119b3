// RAII wrappers over the SQLite C API, used by the SQLite Store and the
// migration runner.
//
// Every SQLite return code is checked; a failure becomes a kStorageError
// Status that carries sqlite3_errmsg() and the code, never an exception. The
// wrappers are implemented in sqlite_connection.cc; the Store itself
// (SqliteStore) lives in sqlite_store.cc behind OpenSqliteStore() of store.h.
//
// Thread-compatible: a connection and its statements are used by one thread at
// a time (the store is opened with SQLITE_OPEN_NOMUTEX).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include "tenure/base/status.h"

namespace tenure::store {

class SqliteStatement;

// Owns one database connection; closing it finalizes nothing else, so every
// SqliteStatement of a connection must be destroyed before it.
class SqliteConnection {
 public:
  // Opens `path` with sqlite3_open_v2(`flags`). Opening does not read the file:
  // a file that is not a database fails on its first statement.
  static Result<SqliteConnection> Open(const std::string& path, int flags);

  SqliteConnection(SqliteConnection&& other) noexcept;
  SqliteConnection& operator=(SqliteConnection&& other) noexcept;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  sqlite3* get() const { return db_; }
  // The path the connection was opened with, for messages.
  const std::string& path() const { return path_; }
  // False while a transaction is open (SQLite's autocommit flag is off).
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

  // Runs `sql`, one or more statements whose rows (if any) are discarded.
  Status Exec(std::string_view sql);
  // BEGIN IMMEDIATE: takes the write lock, waiting up to the busy_timeout for
  // another connection to let it go. When the wait runs out, the message says
  // that another process holds the lock, and how long this one waited.
  // REQUIRES: autocommit().
  Status BeginImmediate();
  // Prepares exactly one statement, flagged for long reuse.
  Result<SqliteStatement> Prepare(std::string_view sql);
  // kStorageError "<context>: <sqlite3_errmsg> (sqlite error <rc>)".
  Status Error(std::string_view context, int rc) const;

 private:
  SqliteConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_ = nullptr;  // Null only after a move.
  std::string path_;
};

// Owns one prepared statement. A use is: Bind*(), Step() until it returns
// false, Reset(). Reset() also drops the bindings, which is what lets BindText
// point into the caller's string without copying it (SQLITE_STATIC).
class SqliteStatement {
 public:
  SqliteStatement() = default;  // Holds nothing; only assignable.
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQLite. `text` must outlive the use.
  Status BindText(int index, std::string_view text);
  Status BindInt64(int index, std::int64_t value);
  Status BindNull(int index);

  // True when a row is ready to read, false when the statement is done.
  Result<bool> Step();

  // Columns are 0-based. A NULL reads as 0 or "".
  std::int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  bool ColumnIsNull(int column) const;

  // Ends the current use: the statement holds no lock and no binding after it.
  void Reset();

 private:
  friend class SqliteConnection;
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Status Error(std::string_view context, int rc) const;

  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope of its use ends, on every path.
class ScopedReset {
 public:
  explicit ScopedReset(SqliteStatement& statement) : statement_(statement) {}
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;
  ~ScopedReset() { statement_.Reset(); }

 private:
  SqliteStatement& statement_;
};

}  // namespace tenure::store
