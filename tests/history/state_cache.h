// The set of search configurations already explored: exact keys of a few
// machine words each, packed in one arena and found through an
// open-addressing table. Exact rather than a fingerprint because a false
// "seen" would prune a branch unexplored and could wrongly fail a history.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tenure::history::internal {

class StateCache {
 public:
  StateCache();

  // Adds `key`; false when it was already there.
  // REQUIRES: !key.empty().
  bool Insert(std::span<const std::uint64_t> key);

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::size_t offset = 0;
    std::size_t length = 0;  // 0: the slot is empty.
  };

  bool Equal(const Slot& slot, std::span<const std::uint64_t> key) const;
  void Grow();

  std::vector<std::uint64_t> arena_;
  std::vector<Slot> slots_;  // Size a power of two, at most half full.
  std::size_t size_ = 0;
};

}  // namespace tenure::history::internal
