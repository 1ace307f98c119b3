// client bench and the Pipeline under it, against real processes: what the
// benchmark reports must be what the cluster did.
#include <set>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tenure/pipeline.h"

#include "integration/cluster.h"

namespace tenure::testing {
namespace {

nlohmann::json Bench(const Cluster& cluster, std::vector<std::string> args) {
  std::vector<std::string> argv = {BinDir() + "/client", "--json", "--broker", cluster.router(),
                                   "bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, {}, milliseconds(60000));
  EXPECT_EQ(r.exit, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << r.out;
  return j;
}

std::uint64_t Number(const std::string& db, const std::string& sql) {
  return std::stoull(Query(db, sql).at(0).at(0));
}

class BenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartBroker();
    cluster_.StartNode("foo");
  }
  Cluster cluster_;
};

TEST_F(BenchTest, ReportHasTheDocumentedKeys) {
  nlohmann::json j = Bench(cluster_, {"--op", "get", "--entities", "10", "--concurrency", "4",
                                      "--duration", "0.5", "--warmup", "0.1"});
  for (const char* key : {"op", "concurrency", "duration_s", "ops", "ops_per_s", "p50_us", "p90_us",
                          "p99_us", "p999_us", "max_us", "errors"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["op"], "get");
  EXPECT_EQ(j["concurrency"], 4);
  EXPECT_GT(j["ops"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_LE(j["p50_us"].get<double>(), j["p99_us"].get<double>());
  EXPECT_LE(j["p99_us"].get<double>(), j["max_us"].get<double>());
  EXPECT_EQ(Number(cluster_.db(),
                   "SELECT count(*) FROM entities WHERE id LIKE 'bench\\_%' "
                   "ESCAPE '\\'"),
            10u);
}

// Every acknowledged set bumped a version; sets still in flight when the
// window closed were applied but not counted (at most one per slot).
TEST_F(BenchTest, CountedSetsAreTheVersionsWritten) {
  nlohmann::json j = Bench(cluster_, {"--op", "set", "--entities", "20", "--prefix", "s_",
                                      "--concurrency", "8", "--duration", "1", "--warmup", "0"});
  const std::uint64_t ops = j["ops"];
  ASSERT_GT(ops, 0u);
  EXPECT_EQ(j["errors"], 0);
  const std::uint64_t writes =
      Number(cluster_.db(), "SELECT sum(version) - count(*) FROM entities WHERE id LIKE 's_%'");
  EXPECT_GE(writes, ops);
  EXPECT_LE(writes, ops + 8);
}

TEST_F(BenchTest, CreateWithEntitiesCreatesExactlyThatMany) {
  nlohmann::json j = Bench(
      cluster_, {"--op", "create", "--entities", "300", "--prefix", "c_", "--concurrency", "16"});
  EXPECT_EQ(j["ops"], 300);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(Number(cluster_.db(), "SELECT count(*) FROM entities WHERE id LIKE 'c_%'"), 300u);
  // The same ids again: each one a conflict, none written twice.
  std::vector<std::string> argv = {BinDir() + "/client",
                                   "--json",
                                   "--broker",
                                   cluster_.router(),
                                   "bench",
                                   "--op",
                                   "create",
                                   "--entities",
                                   "300",
                                   "--prefix",
                                   "c_"};
  CommandResult again = RunCommand(argv, {}, milliseconds(60000));
  EXPECT_NE(again.exit, 0);
  nlohmann::json j2 = nlohmann::json::parse(again.out);
  EXPECT_EQ(j2["ops"], 0);
  EXPECT_EQ(j2["error_kinds"]["conflict"], 300);
}

TEST_F(BenchTest, MixReadsAndWrites) {
  nlohmann::json j = Bench(cluster_, {"--op", "mix", "--entities", "20", "--prefix", "m_",
                                      "--concurrency", "8", "--duration", "1", "--warmup", "0"});
  const std::uint64_t ops = j["ops"];
  ASSERT_GT(ops, 0u);
  EXPECT_EQ(j["errors"], 0);
  // About one in ten is a set: some versions moved, far fewer than the ops.
  const std::uint64_t writes =
      Number(cluster_.db(), "SELECT sum(version) - count(*) FROM entities WHERE id LIKE 'm_%'");
  EXPECT_GT(writes, 0u);
  EXPECT_LT(writes, ops / 2);
}

TEST_F(BenchTest, CasCountsConflictsAsErrorsAndNeverLosesAVersion) {
  nlohmann::json j = Bench(cluster_, {"--op", "cas", "--entities", "4", "--prefix", "k_",
                                      "--concurrency", "8", "--duration", "1", "--warmup", "0"});
  const std::uint64_t ops = j["ops"];
  ASSERT_GT(ops, 0u);
  const std::uint64_t writes =
      Number(cluster_.db(), "SELECT sum(version) - count(*) FROM entities WHERE id LIKE 'k_%'");
  EXPECT_GE(writes, ops);
  EXPECT_LE(writes, ops + 8);
}

TEST_F(BenchTest, BadFlagsAreRefusedBeforeAnyRequest) {
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{{"--op", "delete"},
                                                                            {"--concurrency", "0"},
                                                                            {"--prefix", "bad\tid"},
                                                                            {"--duration", "-1"},
                                                                            {"--entities", "0"}}) {
    std::vector<std::string> argv = {BinDir() + "/client", "--broker", cluster_.router(), "bench"};
    argv.insert(argv.end(), bad.begin(), bad.end());
    EXPECT_EQ(RunCommand(argv).exit, 2) << bad[0];
  }
  EXPECT_EQ(Number(cluster_.db(), "SELECT count(*) FROM entities"), 0u);
}

TEST(EchoBaseline, AnswersThroughTheBroker) {
  Cluster cluster;
  cluster.StartBroker();
  Process echo({BinDir() + "/echo_node", "--id", "echo", "--broker", cluster.router()},
               cluster.path("echo.log"));
  ASSERT_TRUE(WaitFor([&] { return cluster.NodeAlive("echo"); }, milliseconds(10000)));
  nlohmann::json j = Bench(cluster, {"--op", "get", "--via", "echo", "--no-prepare",
                                     "--concurrency", "8", "--duration", "0.5", "--warmup", "0"});
  EXPECT_GT(j["ops"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["errors"], 0);
  echo.Signal(SIGTERM);
  EXPECT_EQ(echo.Wait(milliseconds(5000)), 0);
}

// Each call completes exactly once, under its own tag, with its own entity.
TEST_F(BenchTest, PipelineCompletesEveryCallOnceUnderItsTag) {
  Pipeline p(ClientOptions{cluster_.router(), milliseconds(5000), {}});
  constexpr int kCalls = 300;
  for (int i = 0; i < kCalls; ++i) {
    const std::string id = "p_" + std::to_string(i % 30);
    if (i < 30) {
      p.Create(id, "initialized", static_cast<std::uint64_t>(i));
    } else {
      p.Get(id, static_cast<std::uint64_t>(i));
    }
  }
  p.Get("bad\x01id", 1000);  // A control character: no valid id.
  std::vector<Completion> done;
  ASSERT_TRUE(WaitFor(
      [&] {
        p.Wait(milliseconds(50), done);
        return p.in_flight() == 0;
      },
      milliseconds(20000)));
  ASSERT_EQ(done.size(), static_cast<std::size_t>(kCalls + 1));
  std::set<std::uint64_t> tags;
  for (const Completion& c : done) {
    tags.insert(c.tag);
    if (c.tag == 1000) {
      ASSERT_FALSE(c.result.ok());
      EXPECT_EQ(c.result.error().code, ErrorCode::kBadRequest);
      continue;
    }
    // A get may overtake the create of its entity: not_found is then right.
    if (!c.result.ok()) {
      EXPECT_EQ(c.result.error().code, ErrorCode::kNotFound) << c.result.error().message;
      continue;
    }
    EXPECT_EQ(c.result.value().id, "p_" + std::to_string(c.tag % 30));
  }
  EXPECT_EQ(tags.size(), static_cast<std::size_t>(kCalls + 1));
}

// A broker that never answers: every call times out once, writes say their
// outcome is unknown.
TEST(PipelineTimeout, UnansweredCallsTimeOutOnce) {
  TempDir dir;
  zmq::context_t context(1);
  zmq::socket_t silent(context, zmq::socket_type::router);
  const std::string endpoint = "ipc://" + dir.path() + "/silent";
  silent.bind(endpoint);
  Pipeline p(ClientOptions{endpoint, milliseconds(300), {}});
  p.Get("a", 1);
  p.Set("b", "working", {}, 2);
  std::vector<Completion> done;
  ASSERT_TRUE(WaitFor(
      [&] {
        p.Wait(milliseconds(50), done);
        return p.in_flight() == 0;
      },
      milliseconds(5000)));
  ASSERT_EQ(done.size(), 2u);
  for (const Completion& c : done) {
    ASSERT_FALSE(c.result.ok());
    EXPECT_EQ(c.result.error().code, ErrorCode::kUnavailable);
    EXPECT_EQ(c.result.error().write_outcome_unknown, c.tag == 2);
    EXPECT_GE(c.latency, milliseconds(300));
  }
}

}  // namespace
}  // namespace tenure::testing
