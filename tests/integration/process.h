// Child processes for integration tests: started from the build's bin/, their
// output captured in files, waited for with deadlines and stopped by PID.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace tenure::testing {

using std::chrono::milliseconds;

// The directory of broker, worker_node and client in this build.
std::string BinDir();

// How to start a child, beyond its argv.
struct SpawnOptions {
  std::vector<std::string> env;  // "NAME=value" entries added to this process's environment.
  // Run as this user and group, without supplementary groups (needs root).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

class Process {
 public:
  // Starts `argv` with stdout and stderr appended to `log_path`.
  Process(std::vector<std::string> argv, std::string log_path, SpawnOptions options = {});
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  // Kills (SIGKILL) and reaps the process if it still runs.
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signo) const;
  // The exit status (exit code, or 128 + signal), or -1 if it still runs at the deadline.
  int Wait(milliseconds timeout);
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

struct CommandResult {
  int exit = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to completion with `input` on stdin; kills it after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = {},
                         milliseconds timeout = milliseconds(20000));

// Sets the soft RLIMIT_FSIZE of a running process; nullopt lifts it. False if
// the OS refused.
bool SetFileSizeLimit(pid_t pid, std::optional<std::uint64_t> bytes);

// Lets `duration` pass: for faults that last a given time (a process paused for
// two leases), never to wait for an event.
void Hold(milliseconds duration);

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, milliseconds timeout);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

}  // namespace tenure::testing
