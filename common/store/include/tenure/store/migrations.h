// Schema migrations: the numbered files of sql/, embedded at build time, and
// the runner that brings a database up to date.
//
// A database records the migrations applied to it in schema_version(version),
// one row per migration; its schema version is the largest. The runner applies
// each missing migration in its own transaction together with its row, so a
// database is always at exactly one version. A database newer than the newest
// migration this binary embeds is refused, never "downgraded" or written to.
//
// Any number of processes may open and migrate one file at once (a supervisor
// starts every node of a machine together on a database that does not exist
// yet). Two rules make that safe: every check reads one snapshot, so it sees
// a migration of another process whole or not at all; and the runner checks,
// reads the version and migrates inside one BEGIN IMMEDIATE transaction, so
// one process migrates while the others wait for the write lock (up to the
// connection's busy_timeout) and then find the work done.
//
// Thread-compatible: the functions touch only the connection they are given.
#pragma once

#include <span>
#include <string_view>

#include "tenure/base/status.h"

namespace tenure::store {

class SqliteConnection;

struct Migration {
  int version = 0;        // From the file name: 1 for 001_init.sql.
  std::string_view name;  // The file name without ".sql", e.g. "001_init".
  std::string_view sql;   // The file's text; no BEGIN/COMMIT of its own.
};

// The migrations of sql/, in order: versions 1, 2, ... with no gap (checked
// when they are embedded). Defined in the generated source of tenure_sql.
std::span<const Migration> EmbeddedMigrations();

// The schema version of `db`: 0 when it has no schema_version table (a new or
// empty database).
Result<int> ReadSchemaVersion(SqliteConnection& db);

// Reads only: refuses (kStorageError, naming both versions) a database whose
// schema version is newer than the newest of `migrations`, and a database that
// holds tables but no schema_version (some other program's file). Reads one
// snapshot: the transaction `db` is in, or else a read transaction of its own.
// REQUIRES: `migrations` is ordered by version, without gap, starting at 1.
Status CheckSchemaCompatible(SqliteConnection& db, std::span<const Migration> migrations);

// Applies every migration of `migrations` newer than `db`'s schema version, each
// in its own BEGIN IMMEDIATE transaction, and records it in schema_version. On
// failure that migration is rolled back whole and the error names it; the
// migrations before it stay applied. Each transaction runs CheckSchemaCompatible
// first, under the write lock. When another connection holds the write lock
// past `db`'s busy_timeout, fails with kStorageError saying so.
// REQUIRES: as CheckSchemaCompatible; `db` is not inside a transaction.
Status ApplyMigrations(SqliteConnection& db, std::span<const Migration> migrations);

}  // namespace tenure::store
