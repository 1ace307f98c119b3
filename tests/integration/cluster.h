// A local tenure cluster for integration tests: a broker and worker nodes
// started from the build, talking over ipc:// sockets in a temp directory and
// sharing one SQLite file there, as nodes on one machine do.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/process.h"

namespace tenure::testing {

struct ClusterOptions {
  std::vector<std::string> voters;  // Empty: every node votes for itself alone.
  int lease_ms = 2000;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});

  std::string router() const { return "ipc://" + dir_.path() + "/router"; }
  std::string pub() const { return "ipc://" + dir_.path() + "/pub"; }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string db(const std::string& /*node*/ = {}) const { return path("tenure.db"); }

  // Starts the broker and waits for its ready line.
  Process& StartBroker(std::vector<std::string> extra = {});
  // Starts a node on db(id) and waits until the broker lists it alive.
  Process& StartNode(const std::string& id, std::vector<std::string> extra = {});
  Process& broker() { return *broker_; }
  Process& node(const std::string& id) { return *nodes_.at(id); }
  void ForgetNode(const std::string& id) { nodes_.erase(id); }
  void ForgetBroker() { broker_.reset(); }

  // Runs the client binary against this cluster's broker.
  CommandResult Client(std::vector<std::string> args, const std::string& input = {}) const;
  // Runs the client with --json and parses its one line of output.
  nlohmann::json ClientJson(std::vector<std::string> args) const;

  bool NodeAlive(const std::string& id) const;
  // Stops a process the test started: SIGKILL (crash) or SIGTERM (graceful).
  int Kill(Process& p, int signo);
  const ClusterOptions& options() const { return options_; }
  milliseconds lease() const { return milliseconds(options_.lease_ms); }

 private:
  std::vector<std::string> CommonFlags() const;

  const ClusterOptions options_;
  TempDir dir_;
  std::unique_ptr<Process> broker_;
  std::map<std::string, std::unique_ptr<Process>> nodes_;
};

// Rows of a SQLite query, each column as text ("NULL" for NULL), for comparing
// a database before and after.
std::vector<std::vector<std::string>> Query(const std::string& db_path, const std::string& sql);
// The whole content of both tables, to show that nothing changed.
std::string Dump(const std::string& db_path);

}  // namespace tenure::testing
