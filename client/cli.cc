#include "client/cli.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/config/config.h"

#include "tenure/client.h"

namespace tenure::cli {
namespace {

using nlohmann::json;

struct Globals {
  std::string broker = "tcp://127.0.0.1:5555";
  int timeout_ms = 5000;
  bool json = false;
  std::string via;
};

struct Command {
  std::string name;  // get, set, create, list, nodes, shell
  std::string id;
  std::string state;
  std::string expect;
  std::optional<std::uint64_t> if_version;
  std::uint32_t limit = 0;
  std::string after;
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

// Declares the commands on `app`. `shell_allowed` is false inside the shell.
void AddCommands(CLI::App& app, Globals& g, Command& cmd, bool shell_allowed) {
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
  if (shell_allowed) {
    app.add_subcommand("shell", "Run commands from stdin, one per line; print JSON lines");
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
    AddCommands(app, ignored, cmd, /*shell_allowed=*/false);
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
  CLI::App app("tenure client: read and write entities of a tenure cluster", "client");
  AddCommands(app, g, cmd, /*shell_allowed=*/true);
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
  Client client(ClientOptions{g.broker, std::chrono::milliseconds(g.timeout_ms), g.via});
  if (cmd.name == "shell") {
    return RunShell(client, in, out);
  }
  Outcome o = Execute(client, cmd);
  Print(o, g.json, out, err);
  return o.exit;
}

}  // namespace tenure::cli
