// Helpers shared by the store tests: temp directories, raw file bytes, and a
// second, independent SQLite connection to look at what a store committed.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tenure/store/store.h"

#include <stdlib.h>  // mkdtemp

namespace tenure::store::testing {

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tenure-store-XXXXXX").string();
    const char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed";
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs `sql` on its own connection to `path` and returns each row as its
// columns joined by '|' (NULL as "NULL"). Any error fails the test.
inline std::vector<std::string> RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "prepare " << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) {
        row += '|';
      }
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row +=
          text == nullptr ? std::string("NULL") : std::string(reinterpret_cast<const char*>(text));
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    ADD_FAILURE() << "step " << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

inline std::unique_ptr<Store> MustOpen(const std::string& path) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(SqliteOptions{.path = path});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) {
    return nullptr;
  }
  return std::move(store).value();
}

inline StoreResult ApplyOne(Store& store, StoreOp op) {
  std::vector<StoreOp> ops;
  ops.push_back(std::move(op));
  std::vector<StoreResult> results = store.Apply(ops);
  EXPECT_EQ(results.size(), 1u);
  return results.empty() ? StoreResult{} : std::move(results[0]);
}

}  // namespace tenure::store::testing
