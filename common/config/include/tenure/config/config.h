// Configuration: a TOML file under --config, overridden by flags.
//
// Every executable declares its options with CLI11 once. AddConfigFile() adds
// --config FILE: keys at the top level of the file and in the table named after
// the executable ([broker], [worker_node], [client]) set the option with the
// same long name, unless the command line gave it; a key in the executable's
// table wins over the same key at the top level. Unknown keys and unknown
// tables are errors, so a typo in a config file is caught at start, not ignored.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tenure/base/status.h"

namespace tenure::config {

// Adds --config to `app`, reading keys from the top level and from [section].
void AddConfigFile(CLI::App& app, const std::string& section);

// Parses `text` as the --config file of `app` (set up by AddConfigFile) is
// parsed, then runs the checks App::parse runs, as if no flag was given.
// Throws CLI::ParseError as App::parse does. The executables read files; this
// is for tests and the fuzz target.
void ParseConfigText(CLI::App& app, const std::string& text);

// OK for tcp://host:port, tcp://host:* , ipc://path and inproc://name.
Status ValidateEndpoint(const std::string& endpoint);
// Each voter is a valid node id, listed once.
Status ValidateVoters(const std::vector<std::string>& voters);

// CLI11 validators built on the two checks above.
CLI::Validator EndpointValidator();
CLI::Validator NodeIdValidator();

}  // namespace tenure::config
