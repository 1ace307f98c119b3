// Logging set-up for the executables: spdlog to stderr, one line per event,
// with the process name, so the logs of a local cluster can be interleaved.
#pragma once

#include <string>
#include <vector>

#include "tenure/base/status.h"

namespace tenure::log {

// The names --log-level accepts, most verbose first.
const std::vector<std::string>& LevelNames();

// Installs the default logger. REQUIRES: `level` is one of LevelNames().
void Setup(const std::string& process_name, const std::string& level);

}  // namespace tenure::log
