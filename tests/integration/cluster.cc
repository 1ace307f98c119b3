#include "integration/cluster.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace tenure::testing {

namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ",") + item;
  }
  return out;
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {}

int Cluster::Kill(Process& p, int signo) {
  p.Signal(signo);
  return p.Wait(milliseconds(15000));
}

std::vector<std::string> Cluster::CommonFlags() const {
  std::vector<std::string> flags = {"--log-level", "debug", "--lease",
                                    std::to_string(options_.lease_ms)};
  if (!options_.voters.empty()) {
    flags.insert(flags.end(), {"--voters", Join(options_.voters)});
  }
  return flags;
}

Process& Cluster::StartBroker(std::vector<std::string> extra) {
  std::vector<std::string> argv = {BinDir() + "/broker", "--router", router(), "--pub", pub()};
  for (const std::string& flag : CommonFlags()) {
    argv.push_back(flag);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  broker_ = std::make_unique<Process>(argv, path("broker.log"));
  const bool ready = WaitFor(
      [&] {
        return broker_->Log().find("broker ready") != std::string::npos || !broker_->running();
      },
      milliseconds(10000));
  EXPECT_TRUE(ready && broker_->running()) << broker_->Log();
  return *broker_;
}

Process& Cluster::StartNode(const std::string& id, std::vector<std::string> extra) {
  std::vector<std::string> argv = {
      BinDir() + "/worker_node", "--id", id, "--broker", router(), "--pub", pub(), "--db", db(id)};
  for (const std::string& flag : CommonFlags()) {
    argv.push_back(flag);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  nodes_.erase(id);  // A previous process of this id has been stopped by the test.
  auto process = std::make_unique<Process>(argv, path(id + ".log"));
  Process& p = *process;
  nodes_[id] = std::move(process);
  const bool up = WaitFor([&] { return !p.running() || NodeAlive(id); }, milliseconds(10000));
  EXPECT_TRUE(up && p.running()) << p.Log();
  return p;
}

CommandResult Cluster::Client(std::vector<std::string> args, const std::string& input) const {
  std::vector<std::string> argv = {BinDir() + "/client", "--broker", router(), "--timeout", "5000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, input);
}

nlohmann::json Cluster::ClientJson(std::vector<std::string> args) const {
  args.insert(args.begin(), "--json");
  CommandResult r = Client(args);
  nlohmann::json parsed = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << r.out << r.err;
  if (parsed.is_object()) {
    parsed["_exit"] = r.exit;
  }
  return parsed;
}

bool Cluster::NodeAlive(const std::string& id) const {
  CommandResult r = RunCommand(
      {BinDir() + "/client", "--broker", router(), "--timeout", "500", "--json", "nodes"});
  if (r.exit != 0) {
    return false;
  }
  nlohmann::json parsed = nlohmann::json::parse(r.out, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("nodes")) {
    return false;
  }
  for (const auto& n : parsed["nodes"]) {
    if (n.value("id", "") == id && n.value("alive", false)) {
      return true;
    }
  }
  return false;
}

std::vector<std::vector<std::string>> Query(const std::string& db_path, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db_path;
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        row.emplace_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
      }
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

std::string Dump(const std::string& db_path) {
  std::string out;
  for (const char* sql :
       {"SELECT * FROM entities ORDER BY id", "SELECT * FROM ownership ORDER BY id, epoch"}) {
    for (const auto& row : Query(db_path, sql)) {
      for (const std::string& col : row) {
        out += col + "|";
      }
      out += "\n";
    }
    out += "--\n";
  }
  return out;
}

}  // namespace tenure::testing
