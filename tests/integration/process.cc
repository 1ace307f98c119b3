#include "integration/process.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tenure::testing {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path, const std::string& in_path,
            const SpawnOptions& options = {}) {
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  // Built before fork(): the child only calls async-signal-safe functions.
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    // getenv() returns the first match: an overridden name must go.
    const bool overridden = std::any_of(options.env.begin(), options.env.end(), [&](auto& o) {
      return entry.substr(0, entry.find('=') + 1) == o.substr(0, o.find('=') + 1);
    });
    if (!overridden) {
      env.push_back(*e);
    }
  }
  for (const std::string& e : options.env) {
    env.push_back(const_cast<char*>(e.c_str()));
  }
  env.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    const int in = open(in_path.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err =
        err_path == out_path ? out : open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0) {
      _exit(126);
    }
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    setpgid(0, 0);  // Its own group: a Ctrl-C at the terminal reaches the test only.
    // Group first: without root, setgid() would no longer be allowed.
    if (options.gid && (setgroups(0, nullptr) != 0 || setgid(*options.gid) != 0)) {
      _exit(125);
    }
    if (options.uid && setuid(*options.uid) != 0) {
      _exit(125);
    }
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

std::string BinDir() { return TENURE_BIN_DIR; }

Process::Process(std::vector<std::string> argv, std::string log_path, SpawnOptions options)
    : log_path_(std::move(log_path)) {
  pid_ = Spawn(argv, log_path_, log_path_, "", options);
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), status_(other.status_), log_path_(std::move(other.log_path_)) {
  other.pid_ = -1;
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

bool Process::running() {
  if (pid_ <= 0 || status_ != -1) {
    return false;
  }
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

void Process::Signal(int signo) const {
  if (pid_ > 0 && status_ == -1) {
    kill(pid_, signo);
  }
}

int Process::Wait(milliseconds timeout) {
  if (!WaitFor([this] { return !running(); }, timeout)) {
    return -1;
  }
  return DecodeStatus(status_);
}

std::string Process::Log() const { return ReadFile(log_path_); }

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         milliseconds timeout) {
  static int counter = 0;
  TempDir dir;
  const std::string base = dir.path() + "/cmd" + std::to_string(++counter);
  std::string in_path;
  if (!input.empty()) {
    in_path = base + ".in";
    std::ofstream(in_path) << input;
  }
  const pid_t pid = Spawn(argv, base + ".out", base + ".err", in_path);
  int status = 0;
  const bool done = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  CommandResult result;
  result.exit = done ? DecodeStatus(status) : -1;
  result.out = ReadFile(base + ".out");
  result.err = ReadFile(base + ".err");
  return result;
}

bool SetFileSizeLimit(pid_t pid, std::optional<std::uint64_t> bytes) {
  struct rlimit limit {};
  if (prlimit(pid, RLIMIT_FSIZE, nullptr, &limit) != 0) {
    return false;
  }
  limit.rlim_cur = bytes ? std::min<rlim_t>(*bytes, limit.rlim_max) : limit.rlim_max;
  return prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

void Hold(milliseconds duration) { std::this_thread::sleep_for(duration); }

bool WaitFor(const std::function<bool()>& condition, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    // Polling with a deadline: the events awaited (process exit, a node being
    // listed) have no file descriptor to block on.
    std::this_thread::sleep_for(milliseconds(5));
  }
}

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/tenure-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace tenure::testing
