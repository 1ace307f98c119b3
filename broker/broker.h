// Broker: the fabric's shell. Owns the ROUTER and PUB sockets, decodes frames,
// feeds RouterCore, and forwards requests, replies and news. Bad frames are
// counted and dropped; they never stop the loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/time.h"

namespace tenure::broker {

struct BrokerConfig {
  std::string router = "tcp://127.0.0.1:5555";
  std::string pub = "tcp://127.0.0.1:5556";
  std::vector<std::string> voters;
  Duration lease = std::chrono::milliseconds(2000);
  std::string fault_file;  // Test only: see partition.h. Empty = no faults.
};

// Binds, prints "broker ready router=<endpoint> pub=<endpoint>" on stdout, and
// serves until SIGTERM/SIGINT. Returns an error if it cannot bind.
Status RunBroker(const BrokerConfig& config);

}  // namespace tenure::broker
