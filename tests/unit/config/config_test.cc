// Tests of configuration: TOML files under --config, overridden by flags, and
// the endpoint and voter checks (tenure/config/config.h).
#include "tenure/config/config.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tenure::config {
namespace {

// The options a worker_node-like executable declares.
struct Options {
  std::string id;
  std::string broker = "tcp://127.0.0.1:5555";
  std::vector<std::string> voters;
  std::string lease = "2000";
  int mailbox = 1024;
  bool verbose = false;
  std::string zone;  // Sorts after "worker_node", where "id" sorts before it.
  std::string log_level = "info";
};

struct Outcome {
  bool ok = false;
  std::string error;  // The CLI11 error text when !ok.
  Options options;
};

void Declare(CLI::App& app, Options& options) {
  app.add_option("--id", options.id)->check(NodeIdValidator());
  app.add_option("--broker", options.broker)->check(EndpointValidator());
  app.add_option("--voters", options.voters)->delimiter(',')->check(NodeIdValidator());
  app.add_option("--lease", options.lease);
  app.add_option("--mailbox", options.mailbox);
  app.add_flag("--verbose", options.verbose);
  app.add_option("--zone", options.zone);
  app.add_option("--log-level", options.log_level);
  AddConfigFile(app, "worker_node");
}

Outcome Parse(std::vector<std::string> args) {
  Outcome out;
  CLI::App app("test", "worker_node");
  Declare(app, out.options);
  args.insert(args.begin(), "worker_node");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    out.ok = true;
  } catch (const CLI::ParseError& e) {
    out.error = e.what();
  }
  return out;
}

// Parses `text` with ParseConfigText instead of a --config file.
Outcome ParseText(const std::string& text) {
  Outcome out;
  CLI::App app("test", "worker_node");
  Declare(app, out.options);
  try {
    ParseConfigText(app, text);
    out.ok = true;
  } catch (const CLI::ParseError& e) {
    out.error = e.what();
  }
  return out;
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tenure-config-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(dir_, ignored);
  }

  // Writes `text` to a file in the temp dir and returns its path.
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // Parses with --config <a file holding `text`> followed by `flags`.
  Outcome ParseWith(const std::string& text, std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"--config", Write("tenure.toml", text)});
    return Parse(flags);
  }

  std::string dir_;
};

TEST_F(ConfigFile, NoConfigFlagReadsNothing) {
  Outcome o = Parse({"--id", "foo"});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "foo");
  EXPECT_EQ(o.options.broker, "tcp://127.0.0.1:5555");
}

TEST_F(ConfigFile, TopLevelKeysAreApplied) {
  Outcome o = ParseWith(
      "id = \"foo\"\n"
      "broker = \"tcp://10.0.0.1:7000\"\n"
      "lease = \"3s\"\n"
      "mailbox = 64\n"
      "verbose = true\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "foo");
  EXPECT_EQ(o.options.broker, "tcp://10.0.0.1:7000");
  EXPECT_EQ(o.options.lease, "3s");
  EXPECT_EQ(o.options.mailbox, 64);
  EXPECT_TRUE(o.options.verbose);
}

TEST_F(ConfigFile, KeysOfTheOwnSectionAreApplied) {
  Outcome o = ParseWith(
      "[worker_node]\n"
      "id = \"bar\"\n"
      "lease = 500\n"
      "verbose = false\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "bar");
  EXPECT_EQ(o.options.lease, "500");
  EXPECT_FALSE(o.options.verbose);
}

TEST_F(ConfigFile, SnakeCaseKeysSetKebabCaseOptions) {
  // TOML keys are snake_case by convention; long flags are kebab-case.
  Outcome top = ParseWith("log_level = \"debug\"\n");
  ASSERT_TRUE(top.ok) << top.error;
  EXPECT_EQ(top.options.log_level, "debug");
  Outcome section = ParseWith("[worker_node]\nlog_level = \"warn\"\n");
  ASSERT_TRUE(section.ok) << section.error;
  EXPECT_EQ(section.options.log_level, "warn");
  Outcome kebab = ParseWith("log-level = \"error\"\n");
  ASSERT_TRUE(kebab.ok) << kebab.error;
  EXPECT_EQ(kebab.options.log_level, "error");
}

TEST_F(ConfigFile, TopLevelAndSectionKeysCombine) {
  Outcome o = ParseWith(
      "broker = \"tcp://10.0.0.1:7000\"\n"
      "[worker_node]\n"
      "id = \"bar\"\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.broker, "tcp://10.0.0.1:7000");
  EXPECT_EQ(o.options.id, "bar");
}

TEST_F(ConfigFile, OwnSectionWinsOverTheTopLevel) {
  // Whatever the key's name and wherever it sits in the file.
  Outcome o = ParseWith(
      "id = \"top\"\n"
      "zone = \"top\"\n"
      "mailbox = 1\n"
      "[worker_node]\n"
      "id = \"section\"\n"
      "zone = \"section\"\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "section");
  EXPECT_EQ(o.options.zone, "section");
  EXPECT_EQ(o.options.mailbox, 1);
}

TEST_F(ConfigFile, OtherSectionsAreIgnored) {
  // One file can configure every executable; keys this one does not know are
  // fine in another executable's section.
  Outcome o = ParseWith(
      "id = \"foo\"\n"
      "[broker]\n"
      "router = \"tcp://127.0.0.1:6000\"\n"
      "id = \"not-mine\"\n"
      "[client]\n"
      "timeout = \"5s\"\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "foo");
}

TEST_F(ConfigFile, FlagsOverrideTheFile) {
  Outcome o = ParseWith(
      "id = \"foo\"\n"
      "voters = [\"a\", \"b\"]\n"
      "[worker_node]\n"
      "lease = \"3s\"\n",
      {"--id", "bar", "--lease", "1s", "--voters", "c"});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "bar");
  EXPECT_EQ(o.options.lease, "1s");
  EXPECT_EQ(o.options.voters, (std::vector<std::string>{"c"}));
}

TEST_F(ConfigFile, FlagsBeforeTheConfigFlagAlsoWin) {
  const std::string path = Write("a.toml", "id = \"foo\"\n");
  Outcome o = Parse({"--id", "bar", "--config", path});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "bar");
}

TEST_F(ConfigFile, ArraysFillVectorOptions) {
  Outcome o = ParseWith("voters = [\"foo\", \"bar\", \"baz\"]\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.voters, (std::vector<std::string>{"foo", "bar", "baz"}));
}

TEST_F(ConfigFile, ArraysInTheOwnSectionFillVectorOptions) {
  Outcome o = ParseWith("[worker_node]\nvoters = [\"foo\", \"bar\"]\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.voters, (std::vector<std::string>{"foo", "bar"}));
}

TEST_F(ConfigFile, CommaSeparatedFlagFillsTheSameVector) {
  Outcome o = Parse({"--voters", "foo,bar"});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.voters, (std::vector<std::string>{"foo", "bar"}));
}

TEST_F(ConfigFile, ValuesFromTheFileAreValidated) {
  Outcome bad_voter = ParseWith("voters = [\"foo\", \"not a node id\"]\n");
  EXPECT_FALSE(bad_voter.ok);
  Outcome bad_endpoint = ParseWith("broker = \"http://x\"\n");
  EXPECT_FALSE(bad_endpoint.ok);
  EXPECT_NE(bad_endpoint.error.find("http://x"), std::string::npos) << bad_endpoint.error;
  Outcome bad_number = ParseWith("mailbox = \"lots\"\n");
  EXPECT_FALSE(bad_number.ok);
}

TEST_F(ConfigFile, UnknownTopLevelKeyIsAnError) {
  Outcome o = ParseWith("id = \"foo\"\nlaese = \"2s\"\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("laese"), std::string::npos) << o.error;
}

TEST_F(ConfigFile, UnknownKeyInTheOwnSectionIsAnError) {
  Outcome o = ParseWith("[worker_node]\nidel = \"5m\"\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("idel"), std::string::npos) << o.error;
}

TEST_F(ConfigFile, UnknownSectionIsAnError) {
  // A misspelled section would otherwise drop all of its keys silently.
  Outcome o = ParseWith("[worker-node]\nid = \"foo\"\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("[worker-node]"), std::string::npos) << o.error;
  Outcome inline_table = ParseWith("id = { name = \"foo\" }\n");
  EXPECT_FALSE(inline_table.ok);
}

TEST_F(ConfigFile, NestedTableInTheOwnSectionIsAnError) {
  Outcome o = ParseWith("[worker_node]\nid = \"foo\"\n[worker_node.extra]\nx = 1\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("nested"), std::string::npos) << o.error;
}

TEST_F(ConfigFile, InvalidTomlIsAnErrorNamingTheLine) {
  Outcome o = ParseWith(
      "id = \"foo\"\n"
      "\n"
      "broker = tcp://unquoted:1\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("not valid TOML"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("line 3"), std::string::npos) << o.error;
}

TEST_F(ConfigFile, NonAsciiIsAllowedInCommentLinesOnly) {
  // Refused before toml++ sees it: see toml_prescan.h.
  Outcome o = ParseWith("id = \"foo\"\nzone = \"caf\xc3\xa9\"\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("non-ASCII"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("line 2"), std::string::npos) << o.error;
  Outcome comment = ParseWith("# caf\xc3\xa9\nzone = \"cafe\"\n");
  ASSERT_TRUE(comment.ok) << comment.error;
  EXPECT_EQ(comment.options.zone, "cafe");
}

TEST_F(ConfigFile, DuplicateKeyIsInvalidToml) {
  Outcome o = ParseWith("id = \"a\"\nid = \"b\"\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("line 2"), std::string::npos) << o.error;
}

TEST_F(ConfigFile, MissingFileIsAnErrorNamingIt) {
  const std::string path = dir_ + "/does-not-exist.toml";
  Outcome o = Parse({"--config", path});
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("cannot read config file"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find(path), std::string::npos) << o.error;
}

TEST_F(ConfigFile, DirectoryIsAnErrorNamingIt) {
  Outcome o = Parse({"--config", dir_});
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find(dir_), std::string::npos) << o.error;
}

TEST_F(ConfigFile, UnreadableFileIsAnError) {
  const std::string path = Write("secret.toml", "id = \"foo\"\n");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  if (access(path.c_str(), R_OK) == 0) {
    GTEST_SKIP() << "running with permission to read any file (root?)";
  }
  Outcome o = Parse({"--config", path});
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("cannot read config file"), std::string::npos) << o.error;
}

TEST_F(ConfigFile, EmptyFileIsFine) {
  Outcome o = ParseWith("");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.broker, "tcp://127.0.0.1:5555");
}

TEST_F(ConfigFile, CommentsAreFine) {
  Outcome o = ParseWith("# a cluster\nid = \"foo\"  # this node\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.options.id, "foo");
}

TEST_F(ConfigFile, TextParsesAsTheSameFileDoes) {
  const std::string text =
      "id = \"top\"\n"
      "voters = [\"foo\", \"bar\"]\n"
      "mailbox = 64\n"
      "[worker_node]\n"
      "id = \"section\"\n"
      "log_level = \"debug\"\n"
      "verbose = true\n";
  Outcome file = ParseWith(text);
  Outcome parsed = ParseText(text);
  ASSERT_TRUE(file.ok) << file.error;
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.options.id, "section");
  EXPECT_EQ(parsed.options.id, file.options.id);
  EXPECT_EQ(parsed.options.voters, file.options.voters);
  EXPECT_EQ(parsed.options.mailbox, file.options.mailbox);
  EXPECT_EQ(parsed.options.log_level, file.options.log_level);
  EXPECT_EQ(parsed.options.verbose, file.options.verbose);
  EXPECT_EQ(parsed.options.broker, file.options.broker);  // The default, in both.
}

TEST_F(ConfigFile, TextIsRefusedAsTheSameFileIs) {
  for (const std::string text :
       {"laese = \"2s\"\n", "[worker-node]\nid = \"foo\"\n", "broker = tcp://unquoted:1\n",
        "voters = [\"not an id\"]\n", "mailbox = \"lots\"\n", "config = \"other.toml\"\n"}) {
    Outcome file = ParseWith(text);
    Outcome parsed = ParseText(text);
    EXPECT_FALSE(file.ok) << text;
    EXPECT_FALSE(parsed.ok) << text;
    EXPECT_EQ(parsed.error, file.error) << text;
  }
}

TEST(ValidateEndpoint, AcceptsTheSupportedForms) {
  for (const char* endpoint :
       {"tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://*:5555", "tcp://localhost:1",
        "tcp://broker.example.com:65535", "tcp://[::1]:5555", "tcp://eth0:5555",
        "tcp://127.0.0.1:0", "ipc:///tmp/x", "ipc://relative.sock", "inproc://broker"}) {
    Status s = ValidateEndpoint(endpoint);
    EXPECT_TRUE(s.ok()) << endpoint << ": " << s.ToString();
  }
}

TEST(ValidateEndpoint, RejectsEverythingElse) {
  for (const char* endpoint : {"",
                               "127.0.0.1:5555",
                               "tcp://host",
                               "tcp://127.0.0.1",
                               "tcp://",
                               "ipc://",
                               "inproc://",
                               "http://x",
                               "http://x:80",
                               "TCP://127.0.0.1:5555",
                               "tcp:/127.0.0.1:5555",
                               "udp://127.0.0.1:5555",
                               "tcp://127.0.0.1:",
                               "tcp://:5555",
                               "tcp://127.0.0.1:abc",
                               "tcp://127.0.0.1:65536",
                               "tcp://127.0.0.1:-1",
                               "tcp://127.0.0.1:+5",
                               "tcp://127.0.0.1:5555x",
                               "tcp://127.0.0.1:**"}) {
    Status s = ValidateEndpoint(endpoint);
    EXPECT_FALSE(s.ok()) << "'" << endpoint << "' accepted";
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest);
    EXPECT_NE(s.message().find(endpoint), std::string::npos) << s.message();
  }
}

TEST(ValidateEndpoint, SaysWhatIsMissing) {
  EXPECT_NE(ValidateEndpoint("tcp://host").message().find("needs a port"), std::string::npos);
  EXPECT_NE(ValidateEndpoint("x").message().find("tcp://host:port"), std::string::npos);
}

TEST(ValidateVoters, AcceptsDistinctNodeIds) {
  EXPECT_TRUE(ValidateVoters({}).ok());
  EXPECT_TRUE(ValidateVoters({"foo"}).ok());
  EXPECT_TRUE(ValidateVoters({"foo", "bar", "baz"}).ok());
  EXPECT_TRUE(ValidateVoters({"a", "A"}).ok());  // Ids are case-sensitive.
}

TEST(ValidateVoters, RejectsDuplicates) {
  Status s = ValidateVoters({"foo", "bar", "foo"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kBadRequest);
  EXPECT_NE(s.message().find("'foo'"), std::string::npos) << s.message();
}

TEST(ValidateVoters, RejectsBadIds) {
  for (const std::vector<std::string>& voters : std::vector<std::vector<std::string>>{
           {""}, {"foo", ""}, {"a b"}, {"foo", "bar/baz"}, {std::string(65, 'n')}}) {
    Status s = ValidateVoters(voters);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest);
    EXPECT_NE(s.message().find("voter"), std::string::npos) << s.message();
  }
}

TEST(Validators, WrapTheChecksForCli11) {
  std::string endpoint = "tcp://127.0.0.1:5555";
  EXPECT_EQ(EndpointValidator()(endpoint), "");
  std::string bad_endpoint = "tcp://host";
  EXPECT_NE(EndpointValidator()(bad_endpoint), "");
  std::string node = "foo";
  EXPECT_EQ(NodeIdValidator()(node), "");
  std::string bad_node = "f o o";
  EXPECT_NE(NodeIdValidator()(bad_node), "");
}

}  // namespace
}  // namespace tenure::config
