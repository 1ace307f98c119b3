#include "sqlite_fault.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "tenure/base/check.h"
#include "tenure/base/status.h"

namespace tenure::store {
namespace {

bool IsSpaceError(int os_error) {
  return os_error == ENOSPC || os_error == EFBIG || os_error == EDQUOT;
}

bool IsReadOnlyError(int os_error) {
  return os_error == EROFS || os_error == EACCES || os_error == EPERM;
}

// The errno the unix VFS kept for `file` (its last failed call); 0 if none.
int FileErrno(sqlite3_file* file) {
  int os_error = 0;
  if (file != nullptr && file->pMethods != nullptr &&
      file->pMethods->xFileControl(file, SQLITE_FCNTL_LAST_ERRNO, &os_error) == SQLITE_OK) {
    return os_error;
  }
  return 0;
}

}  // namespace

int LastOsError(sqlite3* db) {
  // In WAL mode a commit writes the WAL, not the database file: the WAL's
  // errno comes first. SQLite's own sqlite3_system_errno() is often 0 by the
  // time a failed commit returns.
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK) {
    if (const int os_error = FileErrno(wal); os_error != 0) {
      return os_error;
    }
  }
  sqlite3_file* main = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &main) == SQLITE_OK) {
    if (const int os_error = FileErrno(main); os_error != 0) {
      return os_error;
    }
  }
  return sqlite3_system_errno(db);
}

FaultKind ClassifyFault(sqlite3* db, int rc) {
  if (rc == SQLITE_READONLY_DBMOVED) {
    return FaultKind::kMoved;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return FaultKind::kBusy;
    case SQLITE_FULL:
      return FaultKind::kFull;
    case SQLITE_READONLY:
      return FaultKind::kReadOnly;
    case SQLITE_IOERR: {
      // The last errno is sticky: trust it only for a failed write, where it
      // is the write's own. Not for SQLITE_IOERR_SHMSIZE: SQLite grows the
      // -shm after the commit frame is written and synced, so a commit that
      // fails there may be in the WAL already (kUncertain).
      const bool write = rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_TRUNCATE;
      const int os_error = write ? LastOsError(db) : 0;
      if (IsSpaceError(os_error)) {
        return FaultKind::kFull;  // A frame that was not written commits nothing.
      }
      if (IsReadOnlyError(os_error)) {
        return FaultKind::kReadOnly;
      }
      return FaultKind::kUncertain;
    }
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
      return FaultKind::kUncertain;
    default:
      return FaultKind::kOp;
  }
}

Status MovedStatus(const std::string& path) {
  return Status::Unavailable("database file '" + path +
                             "' was deleted or replaced while this node ran; nothing was "
                             "written; writes resume once a valid database is back at that path "
                             "(the node never creates an empty one in its place)");
}

Status ReadOnlyStatus(const std::string& path, std::string_view why) {
  return Status::Unavailable("database '" + path + "' is read-only (" + std::string(why) +
                             "); nothing was written; writes resume once it is writable again");
}

std::string FaultReason(sqlite3* db, int rc) {
  if ((rc & 0xff) == SQLITE_IOERR) {
    if (const int os_error = LastOsError(db); os_error != 0) {
      return std::strerror(os_error);
    }
  }
  return sqlite3_errstr(rc);
}

Status FaultStatus(FaultKind kind, const std::string& path, std::string_view why, bool at_commit) {
  switch (kind) {
    case FaultKind::kFull:
      return Status::Unavailable("disk full: cannot write database '" + path + "' (" +
                                 std::string(why) +
                                 "); nothing was written; retry once there is room");
    case FaultKind::kReadOnly:
      return ReadOnlyStatus(path, why);
    case FaultKind::kMoved:
      return MovedStatus(path);
    case FaultKind::kUncertain:
      return Status::Unavailable(
          "database '" + path + "' failed (" + std::string(why) + ")" +
          (at_commit ? "; this batch may or may not have been written" : "; nothing was written") +
          "; the node reopens the database before the next batch; retry");
    case FaultKind::kOp:
    case FaultKind::kBusy:
      break;
  }
  TENURE_CHECK(false);  // A batch fault is one of the kinds above.
  return Status::Unavailable(std::string(why));
}

}  // namespace tenure::store
