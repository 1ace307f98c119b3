#include "history/state_cache.h"

#include <algorithm>

#include "tenure/base/check.h"

namespace tenure::history::internal {
namespace {

constexpr std::size_t kInitialSlots = 1024;

// The splitmix64 finaliser, chained over the words.
std::uint64_t Hash(std::span<const std::uint64_t> key) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL * key.size();
  for (std::uint64_t word : key) {
    h += word + 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

}  // namespace

StateCache::StateCache() : slots_(kInitialSlots) {}

bool StateCache::Equal(const Slot& slot, std::span<const std::uint64_t> key) const {
  return slot.length == key.size() &&
         std::equal(key.begin(), key.end(),
                    arena_.begin() + static_cast<std::ptrdiff_t>(slot.offset));
}

bool StateCache::Insert(std::span<const std::uint64_t> key) {
  TENURE_CHECK(!key.empty());
  if (2 * (size_ + 1) > slots_.size()) {
    Grow();
  }
  const std::uint64_t hash = Hash(key);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.length == 0) {
      slot = Slot{hash, arena_.size(), key.size()};
      arena_.insert(arena_.end(), key.begin(), key.end());
      ++size_;
      return true;
    }
    if (slot.hash == hash && Equal(slot, key)) {
      return false;
    }
  }
}

void StateCache::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.length == 0) {
      continue;
    }
    std::size_t i = slot.hash & mask;
    while (slots_[i].length != 0) {
      i = (i + 1) & mask;
    }
    slots_[i] = slot;
  }
  TENURE_CHECK(slots_.size() > 2 * size_);
}

}  // namespace tenure::history::internal
