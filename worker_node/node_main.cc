// worker_node: a member of a tenure cluster; runs the entity workers it owns.
#include <csignal>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "tenure/base/duration.h"
#include "tenure/base/signals.h"
#include "tenure/config/config.h"
#include "tenure/log/log.h"

#include "node.h"

namespace {

int Usage(const std::string& what) {
  std::fprintf(stderr, "worker_node: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  tenure::node::NodeConfig config;
  std::string idle = "10m";
  std::string lease = "2000";
  std::string sync = "full";
  std::string log_level = "info";
  CLI::App app("tenure worker_node: owns entity workers and persists their state", "worker_node");
  app.option_defaults()->always_capture_default();
  app.add_option("--id", config.id, "This node's id (unique in the cluster)")
      ->required()
      ->check(tenure::config::NodeIdValidator());
  app.add_option("--broker", config.broker, "Broker ROUTER endpoint")
      ->check(tenure::config::EndpointValidator());
  app.add_option("--pub", config.pub, "Broker PUB endpoint (news)")
      ->check(tenure::config::EndpointValidator());
  app.add_option("--db", config.db, "SQLite database file");
  app.add_option("--voters", config.voters, "Voting node ids, comma separated")
      ->delimiter(',')
      ->check(tenure::config::NodeIdValidator());
  app.add_option("--idle", idle, "Passivate a worker unused this long (500ms, 30s, 10m)");
  app.add_option("--lease", lease, "Session lease (ms, or with a unit: 2s)");
  app.add_option("--sync", sync, "SQLite synchronous mode")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--mailbox", config.mailbox_depth_max, "Requests queued per entity")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--log-level", log_level, "Log level")
      ->check(CLI::IsMember(tenure::log::LevelNames()));
  tenure::config::AddConfigFile(app, "worker_node");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (tenure::Status s = tenure::config::ValidateVoters(config.voters); !s.ok()) {
    return Usage(s.message());
  }
  tenure::Result<tenure::Duration> parsed_idle = tenure::ParseDuration(idle);
  if (!parsed_idle.ok()) {
    return Usage("--idle: " + parsed_idle.status().message());
  }
  tenure::Result<tenure::Duration> parsed_lease = tenure::ParseDuration(lease);
  if (!parsed_lease.ok()) {
    return Usage("--lease: " + parsed_lease.status().message());
  }
  if (*parsed_lease < std::chrono::milliseconds(100)) {
    return Usage("--lease: at least 100 ms");
  }
  config.idle = *parsed_idle;
  config.lease = *parsed_lease;
  config.sync =
      sync == "normal" ? tenure::store::SyncMode::kNormal : tenure::store::SyncMode::kFull;

  tenure::log::Setup(config.id, log_level);
  tenure::InstallStopSignalHandlers();
  // A write beyond RLIMIT_FSIZE raises SIGXFSZ, whose default kills the
  // process. Ignored, the write fails with EFBIG instead: the store fails
  // that batch (disk full) and serves again once the limit is raised.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    tenure::Status s = tenure::node::RunNode(config);
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      return s.code() == tenure::ErrorCode::kBadRequest ? 2 : 1;
    }
  } catch (const std::exception& e) {
    spdlog::critical("unexpected error: {}", e.what());
    return 1;
  }
  return 0;
}
