// What a failed SQLite call means for a batch, and the words an operator reads.
//
// A statement can fail for the op it runs (a CHECK violation: that op alone is
// undone) or for a cause outside the batch: the disk is full, the file is
// read-only, the file was moved under the connection, or an I/O error left the
// connection in doubt. Those fail the whole batch with kUnavailable (retry),
// and this is where they are told apart.
//
// Thread-compatible: functions of their arguments and of one connection.
#pragma once

#include <string>
#include <string_view>

#include <sqlite3.h>

#include "tenure/base/status.h"

namespace tenure::store {

enum class FaultKind {
  kOp,         // The op's own failure (constraint, too long): undone alone.
  kBusy,       // Another writer held the lock past busy_timeout: nothing written.
  kFull,       // No room: disk full, quota or file size limit. Nothing written.
  kReadOnly,   // The file or file system refuses writes. Nothing written.
  kMoved,      // The file was deleted or replaced under the connection.
  kUncertain,  // I/O error, corruption: the connection must be reopened.
};

// Classifies extended result code `rc` of `db`'s latest failure. Reads the
// errno SQLite kept for the WAL and the database file, which says more than
// `rc` does (a write beyond RLIMIT_FSIZE is SQLITE_IOERR_WRITE with EFBIG).
FaultKind ClassifyFault(sqlite3* db, int rc);

// The OS error behind `db`'s latest I/O failure, 0 if none is known.
int LastOsError(sqlite3* db);

// The failure of `db` in words: for a write the OS refused, the OS's reason
// ("File too large"); otherwise SQLite's ("database or disk is full").
std::string FaultReason(sqlite3* db, int rc);

// The kUnavailable status of a batch that failed with `kind` on database
// `path` because of `why`. `at_commit`: the commit itself failed (then an
// uncertain fault leaves the outcome of the batch open).
// REQUIRES: kind is kFull, kReadOnly, kMoved or kUncertain.
Status FaultStatus(FaultKind kind, const std::string& path, std::string_view why, bool at_commit);

// The status of writes refused because the file at `path` is no longer the
// one the store opened (deleted, moved away or replaced).
Status MovedStatus(const std::string& path);

// The status of writes refused because `path` is not writable (`why`).
Status ReadOnlyStatus(const std::string& path, std::string_view why);

}  // namespace tenure::store
