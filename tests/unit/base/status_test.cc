// Tests of Status, Result<T> and the error table of DESIGN §6
// (tenure/base/status.h): names and CLI exit codes are a public contract.
#include "tenure/base/status.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace tenure {
namespace {

struct Row {
  ErrorCode code;
  std::string_view name;
  int exit_code;
};

// DESIGN §6, plus ok. One row per error; the same names travel in replies.
constexpr Row kTable[] = {
    {ErrorCode::kOk, "ok", 0},
    {ErrorCode::kBadRequest, "bad_request", 2},
    {ErrorCode::kInvalidState, "invalid_state", 2},
    {ErrorCode::kNotFound, "not_found", 3},
    {ErrorCode::kConflict, "conflict", 4},
    {ErrorCode::kUnavailable, "unavailable", 5},
    {ErrorCode::kBusy, "busy", 5},
    {ErrorCode::kStorageError, "storage_error", 6},
};

TEST(ErrorTable, NamesAndExitCodesMatchTheDesign) {
  for (const Row& row : kTable) {
    SCOPED_TRACE(std::string(row.name));
    EXPECT_EQ(ErrorName(row.code), row.name);
    EXPECT_EQ(ExitCodeFor(row.code), row.exit_code);
  }
}

TEST(ErrorTable, ParseErrorNameRoundTrips) {
  for (const Row& row : kTable) {
    EXPECT_EQ(ParseErrorName(ErrorName(row.code)), row.code) << row.name;
  }
}

TEST(ErrorTable, ParseErrorNameRejectsEverythingElse) {
  for (std::string_view name : {"", "OK", "Bad_Request", "bad-request", "not_found ", " busy",
                                "timeout", "error", "invalid_argument"}) {
    EXPECT_FALSE(ParseErrorName(name).has_value()) << "'" << name << "'";
  }
}

TEST(ErrorTable, NamesAreDistinct) {
  for (const Row& a : kTable) {
    for (const Row& b : kTable) {
      if (a.code != b.code) {
        EXPECT_NE(ErrorName(a.code), ErrorName(b.code));
      }
    }
  }
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s, Status::Ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(Status, FactoriesSetTheirCode) {
  const std::vector<std::pair<Status, ErrorCode>> cases = {
      {Status::BadRequest("m"), ErrorCode::kBadRequest},
      {Status::InvalidState("m"), ErrorCode::kInvalidState},
      {Status::NotFound("m"), ErrorCode::kNotFound},
      {Status::Conflict("m"), ErrorCode::kConflict},
      {Status::Unavailable("m"), ErrorCode::kUnavailable},
      {Status::Busy("m"), ErrorCode::kBusy},
      {Status::StorageError("m"), ErrorCode::kStorageError},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), "m");
  }
}

TEST(Status, ToStringIsNameColonMessage) {
  EXPECT_EQ(Status::NotFound("no entity 'x'").ToString(), "not_found: no entity 'x'");
  EXPECT_EQ(Status(ErrorCode::kBusy, "").ToString(), "busy");
}

TEST(Status, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::Busy("a"), Status::Busy("a"));
  EXPECT_NE(Status::Busy("a"), Status::Busy("b"));
  EXPECT_NE(Status::Busy("a"), Status::Unavailable("a"));
}

TEST(Result, HoldsAValue) {
  Result<int> r = 7;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(*r, 7);
  EXPECT_TRUE(r.status().ok());
}

TEST(Result, HoldsAStatus) {
  Result<int> r = Status::NotFound("gone");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::NotFound("gone"));
}

TEST(Result, ValueCanBeChangedAndMovedOut) {
  Result<std::string> r = std::string("abc");
  r.value() += "d";
  EXPECT_EQ(r->size(), 4u);
  std::string out = std::move(r).value();
  EXPECT_EQ(out, "abcd");

  Result<std::unique_ptr<int>> owned = std::make_unique<int>(5);
  ASSERT_TRUE(owned.ok());
  std::unique_ptr<int> p = std::move(owned).value();
  EXPECT_EQ(*p, 5);
}

using ResultDeathTest = ::testing::Test;

TEST_F(ResultDeathTest, AnOkStatusIsNotAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Result<int> r = Status::Ok();
        (void)r;
      },
      "");
}

TEST_F(ResultDeathTest, ValueOfAnErrorIsAProgrammerError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Result<int> r = Status::Busy("x");
        (void)r.value();
      },
      "");
}

}  // namespace
}  // namespace tenure
