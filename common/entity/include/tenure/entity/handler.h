// Handler: the application's logic inside an entity worker.
//
// The runtime calls it for every `set`, with the worker's cached entity. It may
// throw: the runtime catches the exception, answers that request with
// `unavailable`, and restarts the worker from the store. One entity's fault
// never takes the node down.
#pragma once

#include <string>

#include "tenure/protocol/messages.h"

namespace tenure::entity {

class Handler {
 public:
  virtual ~Handler() = default;
  // The state `request` (a set) moves `current` to.
  virtual std::string NextState(const protocol::EntityView& current,
                                const protocol::Request& request) = 0;
};

// Stores the requested state as it is.
class PlainHandler final : public Handler {
 public:
  std::string NextState(const protocol::EntityView& /*current*/,
                        const protocol::Request& request) override {
    return request.state;
  }
};

}  // namespace tenure::entity
