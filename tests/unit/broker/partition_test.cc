#include "tenure/router/partition.h"

#include <gtest/gtest.h>

namespace tenure::broker {
namespace {

TEST(Partition, EmptyBlocksNothing) {
  Partition p;
  EXPECT_TRUE(p.Load("").ok());
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.Blocks("foo", "bar"));
}

TEST(Partition, IsolatedNodesTalkOnlyAmongThemselves) {
  Partition p;
  ASSERT_TRUE(p.Load("# minority\nisolate foo\n\nisolate qux\n").ok());
  EXPECT_TRUE(p.Blocks("foo", "bar"));
  EXPECT_TRUE(p.Blocks("bar", "foo"));
  EXPECT_TRUE(p.Blocks("foo", "@broker")) << "the witness stays with the majority";
  EXPECT_FALSE(p.Blocks("foo", "qux"));
  EXPECT_FALSE(p.Blocks("bar", "baz"));
  EXPECT_FALSE(p.Blocks("bar", "@broker"));
}

TEST(Partition, BadLinesAreRefusedAndChangeNothing) {
  Partition p;
  ASSERT_TRUE(p.Load("isolate foo").ok());
  for (const char* bad : {"isolate", "isolate foo bar", "cut foo", "isolate bad!id"}) {
    Status s = p.Load(bad);
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest) << bad;
    EXPECT_TRUE(p.Blocks("foo", "bar")) << "the previous partition stays";
  }
}

}  // namespace
}  // namespace tenure::broker
