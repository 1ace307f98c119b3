// Authority: the one component an entity runtime asks "may I serve this name?".
//
// The quorum lock table (lock::Claimant) answers with the serving rule of
// DESIGN §4; a worker_node uses it even when it is its cluster's only voter.
// The runtime asks for every request, after it is received and before a reply
// is built from the cache.
#pragma once

#include <string_view>

#include "tenure/base/time.h"

namespace tenure::entity {

class Authority {
 public:
  virtual ~Authority() = default;
  virtual bool MayServe(std::string_view id, TimePoint now) const = 0;
};

// An authority that may serve every name it claimed, at any time: what a
// cluster whose only voter is this node could use. worker_node does not (it
// runs the Claimant with itself as the only voter).
class SoleVoterAuthority final : public Authority {
 public:
  bool MayServe(std::string_view /*id*/, TimePoint /*now*/) const override { return true; }
};

}  // namespace tenure::entity
