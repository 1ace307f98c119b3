// Tests of entity id and node id validation (tenure/base/ids.h).
#include "tenure/base/ids.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace tenure {
namespace {

::testing::AssertionResult Rejected(const Status& s) {
  if (s.ok()) return ::testing::AssertionFailure() << "accepted";
  if (s.code() != ErrorCode::kBadRequest) {
    return ::testing::AssertionFailure() << s.ToString();
  }
  return ::testing::AssertionSuccess();
}

TEST(EntityId, AcceptsOrdinaryIds) {
  for (std::string_view id : {"entity_1", "a", "order/2024/17", "user@example.com", "with space",
                              "x:y", "-leading-dash", "0"}) {
    EXPECT_TRUE(ValidateEntityId(id).ok()) << id;
  }
}

TEST(EntityId, RejectsEmpty) { EXPECT_TRUE(Rejected(ValidateEntityId(""))); }

TEST(EntityId, LengthLimitIs255Bytes) {
  EXPECT_EQ(kEntityIdBytesMax, 255u);
  EXPECT_TRUE(ValidateEntityId(std::string(255, 'a')).ok());
  const Status s = ValidateEntityId(std::string(256, 'a'));
  EXPECT_TRUE(Rejected(s));
  EXPECT_NE(s.message().find("255"), std::string::npos) << s.message();
}

TEST(EntityId, LimitCountsBytesNotCharacters) {
  // "é" is two bytes in UTF-8: 127 of them plus one byte is 255 bytes.
  std::string id;
  for (int i = 0; i < 127; ++i) id += "\xc3\xa9";
  EXPECT_TRUE(ValidateEntityId(id + "a").ok());
  EXPECT_TRUE(Rejected(ValidateEntityId(id + "\xc3\xa9")));
}

TEST(EntityId, RejectsControlCharacters) {
  for (std::string_view id :
       {std::string_view("a\nb"), std::string_view("a\tb"), std::string_view("a\rb"),
        std::string_view("\x7f"), std::string_view("a\0b", 3), std::string_view("\0", 1),
        std::string_view("end\x1f"), std::string_view("\x01start"), std::string_view("\x1b[31m")}) {
    EXPECT_TRUE(Rejected(ValidateEntityId(id))) << testing::PrintToString(std::string(id));
  }
}

TEST(EntityId, TheTopicTerminatorCannotBePartOfAnId) {
  // topics.h relies on this: "entity:<id>\x1f" is unambiguous.
  EXPECT_TRUE(Rejected(ValidateEntityId("a\x1f")));
}

TEST(EntityId, AcceptsUnicodeAndOtherHighBytes) {
  EXPECT_TRUE(ValidateEntityId("ünïcødé").ok());
  EXPECT_TRUE(ValidateEntityId("実体_1").ok());
  EXPECT_TRUE(ValidateEntityId("\xf0\x9f\x98\x80").ok());  // An emoji.
  EXPECT_TRUE(ValidateEntityId("\x80\xff").ok());          // Bytes, not validated as UTF-8.
}

TEST(NodeId, AcceptsItsCharset) {
  for (std::string_view id : {"foo", "node-1", "node_2", "n.3", "A", "0", "Zz9-_.", "..."}) {
    EXPECT_TRUE(ValidateNodeId(id).ok()) << id;
  }
}

TEST(NodeId, RejectsEmpty) { EXPECT_TRUE(Rejected(ValidateNodeId(""))); }

TEST(NodeId, LengthLimitIs64Bytes) {
  EXPECT_EQ(kNodeIdBytesMax, 64u);
  EXPECT_TRUE(ValidateNodeId(std::string(64, 'n')).ok());
  EXPECT_TRUE(Rejected(ValidateNodeId(std::string(65, 'n'))));
}

TEST(NodeId, RejectsCharactersOutsideItsCharset) {
  for (std::string_view id :
       {std::string_view("a b"), std::string_view("a/b"), std::string_view("a:b"),
        std::string_view("a@b"), std::string_view("ü"), std::string_view("a\n"),
        std::string_view("a\0", 2), std::string_view("a\x1f"), std::string_view("a,b"),
        std::string_view("*")}) {
    const Status s = ValidateNodeId(id);
    EXPECT_TRUE(Rejected(s)) << testing::PrintToString(std::string(id));
  }
}

TEST(NodeId, MessageNamesTheAllowedCharacters) {
  const Status s = ValidateNodeId("bad id");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("letters, digits"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tenure
