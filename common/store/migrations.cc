#include "tenure/store/migrations.h"

#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tenure/base/check.h"
#include "tenure/base/status.h"
#include "tenure/store/sqlite_store.h"

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

// The body of one migration's transaction: `migration` and its row.
Status RunMigration(SqliteConnection& db, const Migration& migration) {
  Status status = db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  if (!status.ok()) {
    return status;
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

// CheckSchemaCompatible within the transaction `db` is in.
Status CheckSnapshot(SqliteConnection& db, std::span<const Migration> migrations) {
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

// Ends the transaction `db` is in after `status` (not OK) made it give up:
// rolls it back, unless SQLite already has.
Status Abandon(SqliteConnection& db, const Status& status) {
  if (db.autocommit()) {
    return status;
  }
  Status rollback = db.Exec("ROLLBACK");
  if (!rollback.ok()) {
    return Status::StorageError(status.message() +
                                "; and then rollback failed: " + rollback.message());
  }
  return status;
}

// Applies, in one BEGIN IMMEDIATE transaction, the oldest migration missing
// from `db`. False when there was none. The check and the version it reads
// are taken under the write lock, so the database they see is either
// unmigrated or whole at some version: another process's migration is never
// seen in part, and none can start between the check and the write.
Result<bool> ApplyNext(SqliteConnection& db, std::span<const Migration> migrations) {
  Status status = db.BeginImmediate();
  if (!status.ok()) {
    return status;
  }
  status = CheckSchemaCompatible(db, migrations);
  if (!status.ok()) {
    return Abandon(db, status);
  }
  Result<int> version = ReadSchemaVersion(db);
  if (!version.ok()) {
    return Abandon(db, version.status());
  }
  if (*version == migrations.back().version) {
    // Only read: ending it either way leaves the file as it was.
    status = db.Exec("COMMIT");
    if (!status.ok()) {
      return Abandon(db, status);
    }
    return false;
  }
  // CheckSchemaCompatible refused every version outside [0, newest].
  TENURE_CHECK(*version >= 0);
  TENURE_CHECK(*version < migrations.back().version);
  const Migration& migration = migrations[static_cast<std::size_t>(*version)];
  const std::string context = "database '" + db.path() + "': migration " +
                              std::string(migration.name) +
                              " failed, database left at the version before it";
  status = RunMigration(db, migration);
  if (status.ok()) {
    status = db.Exec("COMMIT");
  }
  if (!status.ok()) {
    return WithContext(context, Abandon(db, status));
  }
  return true;
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
  if (!db.autocommit()) {
    return CheckSnapshot(db, migrations);
  }
  // Its queries would each see the file as it is at that moment: a migration
  // another process commits between them would show its tables without their
  // version, which is what a foreign database looks like. In one read
  // transaction they all see one snapshot.
  Status status = db.Exec("BEGIN");
  if (!status.ok()) {
    return status;
  }
  status = CheckSnapshot(db, migrations);
  if (!status.ok()) {
    return Abandon(db, status);
  }
  status = db.Exec("COMMIT");
  if (!status.ok()) {
    return Abandon(db, status);
  }
  return Status::Ok();
}

Status ApplyMigrations(SqliteConnection& db, std::span<const Migration> migrations) {
  TENURE_CHECK(db.autocommit());
  TENURE_CHECK(!migrations.empty());
  // Each pass applies one migration or ends the loop; one more pass sees
  // the newest version.
  for (std::size_t pass = 0; pass <= migrations.size(); ++pass) {
    Result<bool> applied = ApplyNext(db, migrations);
    if (!applied.ok()) {
      return applied.status();
    }
    if (!*applied) {
      TENURE_CHECK(db.autocommit());
      return Status::Ok();
    }
  }
  // Every pass raised the version by one, so the last one found none missing.
  TENURE_CHECK(false);
  return Status::Ok();
}

}  // namespace tenure::store
