// Tests of the check made before toml++ parses config text
// (tenure/config/toml_prescan.h): non-ASCII text only in comment lines, never
// right after a backslash.
#include "tenure/config/toml_prescan.h"

#include <string>

#include <gtest/gtest.h>

namespace tenure::config {
namespace {

TEST(PrescanToml, AllowsNonAsciiInCommentLines) {
  for (const std::string text : {
           "",                                                     // Empty.
           "id = \"foo\"\nvoters = [\"a\", 'b']\n",                // ASCII only.
           "# caf\xc3\xa9\nid = \"x\"\n",                          // A comment line.
           "id = \"x\"\n \t# \xd0\xbf\xd1\x80\xd0\xb8\n",          // Indented.
           "x = \"\"\"\n# caf\xc3\xa9\n\"\"\"\n",                  // Even inside a string.
           "# C:\\Users\\Jos\xc3\xa9\n",                           // Not right after '\'.
           "\xEF\xBB\xBF# caf\xc3\xa9\nid = \"x\"\r\n# \xc3\xa9",  // Byte order mark, CRLF.
       }) {
    Status s = PrescanToml(text);
    EXPECT_TRUE(s.ok()) << "'" << text << "': " << s.ToString();
  }
}

TEST(PrescanToml, RefusesNonAsciiElsewhere) {
  for (const std::string text : {
           "\xc3\xa9 = 1\n",                      // Bare key.
           "id = \xc3\xa9\n",                     // Bare value.
           "id = +foo\"\xc4\x9d\"\n",             // Inside a bare value.
           "x = [1,\xc2\xa0 2]\n",                // In an array.
           "db = \"/var/lib/caf\xc3\xa9.db\"\n",  // Basic string.
           "db = '/var/lib/caf\xc3\xa9.db'\n",    // Literal string.
           "x = \"\"\"\n\xc3\xa9\"\"\"\n",        // Multi-line string.
           "id = \"x\"  # caf\xc3\xa9\n",         // A comment after a value.
           "# a\\\xc3\xa9\n",                     // Right after a backslash...
           "# a\\ \t\xc3\xa9\n",                  // ... and blanks.
           "\xEF\xBB\xBF\xEF\xBB\xBF# x\n",       // Only one byte order mark.
       }) {
    Status s = PrescanToml(text);
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest) << "'" << text << "' accepted";
    EXPECT_NE(s.message().find("non-ASCII"), std::string::npos) << s.message();
  }
}

TEST(PrescanToml, NamesLineAndColumn) {
  Status s = PrescanToml("a = 1\nb = \xc3\xa9\n");
  EXPECT_NE(s.message().find("outside a comment line"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(line 2, column 5)"), std::string::npos) << s.message();
  s = PrescanToml("# x\n  # \\\xc3\xa9\n");
  EXPECT_NE(s.message().find("after a backslash"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(line 2, column 6)"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tenure::config
