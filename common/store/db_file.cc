#include "tenure/store/db_file.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tenure::store {

std::optional<FileId> IdOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return FileId{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

DbFiles DbFiles::Identify(const std::string& db_path) {
  return DbFiles{IdOf(db_path), IdOf(WalPath(db_path)), IdOf(ShmPath(db_path))};
}

std::optional<std::string> NotWritable(const std::string& path) {
  // AT_EACCESS: the effective ids decide, as they do for the writes.
  if (faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) == 0) {
    return std::nullopt;
  }
  return std::string(std::strerror(errno));
}

namespace {

std::uint32_t BigEndian(const unsigned char* bytes, int count) {
  std::uint32_t value = 0;
  for (int i = 0; i < count; ++i) {
    value = (value << 8) | bytes[i];
  }
  return value;
}

}  // namespace

bool IsWholeSqliteFile(const std::string& path) {
  // The layout of the first 100 bytes: https://www.sqlite.org/fileformat.html
  constexpr std::string_view kMagic("SQLite format 3\0", 16);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  std::array<unsigned char, 100> header{};
  const ssize_t n = pread(fd, header.data(), header.size(), 0);
  struct stat st {};
  const bool stated = fstat(fd, &st) == 0;
  close(fd);
  if (n != static_cast<ssize_t>(header.size()) || !stated ||
      std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) {
    return false;
  }
  const std::uint32_t page_size_field = BigEndian(&header[16], 2);
  const std::uint64_t page_size = page_size_field == 1 ? 65536 : page_size_field;
  const std::uint32_t change_counter = BigEndian(&header[24], 4);
  const std::uint32_t page_count = BigEndian(&header[28], 4);
  const std::uint32_t valid_for = BigEndian(&header[92], 4);
  // The recorded size counts only if written with the current change counter
  // (older writers did not keep it up to date).
  if (valid_for != change_counter || page_count == 0) {
    return true;
  }
  return static_cast<std::uint64_t>(st.st_size) >= page_size * page_count;
}

DirectoryLock::DirectoryLock(const std::string& db_path) {
  std::filesystem::path dir = std::filesystem::path(db_path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    return;
  }
  // flock() locks are separate from the fcntl() locks SQLite takes on the
  // files, so this cannot disturb SQLite's own locking.
  // Bounded: a node paused (SIGSTOP) while holding it must not stall the
  // writers of every other node of this machine.
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      locked_ = true;
      return;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return;
    }
    usleep(10'000);
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) {
    close(fd_);  // Releases the lock.
  }
}

}  // namespace tenure::store
