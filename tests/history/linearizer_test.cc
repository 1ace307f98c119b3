// Tests of the search's internals: its bitset, the memo, and version pruning
// checked against the same search without it on histories too long for brute
// force.
#include "history/linearizer.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/dynamic_bits.h"
#include "history/random_history.h"
#include "history/split_history.h"
#include "history/state_cache.h"

namespace tenure::history::internal {
namespace {

TEST(Bits, ScansAcrossWordBoundaries) {
  Bits bits(200);
  for (std::size_t i = 0; i < 130; ++i) {
    bits.Set(i);
  }
  EXPECT_EQ(bits.FirstClearFrom(0), 130u);
  EXPECT_EQ(bits.FirstClearFrom(64), 130u);
  bits.Reset(70);
  EXPECT_EQ(bits.FirstClearFrom(0), 70u);
  EXPECT_EQ(bits.FirstClearFrom(71), 130u);
  bits.Set(199);
  EXPECT_EQ(bits.FirstClearFrom(199), 200u);  // None: the size.
  EXPECT_EQ(bits.LastSetIn(0, 200), 199u);
  EXPECT_EQ(bits.LastSetIn(0, 199), 129u);
  EXPECT_EQ(bits.LastSetIn(71, 72), 71u);
  EXPECT_EQ(bits.LastSetIn(70, 71), kNoBit);  // Bit 70 is clear.
  EXPECT_EQ(bits.LastSetIn(130, 199), kNoBit);
  EXPECT_EQ(bits.LastSetIn(5, 5), kNoBit);
}

TEST(StateCache, RemembersKeysExactlyAcrossGrowth) {
  StateCache cache;
  for (std::uint64_t i = 0; i < 5000; ++i) {
    const std::vector<std::uint64_t> key = {i, i * 7, 1};
    EXPECT_TRUE(cache.Insert(key));
  }
  EXPECT_EQ(cache.size(), 5000u);
  for (std::uint64_t i = 0; i < 5000; ++i) {
    const std::vector<std::uint64_t> key = {i, i * 7, 1};
    EXPECT_FALSE(cache.Insert(key)) << i;
  }
  // Same words, different length: a different key.
  const std::vector<std::uint64_t> longer = {0, 0, 1, 0};
  EXPECT_TRUE(cache.Insert(longer));
  EXPECT_EQ(cache.size(), 5001u);
}

TEST(Linearize, VersionPruningNeverChangesTheVerdict) {
  std::mt19937_64 random(5);
  int linearizable = 0;
  int violations = 0;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    std::vector<Op> ops =
        GenerateRandomHistory({.seed = seed, .clients = 5, .operations = 60, .indeterminate = 0.15})
            .ops;
    if (seed % 2 == 0) {
      PerturbOne(random, &ops);
    }
    std::string invalid;
    for (const auto& [name, entity] : SplitByEntity(ops, &invalid)) {
      const SearchResult pruned = Linearize(entity, {.max_states = 10'000'000});
      const SearchResult plain =
          Linearize(entity, {.max_states = 10'000'000, .version_pruning = false});
      ASSERT_NE(pruned.verdict, Verdict::kUndecided);
      ASSERT_EQ(pruned.verdict, plain.verdict) << "seed " << seed << "\n" << ToJsonLines(ops);
      ++(pruned.verdict == Verdict::kLinearizable ? linearizable : violations);
    }
  }
  EXPECT_GT(linearizable, 100);
  EXPECT_GT(violations, 50);
}

}  // namespace
}  // namespace tenure::history::internal
