// history_check: checks recorded JSON-lines histories for linearizability.
//
//   history_check [--max-states N] FILE...
//
// Exit status: 0 every file is linearizable; 1 some file is not; 2 otherwise
// (unreadable or malformed file, or a search that gave up undecided). A
// violation outranks a file that could not be checked, so scripts that look
// for 1 never miss one.
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "history/history.h"

namespace {

constexpr int kExitLinearizable = 0;
constexpr int kExitViolation = 1;
constexpr int kExitCannotTell = 2;

constexpr const char* kUsage = "usage: history_check [--max-states N] FILE...\n";

std::string Indent(const std::string& text) {
  std::string out = "  ";
  for (char c : text) {
    out += c;
    if (c == '\n') {
      out += "  ";
    }
  }
  return out;
}

// Prints the verdict on one file and returns its exit status.
int CheckFile(const std::string& path, const tenure::history::CheckOptions& options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cout << path << ": cannot read the file\n";
    return kExitCannotTell;
  }
  std::ostringstream text;
  text << file.rdbuf();
  std::string error;
  const auto history = tenure::history::FromJsonLines(text.str(), &error);
  if (!history) {
    std::cout << path << ": bad input: " << error << "\n";
    return kExitCannotTell;
  }
  const auto start = std::chrono::steady_clock::now();
  const tenure::history::CheckResult result = tenure::history::CheckHistory(*history, options);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  const std::string counts = std::to_string(result.operations) + " operations, " +
                             std::to_string(result.entities) + " entities, checked in " +
                             std::to_string(took.count()) + " s";
  if (result.linearizable) {
    std::cout << path << ": linearizable (" << counts << ")\n";
    return kExitLinearizable;
  }
  std::cout << path << (result.decided ? ": NOT linearizable (" : ": undecided (") << counts
            << ")\n"
            << Indent(result.explanation) << "\n";
  return result.decided ? kExitViolation : kExitCannotTell;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tenure::history::CheckOptions options;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return kExitLinearizable;
      }
      if (arg == "--max-states" && i + 1 < argc) {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(argv[++i], &end, 10);
        if (*end != '\0' || n == 0) {
          std::cerr << "history_check: --max-states wants a positive integer\n" << kUsage;
          return kExitCannotTell;
        }
        options.max_states = n;
        continue;
      }
      if (arg.starts_with("-")) {
        std::cerr << "history_check: unknown option " << arg << "\n" << kUsage;
        return kExitCannotTell;
      }
      paths.push_back(arg);
    }
    if (paths.empty()) {
      std::cerr << kUsage;
      return kExitCannotTell;
    }
    int status = kExitLinearizable;
    for (const std::string& path : paths) {
      const int file_status = CheckFile(path, options);
      if (file_status == kExitViolation || status == kExitLinearizable) {
        status = file_status;
      } else if (file_status == kExitCannotTell && status != kExitViolation) {
        status = kExitCannotTell;
      }
    }
    return status;
  } catch (const std::exception& e) {
    std::cerr << "history_check: unexpected error: " << e.what() << "\n";
    return kExitCannotTell;
  }
}
