// Partition: a test-only fault of the broker (--fault-file), off unless the
// flag is given. It drops lock-protocol traffic (heartbeats to voters and lock
// messages) between isolated node ids and the rest, as a network partition
// would; client requests and broker heartbeats still pass, so tests can watch
// an isolated node refuse to serve.
//
// The file holds one directive per line: `isolate NODE` puts NODE on the
// minority side (the witness voter stays on the majority side); blank lines
// and lines starting with '#' are ignored. An empty file heals everything.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "tenure/base/status.h"

namespace tenure::broker {

class Partition {
 public:
  // Replaces the directives with those in `text`. On error nothing changes.
  Status Load(std::string_view text);
  // True when traffic from `from` to `to` must be dropped.
  bool Blocks(const std::string& from, const std::string& to) const;
  bool empty() const { return isolated_.empty(); }
  const std::set<std::string>& isolated() const { return isolated_; }

 private:
  std::set<std::string> isolated_;
};

}  // namespace tenure::broker
