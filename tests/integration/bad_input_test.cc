// Bad input of every kind gets a clear error and changes nothing.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"

#include "integration/cluster.h"
#include <sys/stat.h>

namespace tenure::testing {
namespace {

using namespace tenure::literals;

using protocol::kSignature;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.StartBroker();
    cluster_.StartNode("foo");
    ASSERT_EQ(cluster_.Client({"create", "entity_1", "working"}).exit, 0);
    before_ = Dump(cluster_.db("foo"));
  }
  void ExpectUnchanged() { EXPECT_EQ(Dump(cluster_.db("foo")), before_); }

  Cluster cluster_;
  std::string before_;
};

TEST_F(BadInput, InvalidStateListsTheValidOnes) {
  CommandResult r = cluster_.Client({"set", "entity_1", "sleeping"});
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("invalid_state"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("initialized, working, finalized"), std::string::npos) << r.err;
  EXPECT_EQ(cluster_.Client({"create", "entity_9", "sleeping"}).exit, 2);
  EXPECT_EQ(cluster_.Client({"set", "entity_1", "working", "--expect", "zzz"}).exit, 2);
  ExpectUnchanged();
}

TEST_F(BadInput, BadIdsAreRefused) {
  for (const std::string& id : {std::string(""), std::string(256, 'x'), std::string("a\tb"),
                                std::string("a\x7f"
                                            "b")}) {
    CommandResult r = cluster_.Client({"get", id});
    EXPECT_EQ(r.exit, 2) << "id of " << id.size() << " bytes";
    EXPECT_NE(r.err.find("bad_request"), std::string::npos) << r.err;
  }
  EXPECT_EQ(cluster_.Client({"get", std::string(255, 'x')}).exit, 3) << "255 bytes is allowed";
  ExpectUnchanged();
}

TEST_F(BadInput, UnknownIdIsNotFoundAndLeavesNoTrace) {
  CommandResult r = cluster_.Client({"get", "ghost"});
  EXPECT_EQ(r.exit, 3);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  EXPECT_EQ(cluster_.Client({"set", "ghost", "working"}).exit, 3);
  ExpectUnchanged();
}

TEST_F(BadInput, UnknownCommandOrFlagIsAUsageError) {
  for (std::vector<std::string> args : {std::vector<std::string>{"frobnicate"},
                                        {"get"},
                                        {"get", "e", "--bogus"},
                                        {"set", "entity_1"},
                                        {"--timeout", "abc", "get", "e"},
                                        {"list", "--limit", "0"},
                                        {}}) {
    CommandResult r = cluster_.Client(args);
    EXPECT_EQ(r.exit, 2) << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  ExpectUnchanged();
}

// Garbage straight into the broker's ROUTER socket: dropped and counted.
TEST_F(BadInput, GarbageFramesToTheBrokerAreDropped) {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(cluster_.router());
  protocol::Request get;
  get.request_id = 1;
  get.entity_id = "entity_1";
  const std::string valid_get = protocol::Encode(get);
  std::vector<std::vector<std::string>> garbage = {
      {"hello"},
      {"TNR9", valid_get},
      {std::string(kSignature), ""},
      {std::string(kSignature), "\xc1"},
      {std::string(kSignature), valid_get.substr(0, valid_get.size() / 2)},
      {std::string(kSignature), valid_get + "x"},
      {std::string(kSignature), "\x93\x01\x02\x03"},
      {std::string(kSignature), "\xdf\xff\xff\xff\xff"},
      {std::string(kSignature), valid_get, "route", "extra"},
      {std::string(kSignature), std::string(1 << 20, 'z')},
      {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"},
  };
  for (int round = 0; round < 50; ++round) {
    for (const auto& frames : garbage) {
      for (std::size_t i = 0; i < frames.size(); ++i) {
        s.send(zmq::buffer(frames[i]),
               i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    }
  }
  CommandResult r = cluster_.Client({"get", "entity_1"});
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_TRUE(cluster_.broker().running());
  EXPECT_TRUE(cluster_.node("foo").running());
  EXPECT_NE(cluster_.broker().Log().find("dropped a bad message"), std::string::npos);
  ExpectUnchanged();
}

// A node behind a fake broker: garbage sent to it is dropped; it keeps serving.
TEST(BadFrames, GarbageFramesToANodeAreDropped) {
  TempDir dir;
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::rcvtimeo, 10000);
  const std::string endpoint = "ipc://" + dir.path() + "/router";
  router.bind(endpoint);
  Process node({BinDir() + "/worker_node", "--id", "foo", "--broker", endpoint, "--pub",
                "ipc://" + dir.path() + "/pub", "--db", dir.path() + "/foo.db"},
               dir.path() + "/foo.log");
  std::vector<zmq::message_t> hello;
  ASSERT_TRUE(zmq::recv_multipart(router, std::back_inserter(hello))) << node.Log();
  const std::string identity = hello[0].to_string();
  auto send = [&](std::vector<std::string> frames) {
    router.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      router.send(zmq::buffer(frames[i]),
                  i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  };
  protocol::Request create;
  create.request_id = 7;
  create.op = protocol::Op::kCreate;
  create.entity_id = "e1";
  create.state = "working";
  const std::string body = protocol::Encode(create);
  send({"garbage"});
  send({std::string(kSignature), "\xc1\xc1", "route"});
  send({std::string(kSignature), body.substr(0, 5), "route"});
  send({std::string(kSignature), body});  // A request without a route cannot be answered.
  send({std::string(kSignature),
        protocol::Encode(protocol::Heartbeat{"x", 1_inc, 1, 0, false, 0, {}}), "route"});
  send({std::string(kSignature), body, std::string(300, 'r')});
  send({std::string(kSignature), body, "route-1"});
  // The fake broker loops the node's lock traffic back to it (the node is its
  // own only voter), so that it can claim and serve.
  for (int i = 0; i < 1000; ++i) {
    std::vector<zmq::message_t> frames;
    ASSERT_TRUE(zmq::recv_multipart(router, std::back_inserter(frames))) << node.Log();
    std::vector<std::string_view> views;
    for (std::size_t j = 1; j < frames.size(); ++j) {
      views.emplace_back(static_cast<const char*>(frames[j].data()), frames[j].size());
    }
    Result<protocol::Envelope> env = protocol::ParseEnvelope(views);
    ASSERT_TRUE(env.ok());
    Result<protocol::Message> msg = protocol::Decode(env->body);
    ASSERT_TRUE(msg.ok());
    const auto* hb = std::get_if<protocol::Heartbeat>(&msg.value());
    const auto* lock = std::get_if<protocol::LockMessage>(&msg.value());
    if ((hb != nullptr && hb->to == "foo") || (lock != nullptr && lock->to == "foo")) {
      send({std::string(kSignature), std::string(env->body)});
      continue;
    }
    if (const auto* reply = std::get_if<protocol::Reply>(&msg.value())) {
      EXPECT_EQ(env->route, "route-1");
      EXPECT_EQ(reply->request_id, 7u);
      EXPECT_EQ(reply->code, ErrorCode::kOk) << reply->message;
      EXPECT_TRUE(node.running());
      EXPECT_NE(node.Log().find("dropped a bad message"), std::string::npos);
      return;
    }
  }
  FAIL() << "no reply to the valid request\n" << node.Log();
}

class BadDatabase : public ::testing::Test {
 protected:
  CommandResult StartNodeOn(const std::string& db) {
    return RunCommand(
        {BinDir() + "/worker_node", "--id", "foo", "--broker", "ipc://" + dir_.path() + "/router",
         "--pub", "ipc://" + dir_.path() + "/pub", "--db", db},
        "", milliseconds(10000));
  }
  TempDir dir_;
};

TEST_F(BadDatabase, MissingDirectoryIsReportedAndNotCreated) {
  const std::string missing = dir_.path() + "/no/such/dir";
  CommandResult r = StartNodeOn(missing + "/tenure.db");
  EXPECT_NE(r.exit, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/no"));
}

TEST_F(BadDatabase, FileThatIsNotSqliteIsRefusedAndUntouched) {
  const std::string path = dir_.path() + "/notes.db";
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "this is a text file, not a database\n";
  }
  std::ofstream(path) << text;
  CommandResult r = StartNodeOn(path);
  EXPECT_NE(r.exit, 0);
  EXPECT_NE(r.err.find("not a SQLite database"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(path), text);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_F(BadDatabase, SchemaNewerThanTheBinaryIsRefusedAndUntouched) {
  Cluster cluster;
  cluster.StartBroker();
  cluster.StartNode("foo");
  ASSERT_EQ(cluster.Client({"create", "e", "working"}).exit, 0);
  cluster.node("foo").Signal(SIGTERM);
  ASSERT_EQ(cluster.node("foo").Wait(milliseconds(10000)), 0);
  const std::string db = cluster.db("foo");
  CommandResult bump =
      RunCommand({"/usr/bin/sqlite3", db, "UPDATE schema_version SET version = 999"});
  ASSERT_EQ(bump.exit, 0) << bump.err;
  const std::string before = Dump(db);
  CommandResult r = StartNodeOn(db);
  EXPECT_NE(r.exit, 0);
  EXPECT_NE(r.err.find("999"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("newer"), std::string::npos) << r.err;
  EXPECT_EQ(Dump(db), before);
  EXPECT_EQ(Query(db, "SELECT max(version) FROM schema_version")[0][0], "999");
}

class BadConfig : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  CommandResult Node(std::vector<std::string> args) {
    args.insert(args.begin(), BinDir() + "/worker_node");
    return RunCommand(args, "", milliseconds(10000));
  }
  TempDir dir_;
};

TEST_F(BadConfig, UnreadableConfigFileIsAUsageError) {
  CommandResult r = Node({"--id", "foo", "--config", dir_.path() + "/missing.toml"});
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("missing.toml"), std::string::npos) << r.err;
  const std::string locked = Write("locked.toml", "id = \"foo\"\n");
  chmod(locked.c_str(), 0);
  if (access(locked.c_str(), R_OK) != 0) {  // Root can read it anyway.
    EXPECT_EQ(Node({"--config", locked}).exit, 2);
  }
}

TEST_F(BadConfig, UnknownKeysAndInvalidTomlAreErrors) {
  CommandResult unknown = Node({"--config", Write("a.toml", "id = \"foo\"\ndbb = \"x.db\"\n")});
  EXPECT_EQ(unknown.exit, 2);
  EXPECT_NE(unknown.err.find("dbb"), std::string::npos) << unknown.err;
  CommandResult invalid = Node({"--config", Write("b.toml", "id = \"foo\"\nidle = [\n")});
  EXPECT_EQ(invalid.exit, 2);
  EXPECT_NE(invalid.err.find("line"), std::string::npos) << invalid.err;
  CommandResult bad_value =
      Node({"--config", Write("c.toml", "id = \"foo\"\nsync = \"sometimes\"\n")});
  EXPECT_EQ(bad_value.exit, 2);
}

TEST_F(BadConfig, FlagsAreValidated) {
  EXPECT_EQ(Node({}).exit, 2) << "--id is required";
  EXPECT_EQ(Node({"--id", "bad id"}).exit, 2);
  EXPECT_EQ(Node({"--id", "foo", "--broker", "localhost"}).exit, 2);
  EXPECT_EQ(Node({"--id", "foo", "--idle", "soon"}).exit, 2);
  EXPECT_EQ(Node({"--id", "foo", "--voters", "foo,foo"}).exit, 2);
  EXPECT_EQ(Node({"--id", "foo", "--bogus"}).exit, 2);
  const std::string broker = BinDir() + "/broker";
  EXPECT_EQ(RunCommand({broker, "--voters", "a,a"}).exit, 2);
  EXPECT_EQ(RunCommand({broker, "--voters", "a,b c"}).exit, 2);
  EXPECT_EQ(RunCommand({broker, "--router", "nowhere"}).exit, 2);
  EXPECT_EQ(RunCommand({broker, "--lease", "abc"}).exit, 2);
  EXPECT_EQ(RunCommand({broker, "--config", dir_.path() + "/none.toml"}).exit, 2);
}

TEST_F(BadConfig, ConfigFileSetsOptionsAndFlagsOverrideIt) {
  Cluster cluster;
  cluster.StartBroker();
  const std::string config = Write("node.toml",
                                   "log_level = \"debug\"\n"
                                   "[worker_node]\n"
                                   "id = \"fromfile\"\n"
                                   "db = \"" +
                                       dir_.path() +
                                       "/file.db\"\n"
                                       "broker = \"" +
                                       cluster.router() +
                                       "\"\n"
                                       "pub = \"" +
                                       cluster.pub() +
                                       "\"\n"
                                       "[broker]\nrouter = \"tcp://127.0.0.1:1\"\n");
  Process node({BinDir() + "/worker_node", "--config", config, "--db", dir_.path() + "/flag.db"},
               dir_.path() + "/node.log");
  ASSERT_TRUE(WaitFor([&] { return cluster.NodeAlive("fromfile"); }, milliseconds(10000)))
      << node.Log();
  ASSERT_EQ(cluster.Client({"create", "e"}).exit, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/flag.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/file.db"));
}

}  // namespace
}  // namespace tenure::testing
