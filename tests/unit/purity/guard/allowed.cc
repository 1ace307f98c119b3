// Headers a pure core may include: the cores' own today plus the usual
// containers and algorithms. If a standard library update makes one of them
// include a stubbed name (say <mutex>), this file stops compiling and the
// pure_core_guard test says which stub to reconsider.
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace tenure::purity {

// Uses a few of them so that the compiler does more than read the headers.
std::size_t AllowedHeadersCompile(std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::map<std::string, std::vector<std::chrono::milliseconds>> table;
  table["a"].push_back(std::chrono::milliseconds(random() % 10));
  return table.size();
}

}  // namespace tenure::purity
