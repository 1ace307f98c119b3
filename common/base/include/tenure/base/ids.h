// Validation of the names that cross process boundaries: entity ids and node
// ids. Both are byte strings checked at every edge (CLI, broker, node) so a bad
// id is refused with bad_request before it reaches a table or the store.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tenure/base/status.h"
#include "tenure/base/strong_id.h"

namespace tenure {

inline constexpr std::size_t kEntityIdBytesMax = 255;
inline constexpr std::size_t kNodeIdBytesMax = 64;

// OK when `id` is 1..255 bytes with no ASCII control characters.
Status ValidateEntityId(std::string_view id);
// OK when `id` is 1..64 bytes of [A-Za-z0-9_.-].
Status ValidateNodeId(std::string_view id);

// The node ids of a list read from the edge (a --voters flag, a config file).
inline std::vector<NodeId> NodeIds(const std::vector<std::string>& ids) {
  std::vector<NodeId> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    out.emplace_back(id);
  }
  return out;
}

}  // namespace tenure
