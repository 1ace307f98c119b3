// The SQL of each store op: statement texts, and SqliteStore::Do() for each
// op kind. See sqlite_store_impl.h.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <sqlite3.h>

#include "tenure/base/check.h"
#include "tenure/base/status.h"
#include "tenure/store/sqlite_store.h"
#include "tenure/store/store.h"

#include "sqlite_store_impl.h"

namespace tenure::store::internal {

// Timestamps are computed by SQLite (ISO 8601 UTC, milliseconds) so the C++
// never reads the wall clock. Entity rows are always read in this column order
// (see ReadEntity).
const std::array<std::string_view, kSqlCount> kSqlText = {
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
    // kInsertEntityIfAbsent: no row back when the id exists.
    "INSERT INTO entities (id, state, version, owner_node, owner_epoch, updated_at)"
    " VALUES (?1, ?2, 1, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    " ON CONFLICT (id) DO NOTHING"
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

namespace {

// Epochs and versions are stored as SQLite's signed 64-bit integers. One above
// INT64_MAX wraps to a negative number, which matches no row: fenced, as it
// should be for a token this store never handed out.
template <typename Tag>
std::int64_t ToSql(Strong<Tag, std::uint64_t> value) {
  return static_cast<std::int64_t>(value.value());
}
template <typename T>
T FromSql(std::int64_t value) {
  return T(static_cast<std::uint64_t>(value));
}

EntityRow ReadEntity(const SqliteStatement& statement) {
  EntityRow row;
  row.id = EntityId(statement.ColumnText(0));
  row.state = statement.ColumnText(1);
  row.version = FromSql<Version>(statement.ColumnInt64(2));
  row.owner_node = NodeId(statement.ColumnText(3));
  row.owner_epoch = FromSql<Epoch>(statement.ColumnInt64(4));
  row.updated_at = statement.ColumnText(5);
  return row;
}

TenureRow ReadTenure(const SqliteStatement& statement) {
  TenureRow row;
  row.id = EntityId(statement.ColumnText(0));
  row.node = NodeId(statement.ColumnText(1));
  row.epoch = FromSql<Epoch>(statement.ColumnInt64(2));
  row.acquired_at = statement.ColumnText(3);
  row.released_at = statement.ColumnText(4);
  row.reason = statement.ColumnText(5);
  return row;
}

}  // namespace

Status SqliteStore::PrepareStatements() {
  for (std::size_t i = 0; i < kSqlCount; ++i) {
    Result<SqliteStatement> statement = db_->Prepare(kSqlText[i]);
    if (!statement.ok()) {
      return WithContext("cannot prepare the store's statements", statement.status());
    }
    statements_[i] = std::move(statement).value();
  }
  return Status::Ok();
}

Result<StoreResult> SqliteStore::Do(const ActivateOp& op) {
  const std::string context = "activate '" + op.id.str() + "'";
  Result<std::optional<std::int64_t>> next = QueryInt(kNextEpoch, {op.id.str()});
  if (!next.ok()) {
    return WithContext(context, next.status());
  }
  if (!next->has_value()) {
    return Status::StorageError(context + ": no epoch computed");
  }
  const std::int64_t epoch = **next;
  StoreResult result;
  Result<std::optional<EntityRow>> row = std::optional<EntityRow>();
  if (!op.create_state.empty()) {
    // Most of these are new: try the insert first, activate if it exists.
    row = QueryEntity(kInsertEntityIfAbsent, {op.id.str(), op.create_state, op.node.str(), epoch});
    if (!row.ok()) {
      return WithContext(context, row.status());
    }
    result.created = row->has_value();
  }
  if (!result.created) {
    row = QueryEntity(kActivateEntity, {op.id.str(), op.node.str(), epoch});
    if (!row.ok()) {
      return WithContext(context, row.status());
    }
  }
  if (!row->has_value()) {
    // No entity: write nothing, so a request for an unknown id leaves no
    // trace; the newest epoch fences a later create.
    result.epoch = FromSql<Epoch>(epoch - 1);
    return result;
  }
  if (Status status = OpenTenure(op.id, op.node, epoch); !status.ok()) {
    return WithContext(context, status);
  }
  result.epoch = FromSql<Epoch>(epoch);
  result.row = std::move(row).value();
  return result;
}

// The entity's tenure at `epoch` begins on `node`; any it still had open ends.
Status SqliteStore::OpenTenure(const EntityId& id, const NodeId& node, std::int64_t epoch) {
  // Epoch 1 is the first the id ever had (kNextEpoch): no tenure to close.
  if (epoch > 1) {
    if (Status status = Execute(kCloseOpenTenures, {id.str()}); !status.ok()) {
      return status;
    }
  }
  return Execute(kOpenTenure, {id.str(), node.str(), epoch});
}

Result<StoreResult> SqliteStore::Do(const WriteOp& op) {
  const std::string context = "write '" + op.id.str() + "'";
  Result<std::optional<EntityRow>> row = QueryEntity(
      kWriteEntity, {op.id.str(), op.state, ToSql(op.epoch), ToSql(op.expected_version)});
  if (!row.ok()) {
    return WithContext(context, row.status());
  }
  StoreResult result;
  if (row->has_value()) {
    result.row = std::move(row).value();
    return result;
  }
  // Fenced. Read the row only to say why; nothing was written.
  Result<std::optional<EntityRow>> current = QueryEntity(kSelectEntity, {op.id.str()});
  if (!current.ok()) {
    return WithContext(context, current.status());
  }
  std::string why;
  if (!current->has_value()) {
    why = "no entity '" + op.id.str() + "'";
  } else if ((*current)->owner_epoch != op.epoch) {
    why = "epoch moved: '" + op.id.str() + "' is at epoch " +
          std::to_string((*current)->owner_epoch.value()) + ", the write carried " +
          std::to_string(op.epoch.value());
  } else {
    why = "version moved: '" + op.id.str() + "' is at version " +
          std::to_string((*current)->version.value()) + ", the write expected " +
          std::to_string(op.expected_version.value());
  }
  result.fenced = true;
  result.status = Status::Unavailable(why + "; nothing written");
  return result;
}

Result<StoreResult> SqliteStore::Do(const CreateOp& op) {
  const std::string context = "create '" + op.id.str() + "'";
  Result<std::optional<EntityRow>> existing = QueryEntity(kSelectEntity, {op.id.str()});
  if (!existing.ok()) {
    return WithContext(context, existing.status());
  }
  StoreResult result;
  if (existing->has_value()) {
    result.status = Status::Conflict("entity '" + op.id.str() + "' already exists");
    result.row = std::move(existing).value();
    return result;
  }
  Result<std::optional<std::int64_t>> next = QueryInt(kNextEpoch, {op.id.str()});
  if (!next.ok()) {
    return WithContext(context, next.status());
  }
  if (!next->has_value()) {
    return Status::StorageError(context + ": no epoch computed");
  }
  const std::int64_t epoch = **next;
  if (epoch - 1 != ToSql(op.epoch)) {
    result.fenced = true;
    result.status = Status::Unavailable(
        "epoch moved: the newest epoch of '" + op.id.str() + "' is " + std::to_string(epoch - 1) +
        ", the create carried " + std::to_string(op.epoch.value()) + "; nothing written");
    return result;
  }
  Result<std::optional<EntityRow>> row =
      QueryEntity(kInsertEntity, {op.id.str(), op.state, op.node.str(), epoch});
  if (!row.ok()) {
    return WithContext(context, row.status());
  }
  if (!row->has_value()) {
    return Status::StorageError(context + ": insert returned no row");
  }
  if (Status status = OpenTenure(op.id, op.node, epoch); !status.ok()) {
    return WithContext(context, status);
  }
  result.epoch = FromSql<Epoch>(epoch);
  result.row = std::move(row).value();
  return result;
}

Result<StoreResult> SqliteStore::Do(const CloseTenureOp& op) {
  const std::string context = "close the tenure of '" + op.id.str() + "'";
  // Either statement may match nothing (a tenure already superseded, an
  // entity never created or since activated elsewhere): that is not an error.
  Status status = Execute(kCloseTenure, {op.id.str(), ToSql(op.epoch), op.reason});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  status = Execute(kClearOwner, {op.id.str(), ToSql(op.epoch)});
  if (!status.ok()) {
    return WithContext(context, status);
  }
  return StoreResult{};
}

Result<StoreResult> SqliteStore::Do(const ListOp& op) {
  SqliteStatement& statement = statements_[kList];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, {op.after.str(), static_cast<std::int64_t>(op.limit)});
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
  const std::string context = "history '" + op.id.str() + "'";
  SqliteStatement& statement = statements_[kHistory];
  ScopedReset reset(statement);  // Keeps invariant (2).
  Status status = Bind(statement, {op.id.str()});
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
    return Status::StorageError("more than one row for entity '" + row.id.str() + "'");
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

}  // namespace tenure::store::internal
