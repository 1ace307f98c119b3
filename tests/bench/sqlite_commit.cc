// sqlite_commit: the raw SQLite group-commit baseline of tenure's durable write path.
//
// Runs the SQL that SqliteStore::Apply() runs for a batch of `set`s (WriteOp) or of
// activations of existing entities (ActivateOp): the schema from tenure's own
// migrations, the same open flags and pragmas, the store's own statement texts
// (prepared once), one BEGIN IMMEDIATE ... COMMIT per batch and a savepoint per op.
// None of tenure's logic runs: no BatchWriter queue or thread, no file checks
// around the batch, no result objects. The gap between these figures and the
// node's is what tenure itself costs. Single-threaded.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <sqlite3.h>

#include "tenure/base/check.h"
#include "tenure/base/status.h"
#include "tenure/store/migrations.h"
#include "tenure/store/sqlite_store.h"
#include "tenure/store/store.h"

#include "sqlite_store_impl.h"

namespace tenure::bench {
namespace {

using store::SqliteConnection;
using store::SqliteStatement;
// The store's statement table itself, not a copy: the baseline cannot drift from
// the SQL tenure runs.
using store::internal::kSqlText;
using store::internal::Param;
using store::internal::Sql;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kNode = "bench-node";

struct Figures {
  double rows_per_s = 0;
  double tx_per_s = 0;
  std::int64_t p50_us = 0;
  std::int64_t p99_us = 0;
};

// Nearest-rank percentile `q` of `sorted` (ascending, not empty), in microseconds.
std::int64_t PercentileUs(const std::vector<Clock::duration>& sorted, double q) {
  TENURE_CHECK(!sorted.empty());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  const Clock::duration at = sorted[std::min(rank, sorted.size() - 1)];
  return std::chrono::duration_cast<std::chrono::microseconds>(at).count();
}

// One connection with the store's statements prepared on it, and the rows it
// writes round robin.
class Bench {
 public:
  // Opens `path` as SqliteStore::Connect() does: busy_timeout, WAL, synchronous,
  // then the migrations.
  static Result<Bench> Open(const std::string& path, store::SyncMode sync) {
    Result<SqliteConnection> db = SqliteConnection::Open(
        path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_CREATE);
    if (!db.ok()) {
      return db.status();
    }
    Bench bench(std::move(db).value());
    SqliteConnection& c = bench.db_;
    const int rc = sqlite3_busy_timeout(c.get(), store::SqliteOptions{}.busy_timeout_ms);
    if (rc != SQLITE_OK) {
      return c.Error("busy_timeout", rc);
    }
    // A file system without WAL support would silently measure another journal.
    Result<SqliteStatement> wal = c.Prepare("PRAGMA journal_mode = WAL");
    Result<bool> has_row = wal.ok() ? wal->Step() : Result<bool>(wal.status());
    if (!has_row.ok()) {
      return has_row.status();
    }
    if (!*has_row || wal->ColumnText(0) != "wal") {
      return Status::StorageError("cannot set WAL mode on '" + path + "'");
    }
    wal->Reset();
    if (Status s = c.Exec(sync == store::SyncMode::kFull ? "PRAGMA synchronous = FULL"
                                                         : "PRAGMA synchronous = NORMAL");
        !s.ok()) {
      return s;
    }
    if (Status s = store::ApplyMigrations(c, store::EmbeddedMigrations()); !s.ok()) {
      return s;
    }
    for (const std::string_view text : kSqlText) {
      Result<SqliteStatement> statement = c.Prepare(text);
      if (!statement.ok()) {
        return statement.status();
      }
      bench.statements_.push_back(std::move(statement).value());
    }
    return bench;
  }

  // Inserts `rows` entities as a create leaves them: version 1, owned at epoch 1
  // by kNode, with that tenure open (activations close it).
  Status Populate(std::size_t rows) {
    TENURE_CHECK(ids_.empty());
    if (Status s = Execute(store::internal::kBegin, {}).status(); !s.ok()) {
      return s;
    }
    for (std::size_t i = 0; i < rows; ++i) {
      ids_.push_back("entity-" + std::to_string(i));
      versions_.push_back(1);
      epochs_.push_back(1);
      const std::string& id = ids_.back();
      if (Status s =
              Execute(store::internal::kInsertEntity, {id, "initialized", kNode, 1}).status();
          !s.ok()) {
        return s;
      }
      if (Status s = Execute(store::internal::kOpenTenure, {id, kNode, 1}).status(); !s.ok()) {
        return s;
      }
    }
    return Execute(store::internal::kCommit, {}).status();
  }

  // Commits transactions of `batch` ops on distinct rows for `length`.
  // REQUIRES: 0 < batch <= the number of rows.
  Result<Figures> Run(bool activate, std::size_t batch, std::chrono::duration<double> length) {
    TENURE_CHECK(batch > 0);
    TENURE_CHECK(batch <= ids_.size());
    std::vector<Clock::duration> latencies;
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + std::chrono::duration_cast<Clock::duration>(length);
    Clock::time_point end = start;
    while (end < deadline) {
      const Clock::time_point begun = Clock::now();
      if (Status s = Transaction(activate, batch); !s.ok()) {
        return s;
      }
      end = Clock::now();
      latencies.push_back(end - begun);
    }
    std::sort(latencies.begin(), latencies.end());
    const double seconds = std::chrono::duration<double>(end - start).count();
    const auto tx = static_cast<double>(latencies.size());
    return Figures{tx * static_cast<double>(batch) / seconds, tx / seconds,
                   PercentileUs(latencies, 0.50), PercentileUs(latencies, 0.99)};
  }

 private:
  explicit Bench(SqliteConnection db) : db_(std::move(db)) {}

  // One batch as SqliteStore::Apply() runs it.
  Status Transaction(bool activate, std::size_t batch) {
    if (Status s = Execute(store::internal::kBegin, {}).status(); !s.ok()) {
      return s;
    }
    for (std::size_t i = 0; i < batch; ++i) {
      const std::size_t row = next_;
      next_ = (next_ + 1) % ids_.size();
      if (Status s = Execute(store::internal::kSavepoint, {}).status(); !s.ok()) {
        return s;
      }
      if (Status s = activate ? Activate(row) : Set(row); !s.ok()) {
        return s;
      }
      if (Status s = Execute(store::internal::kRelease, {}).status(); !s.ok()) {
        return s;
      }
    }
    return Execute(store::internal::kCommit, {}).status();
  }

  // SqliteStore::Do(const WriteOp&) when the fence holds.
  Status Set(std::size_t row) {
    Result<int> written = Execute(store::internal::kWriteEntity,
                                  {ids_[row], "working", epochs_[row], versions_[row]});
    if (!written.ok()) {
      return written.status();
    }
    TENURE_CHECK(*written == 1);  // Nothing else writes: the fence always holds.
    ++versions_[row];
    return Status::Ok();
  }

  // SqliteStore::Do(const ActivateOp&) for an existing entity.
  Status Activate(std::size_t row) {
    const std::string& id = ids_[row];
    Result<std::int64_t> epoch = QueryInt(store::internal::kNextEpoch, {id});
    if (!epoch.ok()) {
      return epoch.status();
    }
    TENURE_CHECK(*epoch == epochs_[row] + 1);
    Result<int> activated = Execute(store::internal::kActivateEntity, {id, kNode, *epoch});
    if (!activated.ok()) {
      return activated.status();
    }
    TENURE_CHECK(*activated == 1);  // The entity exists.
    if (Status s = Execute(store::internal::kCloseOpenTenures, {id}).status(); !s.ok()) {
      return s;
    }
    if (Status s = Execute(store::internal::kOpenTenure, {id, kNode, *epoch}).status(); !s.ok()) {
      return s;
    }
    epochs_[row] = *epoch;
    return Status::Ok();
  }

  Status Bind(SqliteStatement& statement, std::initializer_list<Param> params) {
    int index = 0;
    for (const Param& param : params) {
      ++index;
      Status s = std::holds_alternative<std::int64_t>(param)
                     ? statement.BindInt64(index, std::get<std::int64_t>(param))
                     : statement.BindText(index, std::get<std::string_view>(param));
      if (!s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }

  // Runs `sql` to completion; the number of rows it yielded.
  Result<int> Execute(Sql sql, std::initializer_list<Param> params) {
    SqliteStatement& statement = statements_[sql];
    store::ScopedReset reset(statement);
    if (Status s = Bind(statement, params); !s.ok()) {
      return s;
    }
    for (int rows = 0;; ++rows) {
      Result<bool> has_row = statement.Step();
      if (!has_row.ok()) {
        return has_row.status();
      }
      if (!*has_row) {
        return rows;
      }
    }
  }

  // Runs `sql`, which yields one integer.
  Result<std::int64_t> QueryInt(Sql sql, std::initializer_list<Param> params) {
    SqliteStatement& statement = statements_[sql];
    store::ScopedReset reset(statement);
    if (Status s = Bind(statement, params); !s.ok()) {
      return s;
    }
    Result<bool> has_row = statement.Step();
    if (!has_row.ok()) {
      return has_row.status();
    }
    TENURE_CHECK(*has_row);
    return statement.ColumnInt64(0);
  }

  SqliteConnection db_;                      // Declared before statements_: outlives them.
  std::vector<SqliteStatement> statements_;  // Indexed by Sql.
  std::vector<std::string> ids_;
  std::vector<std::int64_t> versions_;  // Each row's version now.
  std::vector<std::int64_t> epochs_;    // Each row's owner_epoch now.
  std::size_t next_ = 0;                // The next row, round robin.
};

struct Options {
  std::string mode = "set";
  std::string sync = "full";
  std::size_t rows = 10000;
  std::vector<std::size_t> batches = {1, 8, 64, 256};
  double seconds = 3;
  std::string db;
  bool json = false;
};

int RunAll(const Options& options, const std::string& path) {
  const store::SyncMode sync =
      options.sync == "full" ? store::SyncMode::kFull : store::SyncMode::kNormal;
  Result<Bench> bench = Bench::Open(path, sync);
  Status s = bench.ok() ? bench->Populate(options.rows) : bench.status();
  if (!s.ok()) {
    std::fprintf(stderr, "sqlite_commit: %s\n", s.message().c_str());
    return 1;
  }
  if (!options.json) {
    std::printf("%-8s %-6s %6s %12s %10s %9s %9s\n", "mode", "sync", "batch", "rows/s", "tx/s",
                "p50_us", "p99_us");
  }
  for (const std::size_t batch : options.batches) {
    Result<Figures> f = bench->Run(options.mode == "activate", batch,
                                   std::chrono::duration<double>(options.seconds));
    if (!f.ok()) {
      std::fprintf(stderr, "sqlite_commit: %s\n", f.status().message().c_str());
      return 1;
    }
    const long long p50_us = f->p50_us;
    const long long p99_us = f->p99_us;
    if (options.json) {
      std::printf(
          "{\"mode\":\"%s\",\"sync\":\"%s\",\"batch\":%zu,\"rows_per_s\":%.1f,"
          "\"tx_per_s\":%.1f,\"p50_us\":%lld,\"p99_us\":%lld}\n",
          options.mode.c_str(), options.sync.c_str(), batch, f->rows_per_s, f->tx_per_s, p50_us,
          p99_us);
    } else {
      std::printf("%-8s %-6s %6zu %12.1f %10.1f %9lld %9lld\n", options.mode.c_str(),
                  options.sync.c_str(), batch, f->rows_per_s, f->tx_per_s, p50_us, p99_us);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace tenure::bench

int main(int argc, char** argv) {
  tenure::bench::Options options;
  CLI::App app("Raw SQLite group-commit baseline of tenure's store writes", "sqlite_commit");
  app.option_defaults()->always_capture_default();
  app.add_option("--mode", options.mode, "Op per row: set (fenced write) or activate")
      ->check(CLI::IsMember({"set", "activate"}));
  app.add_option("--sync", options.sync, "PRAGMA synchronous")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--rows", options.rows, "Entities inserted before the runs")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  app.add_option("--batches", options.batches, "Ops per transaction, one run each")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--seconds", options.seconds, "Length of each run")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--db", options.db, "Database file to create (default: in a fresh temp dir)");
  app.add_flag("--json", options.json, "One JSON object per run and line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Distinct rows per transaction, as a batch of different entities has.
  const std::size_t batch_max = *std::max_element(options.batches.begin(), options.batches.end());
  if (batch_max > options.rows) {
    std::fprintf(stderr, "sqlite_commit: --rows (%zu) must be at least the largest batch (%zu)\n",
                 options.rows, batch_max);
    return 2;
  }
  namespace fs = std::filesystem;
  std::error_code error;
  if (!options.db.empty()) {
    // A baseline starts from the same empty database every time.
    if (fs::exists(options.db, error)) {
      std::fprintf(stderr, "sqlite_commit: --db %s exists; give a path to create\n",
                   options.db.c_str());
      return 2;
    }
    return tenure::bench::RunAll(options, options.db);
  }
  std::string dir = (fs::temp_directory_path(error) / "sqlite_commit.XXXXXX").string();
  if (error || mkdtemp(dir.data()) == nullptr) {
    std::fprintf(stderr, "sqlite_commit: cannot create a temp dir\n");
    return 1;
  }
  const int rc = tenure::bench::RunAll(options, dir + "/bench.db");
  fs::remove_all(dir, error);
  return rc;
}
