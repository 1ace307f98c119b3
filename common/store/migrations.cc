#include "common/store/migrations.h"

#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base/check.h"
#include "common/base/status.h"
#include "common/store/sqlite_store.h"

namespace tenure::store {
namespace {

Status WithContext(std::string_view context, const Status& status) {
  return Status(status.code(), std::string(context) + ": " + status.message());
}

// Runs `sql`, which yields one integer (NULL reads as 0).
Result<std::int64_t> QueryInt(SqliteConnection& db, std::string_view sql) {
  Result<SqliteStatement> statement = db.Prepare(sql);
  if (!statement.ok()) {
    return statement.status();
  }
  Result<bool> has_row = statement->Step();
  if (!has_row.ok()) {
    return has_row.status();
  }
  if (!*has_row) {
    return Status::StorageError("no row from '" + std::string(sql) + "'");
  }
  return statement->ColumnInt64(0);
}

Status InsertVersion(SqliteConnection& db, int version) {
  Result<SqliteStatement> insert = db.Prepare("INSERT INTO schema_version (version) VALUES (?1)");
  if (!insert.ok()) {
    return insert.status();
  }
  Status status = insert->BindInt64(1, version);
  if (!status.ok()) {
    return status;
  }
  Result<bool> has_row = insert->Step();
  return has_row.status();
}

// The body of one migration's transaction. Returns OK without changes when
// the migration is already applied (another process may have won the race
// for the write lock).
Status RunMigration(SqliteConnection& db, const Migration& migration) {
  Status status = db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  if (!status.ok()) {
    return status;
  }
  // Re-read under the write lock that BEGIN IMMEDIATE took.
  Result<int> current = ReadSchemaVersion(db);
  if (!current.ok()) {
    return current.status();
  }
  if (*current >= migration.version) {
    return Status::Ok();
  }
  status = db.Exec(migration.sql);
  if (!status.ok()) {
    return status;
  }
  if (db.autocommit()) {
    // The file committed or rolled back on its own: it broke the rule that
    // the runner owns the transaction, and the version row would go astray.
    return Status::StorageError(
        "the migration ended the runner's transaction (BEGIN/COMMIT "
        "in the file?)");
  }
  return InsertVersion(db, migration.version);
}

Status ApplyOne(SqliteConnection& db, const Migration& migration) {
  const std::string context = "database '" + db.path() + "': migration " +
                              std::string(migration.name) +
                              " failed, database left at the "
                              "version before it";
  Status status = db.Exec("BEGIN IMMEDIATE");
  if (!status.ok()) {
    return WithContext(context, status);
  }
  status = RunMigration(db, migration);
  if (status.ok()) {
    status = db.Exec("COMMIT");
  }
  if (!status.ok()) {
    if (!db.autocommit()) {
      Status rollback = db.Exec("ROLLBACK");
      if (!rollback.ok()) {
        return WithContext(
            context, Status::StorageError(status.message() +
                                          "; and then rollback failed: " + rollback.message()));
      }
    }
    return WithContext(context, status);
  }
  return Status::Ok();
}

}  // namespace

Result<int> ReadSchemaVersion(SqliteConnection& db) {
  Result<std::int64_t> has_table = QueryInt(
      db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has_table.ok()) {
    return WithContext("database '" + db.path() + "'", has_table.status());
  }
  if (*has_table == 0) {
    return 0;
  }
  Result<std::int64_t> version = QueryInt(db, "SELECT max(version) FROM schema_version");
  if (!version.ok()) {
    return WithContext("database '" + db.path() + "'", version.status());
  }
  if (*version < 0 || *version > INT_MAX) {
    return Status::StorageError("database '" + db.path() + "' has an invalid schema version " +
                                std::to_string(*version));
  }
  return static_cast<int>(*version);
}

Status CheckSchemaCompatible(SqliteConnection& db, std::span<const Migration> migrations) {
  TENURE_CHECK(!migrations.empty());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    TENURE_CHECK(migrations[i].version == static_cast<int>(i) + 1);
  }
  const Migration& newest = migrations.back();
  Result<int> version = ReadSchemaVersion(db);
  if (!version.ok()) {
    return version.status();
  }
  if (*version > newest.version) {
    return Status::StorageError(
        "database '" + db.path() + "' has schema version " + std::to_string(*version) +
        ", newer than this binary, which knows schema versions up to " +
        std::to_string(newest.version) + " (" + std::string(newest.name) +
        "); use a newer tenure build with this database; it was not changed");
  }
  if (*version == 0) {
    // sqlite_* names are SQLite's own bookkeeping, not someone's data.
    Result<std::int64_t> objects =
        QueryInt(db,
                 "SELECT count(*) FROM sqlite_master WHERE name <> 'schema_version'"
                 " AND substr(name, 1, 7) <> 'sqlite_'");
    if (!objects.ok()) {
      return WithContext("database '" + db.path() + "'", objects.status());
    }
    if (*objects > 0) {
      return Status::StorageError("'" + db.path() +
                                  "' is a SQLite database but not a tenure one: it has tables "
                                  "but no schema_version; it was not changed");
    }
  }
  return Status::Ok();
}

Status ApplyMigrations(SqliteConnection& db, std::span<const Migration> migrations) {
  TENURE_CHECK(db.autocommit());
  Status status = CheckSchemaCompatible(db, migrations);
  if (!status.ok()) {
    return status;
  }
  Result<int> version = ReadSchemaVersion(db);
  if (!version.ok()) {
    return version.status();
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= *version) {
      continue;
    }
    status = ApplyOne(db, migration);
    if (!status.ok()) {
      return status;
    }
  }
  return Status::Ok();
}

}  // namespace tenure::store
