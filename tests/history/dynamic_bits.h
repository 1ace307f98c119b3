// A fixed-size bitset sized at run time, with the two scans the search
// needs to keep its memo keys short. Not thread-safe.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace tenure::history::internal {

inline constexpr std::size_t kNoBit = std::numeric_limits<std::size_t>::max();

class Bits {
 public:
  explicit Bits(std::size_t size) : size_(size), words_((size + 63) / 64) {}

  bool Test(std::size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void Set(std::size_t i) { words_[i >> 6] |= std::uint64_t{1} << (i & 63); }
  void Reset(std::size_t i) { words_[i >> 6] &= ~(std::uint64_t{1} << (i & 63)); }
  const std::vector<std::uint64_t>& words() const { return words_; }

  // The first clear bit at or after `from`, or size().
  std::size_t FirstClearFrom(std::size_t from) const {
    std::size_t w = from >> 6;
    if (w >= words_.size()) {
      return size_;
    }
    std::uint64_t clear = ~words_[w] & (~std::uint64_t{0} << (from & 63));
    while (clear == 0) {
      if (++w == words_.size()) {
        return size_;
      }
      clear = ~words_[w];
    }
    return std::min(size_, w * 64 + static_cast<std::size_t>(std::countr_zero(clear)));
  }

  // The last set bit in [floor, below), or kNoBit.
  std::size_t LastSetIn(std::size_t floor, std::size_t below) const {
    if (below <= floor) {
      return kNoBit;
    }
    const std::size_t top = below - 1;
    std::size_t w = top >> 6;
    const unsigned shift = 63 - static_cast<unsigned>(top & 63);
    std::uint64_t set = words_[w] & (~std::uint64_t{0} >> shift);
    while (set == 0) {
      if (w * 64 <= floor) {
        return kNoBit;
      }
      set = words_[--w];
    }
    const std::size_t bit = w * 64 + 63 - static_cast<std::size_t>(std::countl_zero(set));
    return bit >= floor ? bit : kNoBit;
  }

 private:
  std::size_t size_;
  std::vector<std::uint64_t> words_;
};

}  // namespace tenure::history::internal
