// Tests of duration parsing for flags and config files (tenure/base/duration.h).
#include "tenure/base/duration.h"

#include <chrono>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace tenure {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsEachUnit) {
  struct Case {
    std::string_view text;
    Duration want;
  };
  const Case cases[] = {
      {"500", milliseconds(500)},  // A bare number is milliseconds.
      {"500ms", milliseconds(500)}, {"3s", seconds(3)},
      {"10m", minutes(10)},         {"1h", hours(1)},
      {"0", Duration::zero()},      {"0s", Duration::zero()},
      {"2000", milliseconds(2000)}, {"007s", seconds(7)},
  };
  for (const Case& c : cases) {
    Result<Duration> r = ParseDuration(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.want) << c.text;
  }
}

TEST(ParseDuration, RejectsMalformedText) {
  for (std::string_view text : {"", "-1", "-1s", "+5", "5x", "ms", "s", "1.5s", " 5", "5 ", "5 s",
                                "5S", "5MS", "5sec", "1h30m", "5ms5", "0x10", "1e3"}) {
    Result<Duration> r = ParseDuration(text);
    ASSERT_FALSE(r.ok()) << "'" << text << "' accepted";
    EXPECT_EQ(r.status().code(), ErrorCode::kBadRequest);
    EXPECT_NE(r.status().message().find(std::string(text)), std::string::npos)
        << r.status().message();
  }
}

TEST(ParseDuration, RejectsOverflow) {
  // The limit is 2^40 ms (about 35 years), so every accepted value fits any
  // clock representation with room to add to a time point.
  EXPECT_TRUE(ParseDuration("1099511627776").ok());
  EXPECT_FALSE(ParseDuration("1099511627777").ok());
  EXPECT_TRUE(ParseDuration("305419h").ok());
  EXPECT_FALSE(ParseDuration("305420h").ok());
  for (std::string_view text :
       {"18446744073709551615", "18446744073709551616", "99999999999999999999999ms",
        "18446744073709551615h", "5124095576030431s", "307445734561825861m"}) {
    Result<Duration> r = ParseDuration(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kBadRequest);
  }
}

TEST(ParseDuration, MessageSuggestsTheAcceptedForms) {
  Result<Duration> r = ParseDuration("5x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ms, s, m or h"), std::string::npos);
}

}  // namespace
}  // namespace tenure
