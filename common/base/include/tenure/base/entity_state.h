// The states an entity can be in. Stored as their names (the schema's CHECK
// constraint lists the same three); the order here is the order error
// messages list them in.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace tenure {

inline constexpr std::array<std::string_view, 3> kEntityStates = {"initialized", "working",
                                                                  "finalized"};
inline constexpr std::string_view kDefaultEntityState = "initialized";

inline bool IsValidEntityState(std::string_view state) {
  for (std::string_view s : kEntityStates) {
    if (s == state) {
      return true;
    }
  }
  return false;
}

// "initialized, working, finalized".
inline std::string ValidEntityStatesList() {
  std::string out;
  for (std::string_view s : kEntityStates) {
    if (!out.empty()) {
      out += ", ";
    }
    out += s;
  }
  return out;
}

}  // namespace tenure
