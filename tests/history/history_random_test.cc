// Randomized tests of CheckHistory: histories linearizable by construction
// (random_history.h) must pass; replies mutated into certainly-wrong ones
// must fail; and on small random histories, right or wrong, the checker must
// agree with a brute-force search over every order.
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "history/history.h"
#include "history/random_history.h"

namespace tenure::history {
namespace {

// --- An independent oracle: the model written again, and every order tried ---

struct Register {
  std::uint64_t version = 0;  // 0: absent.
  std::string state;
};

bool Sees(const std::optional<Observed>& observed, const Register& r) {
  return !observed || (observed->version == r.version && observed->state == r.state);
}

bool ConditionsHold(const Op& op, const Register& r) {
  return (op.expect.empty() || op.expect == r.state) &&
         (!op.if_version || *op.if_version == r.version);
}

bool CarriesInformation(const Op& op) {
  if (op.outcome == Outcome::kIndeterminate) {
    return op.kind != OpKind::kGet;
  }
  return op.outcome == Outcome::kOk || op.error == "conflict" || op.error == "not_found";
}

// The register after `op` takes effect in `r`, or nullopt if its reply is impossible there.
std::optional<Register> OracleStep(const Op& op, const Register& r) {
  const bool present = r.version > 0;
  std::optional<Register> written;
  if (op.kind == OpKind::kCreate && !present) {
    written = Register{1, op.state};
  } else if (op.kind == OpKind::kSet && present && ConditionsHold(op, r)) {
    written = Register{r.version + 1, op.state};
  }
  if (op.outcome == Outcome::kIndeterminate) {
    return written;
  }
  if (op.outcome == Outcome::kOk) {
    if (op.kind == OpKind::kGet) {
      return present && Sees(op.observed, r) ? std::optional<Register>(r) : std::nullopt;
    }
    return written && Sees(op.observed, *written) ? written : std::nullopt;
  }
  if (op.error == "not_found") {
    return op.kind != OpKind::kCreate && !present ? std::optional<Register>(r) : std::nullopt;
  }
  const bool refused = op.kind == OpKind::kCreate || (op.kind == OpKind::kSet && !written);
  return present && refused && Sees(op.observed, r) ? std::optional<Register>(r) : std::nullopt;
}

bool OracleSearch(const std::vector<Op>& ops, std::vector<bool>& done, const Register& r) {
  bool all_replied_done = true;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    all_replied_done = all_replied_done && (done[i] || ops[i].outcome == Outcome::kIndeterminate);
  }
  if (all_replied_done) {
    return true;  // Indeterminate writes left over never took effect.
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (done[i]) {
      continue;
    }
    bool must_wait = false;  // For an op that completed before this one began.
    for (std::size_t j = 0; j < ops.size(); ++j) {
      must_wait = must_wait || (!done[j] && ops[j].outcome != Outcome::kIndeterminate &&
                                ops[j].complete_ns < ops[i].invoke_ns);
    }
    if (must_wait) {
      continue;
    }
    if (std::optional<Register> next = OracleStep(ops[i], r)) {
      done[i] = true;
      const bool found = OracleSearch(ops, done, *next);
      done[i] = false;
      if (found) {
        return true;
      }
    }
  }
  return false;
}

// REQUIRES: one entity.
bool OracleLinearizable(const std::vector<Op>& history) {
  std::vector<Op> ops;
  for (const Op& op : history) {
    if (CarriesInformation(op)) {
      ops.push_back(op);
    }
  }
  std::vector<bool> done(ops.size(), false);
  return OracleSearch(ops, done, Register{});
}

// --- Mutations ---

std::vector<std::size_t> OkGets(const std::vector<Op>& ops) {
  std::vector<std::size_t> gets;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind == OpKind::kGet && ops[i].outcome == Outcome::kOk) {
      gets.push_back(i);
    }
  }
  return gets;
}

// Makes a read that began after an acknowledged write completed see the
// version just before that write's: stale in every order. Picks the latest
// such write, so the read is only slightly stale. False if none qualifies.
bool MakeStaleRead(const RandomHistory& history, std::size_t nth, std::vector<Op>* ops) {
  const std::vector<std::size_t> gets = OkGets(*ops);
  for (std::size_t k = 0; k < gets.size(); ++k) {
    Op& read = (*ops)[gets[(nth + k) % gets.size()]];
    std::uint64_t written = 0;
    for (const Op& write : *ops) {
      if (write.kind != OpKind::kGet && write.outcome == Outcome::kOk &&
          write.entity == read.entity && write.complete_ns < read.invoke_ns) {
        written = std::max(written, write.observed->version);
      }
    }
    if (written >= 2) {
      read.observed = Observed{history.truth.at(read.entity)[written - 1], written - 1};
      return true;
    }
  }
  return false;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --- Tests ---

TEST(RandomHistory, GeneratedHistoriesMixEveryKindOfReply) {
  const RandomHistory history =
      GenerateRandomHistory({.seed = 7, .clients = 8, .operations = 2000});
  int ok_writes = 0, conflicts = 0, bare_conflicts = 0, not_found = 0, indeterminate = 0, busy = 0;
  for (const Op& op : history.ops) {
    ok_writes += op.kind != OpKind::kGet && op.outcome == Outcome::kOk;
    conflicts += op.error == "conflict";
    bare_conflicts += op.error == "conflict" && !op.observed;
    not_found += op.error == "not_found";
    indeterminate += op.outcome == Outcome::kIndeterminate;
    busy += op.error == "busy";
  }
  EXPECT_GT(ok_writes, 300);
  EXPECT_GT(conflicts, 100);
  EXPECT_GT(bare_conflicts, 0);
  EXPECT_GT(not_found, 0);
  EXPECT_GT(indeterminate, 50);
  EXPECT_GT(busy, 10);
}

TEST(RandomHistory, AgreesWithBruteForceOnSmallHistories) {
  std::mt19937_64 random(42);
  int linearizable = 0;
  int violations = 0;
  for (std::uint64_t seed = 1; seed <= 4000; ++seed) {
    std::vector<Op> ops =
        GenerateRandomHistory(
            {.seed = seed, .clients = 3, .operations = 8, .indeterminate = 0.2, .refused = 0.05})
            .ops;
    for (std::uint64_t n = 0; n < seed % 3; ++n) {
      PerturbOne(random, &ops);
    }
    const bool expected = OracleLinearizable(ops);
    const CheckResult result = CheckHistory(ops);
    ASSERT_TRUE(result.decided);
    ASSERT_EQ(result.linearizable, expected) << "seed " << seed << "\n"
                                             << ToJsonLines(ops) << result.explanation;
    ++(expected ? linearizable : violations);
  }
  std::printf("[ brute  ] %d linearizable, %d not\n", linearizable, violations);
  // Both answers must be common, or the agreement would mean little.
  EXPECT_GT(linearizable, 1500);
  EXPECT_GT(violations, 400);
}

TEST(RandomHistory, ValidHistoriesPass) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const RandomHistory history = GenerateRandomHistory({
        .seed = seed,
        .clients = static_cast<int>(2 + seed % 15),
        .operations = 400,
        .entities = static_cast<int>(1 + seed % 3),
    });
    const CheckResult result = CheckHistory(history.ops);
    EXPECT_TRUE(result.decided) << "seed " << seed;
    EXPECT_TRUE(result.linearizable) << "seed " << seed << ": " << result.explanation;
  }
}

TEST(RandomHistory, ReadOfAVersionNeverProducedFails) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const RandomHistory history =
        GenerateRandomHistory({.seed = seed, .clients = 6, .operations = 300});
    std::vector<Op> ops = history.ops;
    const std::vector<std::size_t> gets = OkGets(ops);
    ASSERT_FALSE(gets.empty());
    Op& read = ops[gets[seed % gets.size()]];
    // More versions than the whole history has writes.
    read.observed->version = ops.size() + 10;
    const CheckResult result = CheckHistory(ops);
    EXPECT_TRUE(result.decided) << "seed " << seed;
    EXPECT_FALSE(result.linearizable) << "seed " << seed;
    EXPECT_NE(result.explanation.find("get by process " + std::to_string(read.process)),
              std::string::npos)
        << result.explanation;
  }
}

TEST(RandomHistory, StaleReadFails) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const RandomHistory history =
        GenerateRandomHistory({.seed = seed, .clients = 6, .operations = 300});
    std::vector<Op> ops = history.ops;
    ASSERT_TRUE(MakeStaleRead(history, seed, &ops));
    const CheckResult result = CheckHistory(ops);
    EXPECT_TRUE(result.decided) << "seed " << seed;
    EXPECT_FALSE(result.linearizable) << "seed " << seed;
    EXPECT_NE(result.explanation.find("stale read"), std::string::npos) << result.explanation;
  }
}

TEST(RandomHistory, LargeHistoryIsDecided) {
  const RandomHistory history = GenerateRandomHistory(
      {.seed = 2024, .clients = 16, .operations = 20000, .indeterminate = 0.05});
  int indeterminate_writes = 0;
  for (const Op& op : history.ops) {
    indeterminate_writes += op.outcome == Outcome::kIndeterminate && op.kind != OpKind::kGet;
  }
  auto start = std::chrono::steady_clock::now();
  const CheckResult result = CheckHistory(history.ops);
  std::printf("[ timing ] 16 clients, %zu ops, %d indeterminate writes, %zu versions: %.3f s\n",
              history.ops.size(), indeterminate_writes, history.truth.at("e1").size() - 1,
              SecondsSince(start));
  EXPECT_TRUE(result.decided) << result.explanation;
  EXPECT_TRUE(result.linearizable) << result.explanation;

  std::vector<Op> stale = history.ops;
  ASSERT_TRUE(MakeStaleRead(history, stale.size() / 2, &stale));
  start = std::chrono::steady_clock::now();
  const CheckResult failed = CheckHistory(stale);
  std::printf("[ timing ] the same with one stale read: %.3f s\n", SecondsSince(start));
  EXPECT_TRUE(failed.decided) << failed.explanation;
  EXPECT_FALSE(failed.linearizable);
  std::printf("%s\n", failed.explanation.c_str());
}

}  // namespace
}  // namespace tenure::history
