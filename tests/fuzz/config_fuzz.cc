// Fuzz target for the config file parser (tenure/config/config.h).
//
// The input is the text of a --config file. One file serves every executable
// (top-level keys plus a section each), so each input is parsed twice: with
// the options of broker and with those of worker_node, declared as their
// main()s declare them (keep the two in step with broker/broker_main.cc and
// worker_node/node_main.cc). Then the checks those main()s run after parsing
// are run too.
//
// Checks:
//   1. A bad file is reported as CLI::ParseError, which the main()s turn into
//      a usage message; any other exception would end the process unexplained.
//   2. A file that parses leaves only values that pass the options' validators:
//      the file is not a way around them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tenure/base/check.h"
#include "tenure/base/duration.h"
#include "tenure/base/ids.h"
#include "tenure/config/config.h"
#include "tenure/log/log.h"

namespace {

using tenure::config::EndpointValidator;
using tenure::config::NodeIdValidator;

// What broker_main.cc and node_main.cc parse into, with their defaults.
struct Options {
  std::string id;
  std::string router = "tcp://127.0.0.1:5555";
  std::string broker = "tcp://127.0.0.1:5555";
  std::string pub = "tcp://127.0.0.1:5556";
  std::string db = "tenure.db";
  std::vector<std::string> voters;
  std::string idle = "10m";
  std::string lease = "2000";
  std::string sync = "full";
  std::size_t mailbox = 1024;
  std::string fault_file;
  std::string log_level = "info";
};

void DeclareBroker(CLI::App& app, Options& o) {
  app.option_defaults()->always_capture_default();
  app.add_option("--router", o.router)->check(EndpointValidator());
  app.add_option("--pub", o.pub)->check(EndpointValidator());
  app.add_option("--voters", o.voters)->delimiter(',')->check(NodeIdValidator());
  app.add_option("--lease", o.lease);
  app.add_option("--fault-file", o.fault_file);
  app.add_option("--log-level", o.log_level)->check(CLI::IsMember(tenure::log::LevelNames()));
  tenure::config::AddConfigFile(app, "broker");
}

void DeclareWorkerNode(CLI::App& app, Options& o) {
  app.option_defaults()->always_capture_default();
  app.add_option("--id", o.id)->required()->check(NodeIdValidator());
  app.add_option("--broker", o.broker)->check(EndpointValidator());
  app.add_option("--pub", o.pub)->check(EndpointValidator());
  app.add_option("--db", o.db);
  app.add_option("--voters", o.voters)->delimiter(',')->check(NodeIdValidator());
  app.add_option("--idle", o.idle);
  app.add_option("--lease", o.lease);
  app.add_option("--sync", o.sync)->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--mailbox", o.mailbox)->check(CLI::Range(1, 1 << 20));
  app.add_option("--log-level", o.log_level)->check(CLI::IsMember(tenure::log::LevelNames()));
  tenure::config::AddConfigFile(app, "worker_node");
}

bool IsEndpoint(const std::string& endpoint) {
  return tenure::config::ValidateEndpoint(endpoint).ok();
}

// Check (2), for the options both executables have.
void CheckCommon(const Options& o) {
  TENURE_CHECK(IsEndpoint(o.pub));
  for (const std::string& voter : o.voters) {
    TENURE_CHECK(tenure::ValidateNodeId(voter).ok());
  }
  const std::vector<std::string>& levels = tenure::log::LevelNames();
  TENURE_CHECK(std::find(levels.begin(), levels.end(), o.log_level) != levels.end());
  // What the main()s do next; their outcome is the user's business.
  (void)tenure::config::ValidateVoters(o.voters);
  (void)tenure::ParseDuration(o.lease);
}

// Parses `text` as `executable` would; false if it refuses the file.
bool Parse(const std::string& text, const std::string& executable,
           void (*declare)(CLI::App&, Options&), Options& o) {
  CLI::App app("fuzz", executable);
  declare(app, o);
  try {
    tenure::config::ParseConfigText(app, text);
  } catch (const CLI::ParseError&) {  // Check (1): nothing else may escape.
    return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Options broker;
  if (Parse(text, "broker", &DeclareBroker, broker)) {
    TENURE_CHECK(IsEndpoint(broker.router));
    CheckCommon(broker);
  }
  Options node;
  if (Parse(text, "worker_node", &DeclareWorkerNode, node)) {
    TENURE_CHECK(tenure::ValidateNodeId(node.id).ok());
    TENURE_CHECK(IsEndpoint(node.broker));
    TENURE_CHECK(node.sync == "full" || node.sync == "normal");
    TENURE_CHECK(node.mailbox >= 1);
    TENURE_CHECK(node.mailbox <= std::size_t{1} << 20);
    CheckCommon(node);
    (void)tenure::ParseDuration(node.idle);
  }
  return 0;
}
