// Distinct integer types for the counters that cross every layer (epochs,
// versions, claim numbers, incarnations, store generations). They were all
// std::uint64_t, so an epoch passed where a version belongs compiled; here each
// is its own type and the compiler refuses the mix-up (STYLE §3, strong ids).
//
// A Strong<Tag, Rep> converts neither from nor to Rep implicitly: construction
// is explicit and value() reads the number back, at the edges that need it
// (the wire codec, SQL binding, printing). It compares and hashes like Rep and
// has no arithmetic; the counters that advance get only Next().
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace tenure {

template <typename Tag, typename Rep>
class Strong {
 public:
  using rep_type = Rep;

  constexpr Strong() = default;
  constexpr explicit Strong(Rep value) : value_(value) {}

  constexpr Rep value() const { return value_; }

  friend constexpr auto operator<=>(const Strong&, const Strong&) = default;
  friend constexpr bool operator==(const Strong&, const Strong&) = default;
  // For test failure messages and traces; logs and the wire use value().
  friend std::ostream& operator<<(std::ostream& os, const Strong& s) { return os << s.value(); }

 private:
  Rep value_{};
};

// Counters that grow by one: the next value, for the types that advance.
template <typename Tag, typename Rep>
constexpr Strong<Tag, Rep> Next(Strong<Tag, Rep> s) {
  return Strong<Tag, Rep>(s.value() + 1);
}

// The fencing token of one tenure (§3.2); every activation takes a larger one.
using Epoch = Strong<struct EpochTag, std::uint64_t>;
// An entity's write counter: 1 at create, one more per set (§3.2).
using Version = Strong<struct VersionTag, std::uint64_t>;
// One attempt of one incarnation to win a name (§4.3); new for each attempt.
using ClaimNumber = Strong<struct ClaimNumberTag, std::uint64_t>;
// A random number a process draws at every start (§4.2); 0 means "none".
using Incarnation = Strong<struct IncarnationTag, std::uint64_t>;
// The store's reconnection counter (§3.7); 0 on a store op means "unstamped".
using StoreGeneration = Strong<struct StoreGenerationTag, std::uint64_t>;

// Distinct string types for the names that cross every layer: entity ids and
// node ids. An entity id passed where a node id belongs (or the other way) does
// not compile. Like Strong, a StrongString converts neither from nor to
// std::string implicitly: construction from a std::string or string_view is
// explicit and str() reads the bytes back, at the edges (the wire, SQL
// binding, logs). Only a string literal converts implicitly, so that tests and
// examples can keep writing "e1". It compares only with its own type.
template <typename Tag>
class StrongString {
 public:
  StrongString() = default;
  explicit StrongString(std::string s) : str_(std::move(s)) {}
  explicit StrongString(std::string_view s) : str_(s) {}
  // A string literal: implicit, for tests and examples. Read up to its first
  // NUL, so that a char buffer (which binds here too) gives what it holds.
  template <std::size_t N>
  StrongString(const char (&literal)[N])  // NOLINT(google-explicit-constructor)
      : str_(literal, std::find(literal, literal + N, '\0')) {}

  const std::string& str() const& { return str_; }
  std::string&& str() && { return std::move(str_); }
  bool empty() const { return str_.empty(); }

  friend auto operator<=>(const StrongString&, const StrongString&) = default;
  friend bool operator==(const StrongString&, const StrongString&) = default;
  // For test failure messages and traces; logs and the wire use str().
  friend std::ostream& operator<<(std::ostream& os, const StrongString& s) { return os << s.str_; }

 private:
  std::string str_;
};

// An entity's id (1..255 bytes, ValidateEntityId in tenure/base/ids.h).
using EntityId = StrongString<struct EntityIdTag>;
// A node's id (1..64 bytes, ValidateNodeId in tenure/base/ids.h).
using NodeId = StrongString<struct NodeIdTag>;

// Literals for tests and examples: 3_epoch, 7_version, 2_claim, 5_inc.
namespace literals {
constexpr Epoch operator""_epoch(unsigned long long v) { return Epoch(v); }
constexpr Version operator""_version(unsigned long long v) { return Version(v); }
constexpr ClaimNumber operator""_claim(unsigned long long v) { return ClaimNumber(v); }
constexpr Incarnation operator""_inc(unsigned long long v) { return Incarnation(v); }
}  // namespace literals

}  // namespace tenure

template <typename Tag, typename Rep>
struct std::hash<tenure::Strong<Tag, Rep>> {
  std::size_t operator()(const tenure::Strong<Tag, Rep>& s) const noexcept {
    return std::hash<Rep>{}(s.value());
  }
};

template <typename Tag>
struct std::hash<tenure::StrongString<Tag>> {
  std::size_t operator()(const tenure::StrongString<Tag>& s) const noexcept {
    return std::hash<std::string>{}(s.str());
  }
};
