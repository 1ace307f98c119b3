// The `client` command line: parsing, execution through the client library,
// and output (human text, or JSON for scripts). Exit codes follow DESIGN §6.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tenure::cli {

// Runs one invocation. `args` excludes the program name. Output goes to
// `out`, diagnostics to `err`, `shell` reads lines from `in`.
int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err);

}  // namespace tenure::cli
