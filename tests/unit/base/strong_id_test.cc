// Tests of the strong integer and string types (tenure/base/strong_id.h): what
// they allow and, through static_asserts, the mix-ups they refuse at compile
// time.
#include "tenure/base/strong_id.h"

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include <gtest/gtest.h>

namespace tenure {
namespace {

// The point of the types: no counter passes for another, and no bare integer
// becomes one without saying so.
static_assert(!std::is_convertible_v<Epoch, Version>);
static_assert(!std::is_convertible_v<Version, Epoch>);
static_assert(!std::is_constructible_v<Version, Epoch>);
static_assert(!std::is_convertible_v<std::uint64_t, Epoch>);
static_assert(!std::is_convertible_v<Epoch, std::uint64_t>);
static_assert(std::is_constructible_v<Epoch, std::uint64_t>);
static_assert(!std::is_convertible_v<ClaimNumber, Incarnation>);
static_assert(!std::is_convertible_v<StoreGeneration, Epoch>);
static_assert(std::is_trivially_copyable_v<Epoch>);
static_assert(sizeof(Epoch) == sizeof(std::uint64_t));

template <typename T>
concept Addable = requires(T a, T b) {
  a + b;
};
static_assert(!Addable<Epoch>);

TEST(Strong, ConstructsExplicitlyAndReadsBack) {
  constexpr Epoch e(7);
  EXPECT_EQ(e.value(), 7u);
  EXPECT_EQ(Version().value(), 0u);
}

TEST(Strong, ComparesLikeItsRepresentation) {
  EXPECT_EQ(Epoch(3), Epoch(3));
  EXPECT_NE(Epoch(3), Epoch(4));
  EXPECT_LT(Version(1), Version(2));
  EXPECT_GE(ClaimNumber(5), ClaimNumber(5));
  EXPECT_TRUE((Incarnation(9) <=> Incarnation(2)) > 0);
}

TEST(Strong, NextAdvancesByOne) {
  EXPECT_EQ(Next(ClaimNumber(1)), ClaimNumber(2));
  EXPECT_EQ(Next(StoreGeneration(1)), StoreGeneration(2));
  EXPECT_EQ(Next(Epoch(0)), Epoch(1));
}

TEST(Strong, KeysOrderedAndHashedMaps) {
  std::map<Epoch, int> ordered{{Epoch(2), 2}, {Epoch(1), 1}};
  EXPECT_EQ(ordered.begin()->first, Epoch(1));

  std::unordered_map<Incarnation, int> hashed;
  hashed[Incarnation(42)] = 1;
  hashed[Incarnation(42)] += 1;
  EXPECT_EQ(hashed.size(), 1u);
  EXPECT_EQ(hashed.at(Incarnation(42)), 2);

  std::unordered_set<ClaimNumber> set{ClaimNumber(1), ClaimNumber(1), ClaimNumber(2)};
  EXPECT_EQ(set.size(), 2u);
}

// Entity ids and node ids: neither passes for the other, nor for a
// std::string, and a std::string or string_view becomes one only explicitly.
// A string literal converts (tests and examples write "e1").
static_assert(!std::is_convertible_v<EntityId, NodeId>);
static_assert(!std::is_convertible_v<NodeId, EntityId>);
static_assert(!std::is_constructible_v<NodeId, EntityId>);
static_assert(!std::is_constructible_v<EntityId, NodeId>);
static_assert(!std::is_convertible_v<EntityId, std::string>);
static_assert(!std::is_convertible_v<EntityId, std::string_view>);
static_assert(!std::is_convertible_v<std::string, EntityId>);
static_assert(!std::is_convertible_v<std::string_view, NodeId>);
static_assert(std::is_constructible_v<EntityId, std::string>);
static_assert(std::is_constructible_v<NodeId, std::string_view>);
static_assert(std::is_convertible_v<const char (&)[3], EntityId>);
static_assert(sizeof(EntityId) == sizeof(std::string));

template <typename A, typename B>
concept EqualityComparable = requires(A a, B b) {
  a == b;
};
static_assert(EqualityComparable<EntityId, EntityId>);
static_assert(!EqualityComparable<EntityId, NodeId>);
static_assert(!EqualityComparable<EntityId, std::string>);
static_assert(!EqualityComparable<NodeId, std::string_view>);

TEST(StrongString, ConstructsExplicitlyOrFromALiteralAndReadsBack) {
  const std::string text = "e1";
  const EntityId from_string(text);
  const EntityId from_view(std::string_view("e1"));
  const EntityId from_literal = "e1";
  EXPECT_EQ(from_string, from_literal);
  EXPECT_EQ(from_view, from_literal);
  EXPECT_EQ(from_literal.str(), "e1");
  EXPECT_FALSE(from_literal.empty());
  EXPECT_TRUE(NodeId().empty());
  EXPECT_EQ(NodeId("").str(), "");
}

TEST(StrongString, ComparesAndPrintsLikeAString) {
  EXPECT_LT(EntityId("a"), EntityId("b"));
  EXPECT_NE(NodeId("n1"), NodeId("n2"));
  EXPECT_TRUE((NodeId("b") <=> NodeId("a")) > 0);
  std::ostringstream out;
  out << EntityId("e7");
  EXPECT_EQ(out.str(), "e7");
}

TEST(StrongString, KeysOrderedAndHashedMaps) {
  std::map<NodeId, int> ordered{{"n2", 2}, {"n1", 1}};
  EXPECT_EQ(ordered.begin()->first, NodeId("n1"));
  std::unordered_set<EntityId> set{"e1", "e1", "e2"};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(std::hash<EntityId>{}(EntityId("e1")), std::hash<std::string>{}("e1"));
}

TEST(StrongString, ACharBufferGivesWhatItHoldsUpToItsFirstNul) {
  char buffer[16] = "e1";
  const EntityId id = buffer;
  EXPECT_EQ(id.str(), "e1");
  EXPECT_EQ(id, EntityId("e1"));
}

}  // namespace
}  // namespace tenure
