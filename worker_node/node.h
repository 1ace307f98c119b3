// Node: the worker_node shell. One event loop thread owns the DEALER socket to
// the broker, the SUB socket for news, and the entity Runtime; the store lives
// on the BatchWriter's thread and reports back through an eventfd. Effects of
// the runtime are carried out in order: store calls, then replies and events.
// A store fault (disk full, database read-only or deleted) fails only the
// batches it meets; when the store reopens its database, the runtime drops
// every cache and the ops prepared from the old one are refused.
#pragma once

#include <string>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/time.h"
#include "tenure/store/store.h"

namespace tenure::node {

struct NodeConfig {
  std::string id;
  std::string broker = "tcp://127.0.0.1:5555";
  std::string pub = "tcp://127.0.0.1:5556";
  std::string db = "tenure.db";
  std::vector<std::string> voters;  // Empty means this node alone.
  Duration idle = std::chrono::minutes(10);
  Duration lease = std::chrono::milliseconds(2000);
  Duration drain_max = std::chrono::seconds(10);  // Graceful stop gives up after this.
  store::SyncMode sync = store::SyncMode::kFull;
  std::size_t mailbox_depth_max = 1024;
};

// Serves until SIGTERM/SIGINT, then drains (finishes in-flight writes, closes
// every tenure) and returns OK. Errors: the store cannot be opened, or a
// socket cannot connect.
Status RunNode(const NodeConfig& config);

}  // namespace tenure::node
