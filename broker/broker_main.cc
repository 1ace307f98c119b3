// broker: the ZeroMQ fabric of a tenure cluster.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "tenure/base/duration.h"
#include "tenure/base/signals.h"
#include "tenure/config/config.h"
#include "tenure/log/log.h"

#include "broker.h"

int main(int argc, char** argv) {
  tenure::broker::BrokerConfig config;
  std::string lease = "2000";
  std::string log_level = "info";
  CLI::App app("tenure broker: routes requests between clients and worker nodes", "broker");
  app.option_defaults()->always_capture_default();
  app.add_option("--router", config.router, "ROUTER endpoint to bind")
      ->check(tenure::config::EndpointValidator());
  app.add_option("--pub", config.pub, "PUB endpoint to bind (news)")
      ->check(tenure::config::EndpointValidator());
  app.add_option("--voters", config.voters, "Voting node ids, comma separated")
      ->delimiter(',')
      ->check(tenure::config::NodeIdValidator());
  app.add_option("--lease", lease, "Session lease (ms, or with a unit: 2s)");
  app.add_option("--fault-file", config.fault_file,
                 "TESTS ONLY: a file of 'isolate NODE' lines, re-read every tick, that drops "
                 "lock traffic across the partition");
  app.add_option("--log-level", log_level, "Log level")
      ->check(CLI::IsMember(tenure::log::LevelNames()));
  tenure::config::AddConfigFile(app, "broker");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (tenure::Status s = tenure::config::ValidateVoters(config.voters); !s.ok()) {
    std::fprintf(stderr, "broker: %s\n", s.message().c_str());
    return 2;
  }
  tenure::Result<tenure::Duration> parsed_lease = tenure::ParseDuration(lease);
  if (!parsed_lease.ok() || *parsed_lease < std::chrono::milliseconds(100)) {
    std::fprintf(
        stderr, "broker: --lease: %s\n",
        parsed_lease.ok() ? "must be at least 100 ms" : parsed_lease.status().message().c_str());
    return 2;
  }
  config.lease = *parsed_lease;
  tenure::log::Setup("broker", log_level);
  tenure::InstallStopSignalHandlers();
  try {
    tenure::Status s = tenure::broker::RunBroker(config);
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  } catch (const std::exception& e) {
    spdlog::critical("unexpected error: {}", e.what());
    return 1;
  }
  return 0;
}
