// The Store interface: where entity rows and their ownership history live.
//
// A node talks to its store only in batches: Apply() runs a whole batch in one
// transaction (group commit) and returns one result per operation, in order.
// Every write is fenced by the owner's epoch, so a deposed owner can never
// overwrite a newer owner's state (DESIGN §3). SQLite is the embedded
// implementation; a server database can implement the same interface.
//
// Not thread-safe: one thread at a time calls Apply() (the BatchWriter's).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/strong_id.h"

namespace tenure::store {

struct EntityRow {
  EntityId id;
  std::string state;
  Version version;
  NodeId owner_node;  // Empty when NULL (no owner).
  Epoch owner_epoch;
  std::string updated_at;  // ISO 8601 UTC, set by the store.

  bool operator==(const EntityRow&) const = default;
};

struct TenureRow {  // One row of the ownership table.
  EntityId id;
  NodeId node;
  Epoch epoch;
  std::string acquired_at;
  std::string released_at;  // Empty while the tenure is open.
  std::string reason;       // Why it ended; empty while open.

  bool operator==(const TenureRow&) const = default;
};

// A node has just won the lock on `id`. If the entity exists: take a new epoch
// (greater than every epoch `id` ever had), close the previous open tenure
// with reason "superseded" and open one for `node`. If it does not exist:
// write nothing (a request for an unknown id leaves no trace) and report the
// newest epoch `id` ever had (0 if none), which fences a later CreateOp.
// With `create_state` set, a missing entity is created instead, in its first
// tenure (the newest epoch + 1) for `node`: the activation and create of a
// new entity's first request in one step, as ActivateOp then CreateOp would
// do with nothing in between (they share the transaction).
struct ActivateOp {
  EntityId id;
  NodeId node;
  std::string create_state{};  // Empty: never create.
};

// Set the state, fenced: applies only while owner_epoch == epoch and version ==
// expected_version; bumps version by one.
struct WriteOp {
  EntityId id;
  Epoch epoch;
  Version expected_version;
  std::string state;
};

// Insert a new entity at version 1, fenced: applies only if `id` does not exist
// and `epoch` (from the ActivateOp that found it missing) is still the newest
// epoch of `id`. The entity starts a tenure of its own at epoch + 1 for `node`.
struct CreateOp {
  EntityId id;
  NodeId node;
  Epoch epoch;
  std::string state;
};

// The tenure `epoch` of `id` ends (passivation, step-down, shutdown): close its
// ownership row with `reason` and clear owner_node if the row still names it.
struct CloseTenureOp {
  EntityId id;
  Epoch epoch;
  std::string reason;
};

// Read up to `limit` entities ordered by id, starting after `after` (empty = start).
struct ListOp {
  std::uint32_t limit = 100;
  EntityId after;
};

// Read the newest 1000 tenures of `id` (what one reply carries), oldest first.
struct HistoryOp {
  EntityId id;
};

using StoreOp = std::variant<ActivateOp, WriteOp, CreateOp, CloseTenureOp, ListOp, HistoryOp>;

struct StoreResult {
  // OK, or: kConflict (CreateOp: the id exists; `row` holds it), kStorageError
  // (the store refused; nothing of this op changed), kUnavailable (fenced, see
  // below; or the whole batch failed for a cause outside it: the disk is full,
  // the database is read-only, deleted or replaced; retry).
  Status status;
  // The op was fenced: the epoch (or version) moved under the caller, nothing
  // was written. status is kUnavailable in that case.
  bool fenced = false;
  Epoch epoch;                     // ActivateOp: the new epoch (entity missing: the newest).
  bool created = false;            // ActivateOp with create_state: it created the entity.
  std::optional<EntityRow> row;    // ActivateOp (nullopt: no such entity), WriteOp, CreateOp.
  std::vector<EntityRow> rows;     // ListOp.
  std::vector<TenureRow> tenures;  // HistoryOp.
};

// A store op as a node hands it to its writer, and what came of it.
struct Job {
  std::uint64_t ticket = 0;  // Chosen by the caller, echoed in Done.
  StoreOp op;
  // The store generation the caller's view was built from; 0 means the op
  // depends on no cached view.
  StoreGeneration generation{0};
};

struct Done {
  std::uint64_t ticket = 0;
  StoreResult result;
  StoreGeneration generation{0};  // The store generation that produced `result`.
};

struct StoreStats {
  std::uint64_t transactions = 0;  // Committed batches.
  std::uint64_t ops = 0;           // Operations applied (any outcome).
};

// Batch faults and recovery. A batch fails as a whole when its cause lies
// outside it (the disk is full, the file was made read-only, deleted or
// replaced, an I/O error): every op reports the same kUnavailable status, the
// transaction is rolled back, and the next batch tries again. No such fault
// stops the store for good: it keeps working once the cause goes away.
//
// Generations. A store may have to reconnect to its database: after an error
// that leaves the connection in doubt, or when the file it had was deleted or
// replaced and a valid one is back at its path (perhaps an older copy). Each
// reconnection starts a new generation. What a caller cached from results of
// an older generation may be newer than the database now is, and ops formed
// from it must not run against it (see BatchWriter).
class Store {
 public:
  virtual ~Store() = default;

  // Runs `ops` in one transaction and returns ops.size() results in order.
  // One op that fails on its own (a CHECK violation) is rolled back alone
  // (savepoint) and reported; the others commit. A batch fault fails them all
  // and changes nothing (see above).
  virtual std::vector<StoreResult> Apply(std::span<const StoreOp> ops) = 0;

  // Makes the store ready for a batch if it can: notices a database file
  // deleted or replaced since the last batch, and reconnects when needed. OK
  // when the store can take a batch; otherwise why not (and the next Apply()
  // fails with it). Cheap enough to call between batches to find faults
  // early.
  virtual Status Recover() { return Status::Ok(); }
  // Starts at 1; grows by one at every reconnection.
  virtual StoreGeneration generation() const { return StoreGeneration(1); }
  // Why the last batch failed as a whole (or Recover() found the store not
  // ready); OK once a batch committed again.
  virtual Status fault() const { return Status::Ok(); }

  virtual StoreStats stats() const = 0;
};

enum class SyncMode { kFull, kNormal };

struct SqliteOptions {
  std::string path = "tenure.db";  // ":memory:" for tests.
  SyncMode sync = SyncMode::kFull;
  int busy_timeout_ms = 5000;
};

// Opens (creating if needed) the database, sets WAL/synchronous/busy_timeout and
// applies the embedded migrations. Errors are kStorageError with a message fit
// for an operator: missing directory, not a SQLite file, schema newer than this
// binary, unreadable or read-only file, a -wal or -shm left without its
// database (SQLite would pair them with a new empty one).
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace tenure::store
