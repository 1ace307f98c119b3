// The files of one SQLite database on disk, and which files they are.
//
// A database in WAL mode is three files: PATH, PATH-wal and PATH-shm. A store
// keeps them open, so an operator who deletes, moves or replaces one of them
// does not stop SQLite: it goes on writing to the old, unlinked file, and every
// write it acknowledges vanishes at the next start. To notice, the store
// remembers the identity (device and inode) of each file it opened and compares
// it with what the path names now. A chmod does not stop an open file either,
// so the store also asks whether the path is still writable.
//
// Thread-compatible: plain values and functions of the file system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tenure::store {

struct FileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;

  bool operator==(const FileId&) const = default;
};

// The identity of the file `path` names now; nullopt when it names none.
std::optional<FileId> IdOf(const std::string& path);

inline std::string WalPath(const std::string& db_path) { return db_path + "-wal"; }
inline std::string ShmPath(const std::string& db_path) { return db_path + "-shm"; }

// The three files of a database as its paths name them at one moment.
struct DbFiles {
  std::optional<FileId> db;
  std::optional<FileId> wal;
  std::optional<FileId> shm;

  static DbFiles Identify(const std::string& db_path);
  bool operator==(const DbFiles&) const = default;
};

// nullopt when this process may write `path`; otherwise why not, as the OS
// says it ("Permission denied", "Read-only file system").
std::optional<std::string> NotWritable(const std::string& path);

// True when `path` holds a whole SQLite database file: it begins with the
// SQLite header and, when the header records the database's size in pages,
// is at least that long. An empty, foreign or half-copied file is not.
bool IsWholeSqliteFile(const std::string& path);

// An exclusive flock() on the directory of a database, held while it lives.
// The processes of one machine that share a database take it around a reopen,
// so that one never removes the -wal or -shm another has just created. Best
// effort: without a readable directory there is no lock (and no other way).
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& db_path);
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();
  // False when another process held the lock for the whole wait (it may be
  // paused): the caller gives up this attempt rather than stall its writer.
  bool locked() const { return locked_; }

 private:
  int fd_ = -1;
  bool locked_ = false;
};

}  // namespace tenure::store
