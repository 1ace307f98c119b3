// Authority: the one component an entity runtime asks "may I serve this name?".
//
// With a single voter (this node) the answer is always yes; the quorum lock
// table answers with the serving rule of DESIGN §4. The runtime asks for every
// request, after it is received and before a reply is built from the cache.
#pragma once

#include <string_view>

#include "common/base/time.h"

namespace tenure::entity {

class Authority {
 public:
  virtual ~Authority() = default;
  virtual bool MayServe(std::string_view id, TimePoint now) const = 0;
};

// The authority of a cluster whose only voter is this node: it may serve every
// name it claimed, at any time.
class SoleVoterAuthority final : public Authority {
 public:
  bool MayServe(std::string_view /*id*/, TimePoint /*now*/) const override { return true; }
};

}  // namespace tenure::entity
