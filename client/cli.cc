#include "tenure/cli/cli.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tenure/base/ids.h"
#include "tenure/cli/bench.h"
#include "tenure/client.h"
#include "tenure/config/config.h"

#include <signal.h>

namespace tenure::cli {
namespace {

using nlohmann::json;

struct Globals {
  std::string broker = "tcp://127.0.0.1:5555";
  int timeout_ms = 5000;
  bool json = false;
  std::string via;
  std::string pub = "tcp://127.0.0.1:5556";  // watch only.
};

struct Command {
  std::string name;  // get, set, create, list, nodes, where, history, watch, shell
  std::string id;
  std::string state;
  std::string expect;
  std::optional<std::uint64_t> if_version;
  std::uint32_t limit = 0;
  std::string after;
  std::vector<std::string> ids;  // watch: empty = every entity and node.
  BenchOptions bench;
};

// What one command produced: JSON for scripts, text for people, an exit code.
struct Outcome {
  json object;
  std::string text;
  int exit = 0;
};

json EntityJson(const Entity& e) {
  return {{"id", e.id},
          {"state", e.state},
          {"version", e.version},
          {"owner", e.owner},
          {"epoch", e.epoch}};
}

std::string EntityText(const Entity& e) {
  std::ostringstream s;
  s << e.id << "  " << e.state << "  v" << e.version
    << "  owner=" << (e.owner.empty() ? "-" : e.owner) << "  epoch=" << e.epoch;
  return s.str();
}

// One history line: "epoch 2  foo  <acquired> -> <released or now>  <reason>".
std::string TenureText(const Tenure& t) {
  std::string line = "epoch " + std::to_string(t.epoch) + "  " + t.node + "  " + t.acquired_at +
                     " -> " + (t.released_at.empty() ? "now" : t.released_at);
  if (!t.reason.empty()) {
    line += "  " + t.reason;
  }
  return line;
}

// Empty strings of an open tenure are null in JSON: it has no end yet.
json TenureJson(const Tenure& t) {
  return {{"node", t.node},
          {"epoch", t.epoch},
          {"acquired_at", t.acquired_at},
          {"released_at", t.released_at.empty() ? json(nullptr) : json(t.released_at)},
          {"reason", t.reason.empty() ? json(nullptr) : json(t.reason)}};
}

// "changed entity_1 working v3 epoch 2 on foo", "node_down foo (session expired)".
std::string WatchText(const WatchEvent& e) {
  std::string line = e.kind;
  if (e.id.empty()) {
    line += " " + e.node;
  } else {
    line += " " + e.id;
    if (!e.state.empty()) {
      line += " " + e.state;
    }
    line += " v" + std::to_string(e.version) + " epoch " + std::to_string(e.epoch);
    if (!e.node.empty()) {
      line += " on " + e.node;
    }
  }
  if (!e.reason.empty()) {
    line += " (" + e.reason + ")";
  }
  return line;
}

// The event's fields, leaving out the empty ones (as the wire does).
json WatchJson(const WatchEvent& e) {
  json o = {{"event", e.kind}};
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"id", &e.id}, {"state", &e.state}}) {
    if (!value->empty()) {
      o[key] = *value;
    }
  }
  if (e.version != 0) {
    o["version"] = e.version;
  }
  if (e.epoch != 0) {
    o["epoch"] = e.epoch;
  }
  if (!e.node.empty()) {
    o["node"] = e.node;
  }
  if (!e.reason.empty()) {
    o["reason"] = e.reason;
  }
  return o;
}

Outcome ErrorOutcome(const ClientError& e) {
  Outcome o;
  o.exit = ExitCodeFor(e.code);
  o.object = {{"error", std::string(ErrorName(e.code))}, {"message", e.message}};
  std::string text = "error: " + std::string(ErrorName(e.code)) + ": " + e.message;
  if (!e.actual_state.empty()) {
    o.object["state"] = e.actual_state;
  }
  if (e.actual_version) {
    o.object["version"] = *e.actual_version;
  }
  if (e.write_outcome_unknown) {
    o.object["outcome"] = "unknown";
  }
  o.text = std::move(text);
  return o;
}

Outcome EntityOutcome(const ClientResult<Entity>& r) {
  if (!r.ok()) {
    return ErrorOutcome(r.error());
  }
  return {EntityJson(r.value()), EntityText(r.value()), 0};
}

Outcome Execute(Client& client, const Command& cmd) {
  if (cmd.name == "get") {
    return EntityOutcome(client.Get(cmd.id));
  }
  if (cmd.name == "set") {
    return EntityOutcome(client.Set(cmd.id, cmd.state, SetOptions{cmd.expect, cmd.if_version}));
  }
  if (cmd.name == "create") {
    return EntityOutcome(client.Create(cmd.id, cmd.state.empty() ? "initialized" : cmd.state));
  }
  if (cmd.name == "list") {
    ClientResult<std::vector<Entity>> r = client.List(cmd.limit, cmd.after);
    if (!r.ok()) {
      return ErrorOutcome(r.error());
    }
    Outcome o;
    o.object = {{"entities", json::array()}};
    std::ostringstream text;
    for (const Entity& e : r.value()) {
      o.object["entities"].push_back(EntityJson(e));
      text << EntityText(e) << "\n";
    }
    if (r.value().empty()) {
      text << "(no entities)\n";
    }
    o.text = text.str();
    o.text.pop_back();
    return o;
  }
  if (cmd.name == "where") {
    ClientResult<Entity> r = client.Where(cmd.id);
    if (!r.ok()) {
      return ErrorOutcome(r.error());
    }
    const Entity& e = r.value();
    return {EntityJson(e),
            e.id + "  owner=" + (e.owner.empty() ? "-" : e.owner) +
                "  epoch=" + std::to_string(e.epoch),
            0};
  }
  if (cmd.name == "history") {
    ClientResult<std::vector<Tenure>> r = client.History(cmd.id);
    if (!r.ok()) {
      return ErrorOutcome(r.error());
    }
    Outcome o;
    o.object = {{"id", cmd.id}, {"tenures", json::array()}};
    std::string text;
    for (const Tenure& t : r.value()) {
      o.object["tenures"].push_back(TenureJson(t));
      text += (text.empty() ? "" : "\n") + TenureText(t);
    }
    o.text = text.empty() ? "(no tenures)" : text;
    return o;
  }
  if (cmd.name == "nodes") {
    ClientResult<std::vector<NodeInfo>> r = client.Nodes();
    if (!r.ok()) {
      return ErrorOutcome(r.error());
    }
    Outcome o;
    o.object = {{"nodes", json::array()}};
    std::ostringstream text;
    text << "node        voter  alive  incarnation       entities  last_heartbeat_ms";
    for (const NodeInfo& n : r.value()) {
      o.object["nodes"].push_back({{"id", n.id},
                                   {"voter", n.voter},
                                   {"alive", n.alive},
                                   {"incarnation", n.incarnation},
                                   {"entities", n.entities},
                                   {"heartbeat_age_ms", n.heartbeat_age_ms}});
      char line[160];
      std::snprintf(line, sizeof line, "\n%-10s  %-5s  %-5s  %016llx  %8u  %17lld", n.id.c_str(),
                    n.voter ? "yes" : "no", n.alive ? "yes" : "no",
                    static_cast<unsigned long long>(n.incarnation), n.entities,
                    static_cast<long long>(n.heartbeat_age_ms));
      text << line;
    }
    o.text = text.str();
    return o;
  }
  ClientError e{ErrorCode::kBadRequest, "unknown command '" + cmd.name + "'", {}, {}, false};
  return ErrorOutcome(e);
}

void Print(const Outcome& o, bool as_json, std::ostream& out, std::ostream& err) {
  if (as_json) {
    out << o.object.dump() << "\n";
  } else if (o.exit == 0) {
    out << o.text << "\n";
  } else {
    err << o.text << "\n";
  }
  out.flush();
}

void AddBench(CLI::App& app, BenchOptions& b) {
  auto* bench =
      app.add_subcommand("bench", "Measure throughput and latency with many requests in flight");
  bench->add_option("--op", b.op, "get, set, cas (set --if-version), create or mix (90% get)")
      ->check(CLI::IsMember({"get", "set", "cas", "create", "mix"}))
      ->capture_default_str();
  bench
      ->add_option("--entities", b.entities,
                   "Entities used, ids <prefix>0..N-1 (default 1000); for create: stop after N "
                   "(default: no limit)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  bench->add_option("--concurrency", b.concurrency, "Requests in flight")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  bench->add_option("--duration", b.duration_s, "Seconds measured")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  bench
      ->add_option("--warmup", b.warmup_s,
                   "Seconds run first, not measured (none with --once or create --entities)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  bench->add_option("--prefix", b.prefix,
                    "Entity id prefix (default bench_; for create bench_<run tag>_)");
  bench->add_flag("--once", b.once,
                  "Visit each entity exactly once, in order, then stop (no warmup; "
                  "--duration still caps the run): an activation sweep");
  bench->add_flag("!--no-prepare", b.prepare, "Do not create missing entities first");
  bench->footer(
      "Reports throughput, latency percentiles and errors by kind; with --json one\n"
      "object with the keys op, concurrency, duration_s, ops, ops_per_s, p50_us,\n"
      "p90_us, p99_us, p999_us, max_us, errors (a count) and error_kinds.\n"
      "ops counts successful requests only; every other outcome is an error.");
}

// Declares the commands on `app`. `top_level` is false inside the shell, which
// takes neither `shell` nor `watch`.
void AddCommands(CLI::App& app, Globals& g, Command& cmd, bool top_level) {
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--broker", g.broker, "Broker ROUTER endpoint")
      ->check(config::EndpointValidator())
      ->capture_default_str();
  app.add_option("--timeout", g.timeout_ms, "Milliseconds to wait for a reply")
      ->check(CLI::Range(1, 3600 * 1000))
      ->capture_default_str();
  app.add_flag("--json", g.json, "Print JSON");
  app.add_option("--via", g.via, "Enter the cluster through this node")
      ->check(config::NodeIdValidator());
  app.add_option("--pub", g.pub, "Broker PUB endpoint (for watch)")
      ->check(config::EndpointValidator())
      ->capture_default_str();

  auto* get = app.add_subcommand("get", "Read an entity");
  get->add_option("id", cmd.id, "Entity id")->required();
  auto* set = app.add_subcommand("set", "Set an entity's state");
  set->add_option("id", cmd.id, "Entity id")->required();
  set->add_option("state", cmd.state, "New state")->required();
  set->add_option("--expect", cmd.expect, "Only if the current state is this");
  set->add_option("--if-version", cmd.if_version, "Only if the current version is this");
  auto* create = app.add_subcommand("create", "Create an entity");
  create->add_option("id", cmd.id, "Entity id")->required();
  create->add_option("state", cmd.state, "Initial state (default: initialized)");
  auto* list = app.add_subcommand("list", "List entities from the store, by id");
  list->add_option("--limit", cmd.limit, "Rows to list (default 100)")->check(CLI::Range(1, 1000));
  list->add_option("--after", cmd.after, "Start after this id");
  app.add_subcommand("nodes", "List the nodes the broker knows");
  auto* where = app.add_subcommand("where", "Show which node owns an entity, and its epoch");
  where->add_option("id", cmd.id, "Entity id")->required();
  auto* history =
      app.add_subcommand("history", "List an entity's tenures (owner, epoch, times), oldest first");
  history->add_option("id", cmd.id, "Entity id")->required();
  if (top_level) {
    auto* watch =
        app.add_subcommand("watch", "Print news of entities (all, and node news, if no id given)");
    watch->add_option("id", cmd.ids, "Entity ids");
    watch->footer(
        "Reads the broker's PUB socket (--pub) and prints one line per event until\n"
        "Ctrl-C or SIGTERM (exit 0), e.g. 'changed entity_1 working v3 epoch 2 on foo';\n"
        "with --json one object per line with the keys event, id, state, version,\n"
        "epoch, node and reason, leaving out empty ones. News published before the\n"
        "subscription reaches the broker is not shown; a version that skips one\n"
        "means news was missed: re-read with get.");
    app.add_subcommand("shell", "Run commands from stdin, one per line; print JSON lines");
    AddBench(app, cmd.bench);
  }
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->callback([&cmd, sub] { cmd.name = sub->get_name(); });
  }
}

// Splits a shell line on blanks; "double quotes" keep blanks inside one word.
std::vector<std::string> SplitLine(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false;
  bool in_word = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\r')) {
      if (in_word) {
        words.push_back(std::move(word));
      }
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

// Set by SIGINT and SIGTERM while `watch` runs.
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void OnStopSignal(int /*signo*/) { stop_requested = 1; }

// Catches SIGINT and SIGTERM for its lifetime, without SA_RESTART so that a
// signal also cuts the wait inside Watcher::Next short.
class StopSignals {
 public:
  StopSignals() {
    stop_requested = 0;
    struct sigaction action {};
    action.sa_handler = &OnStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  bool requested() const { return stop_requested != 0; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// How long one wait for news lasts; bounds the delay of a stop signal that
// arrives just before a wait starts.
constexpr std::chrono::milliseconds kWatchWaitMax{250};

// Prints one line per event until SIGINT or SIGTERM (exit 0) or a failure.
int RunWatch(const Globals& g, const Command& cmd, std::ostream& out, std::ostream& err) {
  StopSignals stop;
  Watcher watcher(g.pub, cmd.ids);
  while (!watcher.error() && !stop.requested()) {
    std::optional<WatchEvent> e = watcher.Next(kWatchWaitMax);
    if (!e) {
      continue;
    }
    out << (g.json ? WatchJson(*e).dump() : WatchText(*e)) << "\n";
    out.flush();
    if (!out) {
      err << "client: cannot write the output; stopping\n";
      return 1;
    }
  }
  if (watcher.error()) {
    Outcome o = ErrorOutcome(*watcher.error());
    Print(o, g.json, out, err);
    return o.exit;
  }
  return 0;
}

int RunShell(Client& client, std::istream& in, std::ostream& out) {
  std::string line;
  int last_exit = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> words = SplitLine(line);
    if (words.empty() || words[0].starts_with('#')) {
      continue;
    }
    Globals ignored;
    Command cmd;
    CLI::App app("shell line", "client");
    AddCommands(app, ignored, cmd, /*top_level=*/false);
    Outcome o;
    try {
      std::reverse(words.begin(), words.end());  // CLI11 takes them last first.
      app.parse(words);
      o = Execute(client, cmd);
    } catch (const CLI::ParseError& e) {
      o = ErrorOutcome({ErrorCode::kBadRequest, e.what(), {}, {}, false});
    }
    o.object["exit"] = o.exit;
    out << o.object.dump() << "\n";
    out.flush();
    last_exit = o.exit;
  }
  return last_exit;
}

}  // namespace

int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  Globals g;
  Command cmd;
  CLI::App app("tenure client: read, write and watch the entities of a tenure cluster", "client");
  AddCommands(app, g, cmd, /*top_level=*/true);
  app.footer(
      "Exit codes: 0 ok, 2 bad_request or invalid_state, 3 not_found, 4 conflict,\n"
      "5 unavailable or busy (retry), 6 storage_error. With --json, errors are\n"
      "printed as {\"error\": name, \"message\": text} on stdout.");
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      out << app.help();
      return 0;
    }
    if (g.json) {
      Print(ErrorOutcome({ErrorCode::kBadRequest, e.what(), {}, {}, false}), true, out, err);
    } else {
      err << "client: " << e.what() << "\nRun 'client --help' for usage.\n";
    }
    return 2;
  }
  if (cmd.name == "watch") {
    return RunWatch(g, cmd, out, err);
  }
  if (cmd.name == "bench") {
    cmd.bench.json = g.json;
    if (cmd.bench.entities == 0 && cmd.bench.op != "create") {
      cmd.bench.entities = 1000;
    }
    return RunBench(cmd.bench,
                    ClientOptions{g.broker, std::chrono::milliseconds(g.timeout_ms), g.via}, out,
                    err);
  }
  Client client(ClientOptions{g.broker, std::chrono::milliseconds(g.timeout_ms), g.via});
  if (cmd.name == "shell") {
    return RunShell(client, in, out);
  }
  Outcome o = Execute(client, cmd);
  Print(o, g.json, out, err);
  return o.exit;
}

}  // namespace tenure::cli
