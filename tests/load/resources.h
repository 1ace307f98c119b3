// What a process costs, read from /proc: for resource bounds in tests.
#pragma once

#include <cstdint>

#include <sys/types.h>

namespace tenure::testing {

// Resident set size in KiB; 0 if the process is gone.
std::uint64_t RssKib(pid_t pid);

}  // namespace tenure::testing
