// ToJsonLines / FromJsonLines: round trips, and strict rejection of
// malformed lines with the line number in the error.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "history/history.h"
#include "history/random_history.h"

namespace tenure::history {
namespace {

using ::testing::HasSubstr;

bool SameOp(const Op& a, const Op& b) {
  const bool same_observed = a.observed.has_value() == b.observed.has_value() &&
                             (!a.observed || (a.observed->state == b.observed->state &&
                                              a.observed->version == b.observed->version));
  return a.process == b.process && a.entity == b.entity && a.kind == b.kind && a.state == b.state &&
         a.expect == b.expect && a.if_version == b.if_version && a.invoke_ns == b.invoke_ns &&
         a.complete_ns == b.complete_ns && a.outcome == b.outcome && a.error == b.error &&
         same_observed;
}

TEST(JsonLines, RoundTripsEveryField) {
  const RandomHistory history =
      GenerateRandomHistory({.seed = 3, .clients = 5, .operations = 500, .entities = 3});
  const std::string text = ToJsonLines(history.ops);
  std::string error;
  const std::optional<std::vector<Op>> loaded = FromJsonLines(text, &error);
  ASSERT_TRUE(loaded) << error;
  ASSERT_EQ(loaded->size(), history.ops.size());
  for (std::size_t i = 0; i < loaded->size(); ++i) {
    EXPECT_TRUE(SameOp((*loaded)[i], history.ops[i])) << "line " << i + 1;
  }
  EXPECT_EQ(ToJsonLines(*loaded), text);
}

TEST(JsonLines, RoundTripsExtremeNumbers) {
  Op op;
  op.process = -7;
  op.entity = "with \"quotes\" and \\";
  op.kind = OpKind::kSet;
  op.if_version = std::numeric_limits<std::uint64_t>::max();
  op.invoke_ns = std::numeric_limits<std::int64_t>::min();
  op.complete_ns = std::numeric_limits<std::int64_t>::max();
  op.observed = Observed{"", 0};
  std::string error;
  const auto loaded = FromJsonLines(ToJsonLines({op}), &error);
  ASSERT_TRUE(loaded) << error;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_TRUE(SameOp((*loaded)[0], op));
}

TEST(JsonLines, WritesOneObjectPerLineLeavingOutEmptyFields) {
  Op op;
  op.process = 2;
  op.entity = "e1";
  op.kind = OpKind::kGet;
  op.invoke_ns = 10;
  op.complete_ns = 20;
  op.observed = Observed{"working", 3};
  EXPECT_EQ(ToJsonLines({op, op}),
            "{\"process\":2,\"entity\":\"e1\",\"kind\":\"get\",\"invoke_ns\":10,"
            "\"complete_ns\":20,\"outcome\":\"ok\",\"observed\":{\"state\":\"working\","
            "\"version\":3}}\n"
            "{\"process\":2,\"entity\":\"e1\",\"kind\":\"get\",\"invoke_ns\":10,"
            "\"complete_ns\":20,\"outcome\":\"ok\",\"observed\":{\"state\":\"working\","
            "\"version\":3}}\n");
}

TEST(JsonLines, SkipsBlankLines) {
  std::string error;
  const auto loaded = FromJsonLines(
      "\n{\"process\":1,\"entity\":\"e\",\"kind\":\"create\",\"state\":\"working\","
      "\"invoke_ns\":1,\"outcome\":\"indeterminate\"}\r\n  \n",
      &error);
  ASSERT_TRUE(loaded) << error;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].outcome, Outcome::kIndeterminate);
  EXPECT_EQ((*loaded)[0].state, "working");
}

TEST(JsonLines, RejectsMalformedLinesNamingTheLine) {
  const std::string good =
      "{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,"
      "\"outcome\":\"ok\",\"observed\":{\"state\":\"s\",\"version\":1}}\n";
  struct Case {
    std::string line;
    std::string error;
  };
  const Case cases[] = {
      {"{\"process\":1", "line 2: not valid JSON"},
      {"[1,2]", "line 2: not a JSON object"},
      {"{\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,\"outcome\":\"ok\"}",
       "line 2: missing \"process\""},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"delete\",\"invoke_ns\":1,\"complete_ns\":2,"
       "\"outcome\":\"ok\"}",
       "line 2: unknown kind \"delete\""},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,"
       "\"outcome\":\"maybe\"}",
       "line 2: unknown outcome \"maybe\""},
      // A reply time is required when there was a reply.
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"outcome\":\"ok\"}",
       "line 2: missing \"complete_ns\""},
      {"{\"process\":\"1\",\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,"
       "\"outcome\":\"ok\"}",
       "line 2: \"process\" must be an integer"},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1.5,\"complete_ns\":2,"
       "\"outcome\":\"ok\"}",
       "line 2: \"invoke_ns\" must be an integer"},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"set\",\"if_version\":-1,\"invoke_ns\":1,"
       "\"complete_ns\":2,\"outcome\":\"ok\"}",
       "line 2: \"if_version\" must be a non-negative integer"},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,"
       "\"outcome\":\"ok\",\"observed\":{\"state\":\"s\"}}",
       "line 2: in \"observed\": missing \"version\""},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,"
       "\"outcome\":\"ok\",\"observed\":{\"state\":\"s\",\"version\":1,\"owner\":\"n1\"}}",
       "line 2: in \"observed\": unknown key \"owner\""},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":1,\"complete_ns\":2,"
       "\"outcome\":\"ok\",\"typo\":true}",
       "line 2: unknown key \"typo\""},
      {"{\"process\":1,\"entity\":\"e\",\"kind\":\"get\",\"invoke_ns\":9223372036854775808,"
       "\"complete_ns\":2,\"outcome\":\"ok\"}",
       "line 2: \"invoke_ns\" must be a 64-bit signed integer"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_FALSE(FromJsonLines(good + c.line + "\n" + good, &error)) << c.line;
    EXPECT_EQ(error, c.error) << c.line;
  }
}

TEST(JsonLines, LoadedHistoriesCheckLikeTheOriginal) {
  const RandomHistory history = GenerateRandomHistory({.seed = 11, .operations = 300});
  std::string error;
  const auto loaded = FromJsonLines(ToJsonLines(history.ops), &error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_TRUE(CheckHistory(*loaded).linearizable);
}

}  // namespace
}  // namespace tenure::history
