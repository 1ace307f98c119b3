// IdHash: the hash of the string-keyed tables that hold an entry per entity
// (the runtime's workers, a voter's lock table). Stateless, so thread-safe.
//
// It hashes exactly as std::hash<std::string> does, so a table iterates in
// the same order as one keyed with the standard hash. What it changes is the
// node: the standard library caches std::hash's value in every node (8 bytes
// per entity, and on glibc's 16-byte malloc steps often 16), while for a
// noexcept hasher of its own it recomputes the hash on rehash instead. It is
// transparent, so a lookup by std::string_view builds no std::string.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tenure::entity {

struct IdHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view id) const noexcept {
    return std::hash<std::string_view>{}(id);
  }
  std::size_t operator()(const std::string& id) const noexcept {
    return std::hash<std::string_view>{}(id);
  }
};

// A hash table never gives its bucket array back by itself: after most of
// its entries went (idle passivation of a burst of entities) it would keep
// 8 bytes per entry of its peak for good. Shrinks it when it is that sparse;
// cheap to call every tick.
template <typename Table>
void ShrinkIfSparse(Table& table) {
  constexpr std::size_t kBucketsKept = 1024;
  if (table.bucket_count() > 8 * std::max(table.size(), kBucketsKept)) {
    table.rehash(0);
  }
}

}  // namespace tenure::entity
