// Wall-clock jumps: the broker and a node run under libfaketime, whose offset
// the test moves a day forward and a day back while requests go on. Leases,
// heartbeats and timeouts run on the monotonic clock (tenure/base/time.h), so
// nothing may notice: no request fails and no lease is lost.
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include "integration/hostile_start.h"

namespace tenure::testing {
namespace {

constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// ISO 8601 UTC, as the store writes updated_at, `offset` from the real now.
std::string IsoUtc(std::chrono::seconds offset) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return text;
}

// In a sanitizer build, ASan refuses to start behind another preloaded
// library unless told that is fine; other builds ignore the variable.
std::string AsanOptionsAllowingPreload() {
  const char* inherited = std::getenv("ASAN_OPTIONS");
  std::string options = "ASAN_OPTIONS=verify_asan_link_order=0";
  if (inherited != nullptr && *inherited != '\0') {
    options += std::string(":") + inherited;
  }
  return options;
}

class WallClockJumps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kFaketime)) {
      GTEST_SKIP() << "libfaketime is not installed (scripts/setup installs it)";
    }
    SetOffset("+0");
    // Only the wall clock is faked; FAKETIME_NO_CACHE makes every clock read
    // see the file's current offset.
    options_.env = {std::string("LD_PRELOAD=") + kFaketime, "FAKETIME_DONT_FAKE_MONOTONIC=1",
                    "FAKETIME_TIMESTAMP_FILE=" + offset_file_, "FAKETIME_NO_CACHE=1",
                    AsanOptionsAllowingPreload()};
    broker_ = StartBrokerWith(cluster_, options_);
    node_ = StartNodeWith(cluster_, "foo", options_);
  }

  void SetOffset(const std::string& offset) { std::ofstream(offset_file_) << offset << "\n"; }

  // A set then a get of `id`, both answered; returns the version the set made.
  int SetAndGet(const std::string& id, const std::string& state) {
    nlohmann::json set = cluster_.ClientJson({"set", id, state});
    EXPECT_EQ(set["_exit"], 0) << set.dump();
    nlohmann::json got = cluster_.ClientJson({"get", id});
    EXPECT_EQ(got["_exit"], 0) << got.dump();
    EXPECT_EQ(got["state"], state);
    EXPECT_EQ(got["version"], set["version"]);
    return set.value("version", 0);
  }

  Cluster cluster_;
  const std::string offset_file_ = cluster_.path("faketime");
  SpawnOptions options_;
  std::unique_ptr<Process> broker_;
  std::unique_ptr<Process> node_;
};

TEST_F(WallClockJumps, RequestsGoOnAndNoLeaseIsLost) {
  ASSERT_EQ(cluster_.Client({"create", "e1"}).exit, 0);
  const std::string states[] = {"working", "finalized", "initialized"};
  int version = 1;
  int round = 0;
  for (const char* offset : {"+1d", "-1d", "+0"}) {
    SetOffset(offset);
    // Each offset stays for a whole lease: every heartbeat and renewal of
    // that lease is sent and checked under it.
    Hold(cluster_.lease());
    const std::string& state = states[round++ % 3];
    EXPECT_EQ(SetAndGet("e1", state), ++version) << "offset " << offset;
    if (std::string(offset) == "+1d") {
      // The jump reached the node: the store's timestamps (wall clock, by
      // design) are a day ahead.
      const std::string updated_at =
          Query(cluster_.db(), "SELECT updated_at FROM entities WHERE id = 'e1'")[0][0];
      EXPECT_GT(updated_at, IsoUtc(std::chrono::hours(12))) << "libfaketime had no effect";
    }
  }
  EXPECT_TRUE(cluster_.NodeAlive("foo"));
  EXPECT_TRUE(broker_->running());
  EXPECT_TRUE(node_->running());
  EXPECT_EQ(node_->Log().find("lost"), std::string::npos) << node_->Log();
  EXPECT_EQ(cluster_.ClientJson({"where", "e1"})["epoch"], 1) << "the tenure never ended";
}

}  // namespace
}  // namespace tenure::testing
