#include "tenure/base/signals.h"

#include <csignal>

namespace tenure {
namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void OnStopSignal(int /*signo*/) { g_stop = 1; }

}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // No SA_RESTART: a blocked poll must return.
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

bool StopRequested() { return g_stop != 0; }

}  // namespace tenure
