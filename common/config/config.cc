#include "tenure/config/config.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include <toml++/toml.h>

#include "tenure/base/ids.h"
#include "tenure/config/toml_prescan.h"

namespace tenure::config {
namespace {

std::string ScalarText(const toml::node& node, const std::string& key) {
  if (const auto* s = node.as_string()) {
    return s->get();
  }
  if (const auto* i = node.as_integer()) {
    return std::to_string(i->get());
  }
  if (const auto* b = node.as_boolean()) {
    return b->get() ? "true" : "false";
  }
  if (const auto* f = node.as_floating_point()) {
    return std::to_string(f->get());
  }
  throw CLI::ConfigError("config key '" + key + "' must be a string, number, boolean or array");
}

// The sections of the executables that share a config file. A table with
// another name is a typo (say [worker-node]) that would otherwise drop every
// key in it without a word.
constexpr std::array<std::string_view, 3> kSections = {"broker", "worker_node", "client"};

// Reads TOML with toml++ and hands CLI11 flat items: top-level keys and the
// keys of one section. CLI11 then applies its usual precedence and checks.
class TomlSectionConfig final : public CLI::Config {
 public:
  // `app` must outlive this formatter (CLI11 keeps both for the app's life).
  TomlSectionConfig(std::string section, const CLI::App* app)
      : section_(std::move(section)), app_(app) {}

  std::string to_config(const CLI::App* /*app*/, bool /*default_also*/, bool /*write_desc*/,
                        std::string /*prefix*/) const override {
    return {};
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::stringstream text;
    text << input.rdbuf();
    const std::string content = text.str();
    if (Status s = PrescanToml(content); !s.ok()) {  // Keeps toml++ off its bug.
      throw CLI::ConfigError("config file: " + s.message());
    }
    toml::table table;
    try {
      table = toml::parse(content);
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << "config file is not valid TOML: " << e.description() << " (line "
          << e.source().begin.line << ", column " << e.source().begin.column << ")";
      throw CLI::ConfigError(msg.str());
    }
    std::vector<CLI::ConfigItem> top;
    std::vector<CLI::ConfigItem> own;
    for (const auto& [key, node] : table) {
      const std::string name(key.str());
      if (const auto* sub = node.as_table()) {
        if (name == section_) {
          Flatten(*sub, own);
        } else if (std::find(kSections.begin(), kSections.end(), name) == kSections.end()) {
          throw CLI::ConfigError("config file has an unknown section [" + name +
                                 "]; the sections are [broker], [worker_node] and [client]");
        }
        continue;  // Another executable's section.
      }
      top.push_back(Item(name, node));
    }
    // The own section is more specific than the top level, so its keys win.
    // (CLI11 keeps the first value an option gets from a file, and toml++
    // iterates keys in sorted order: without this, which one won would depend
    // on the spelling of the key.)
    for (CLI::ConfigItem& item : top) {
      const bool shadowed = std::any_of(own.begin(), own.end(), [&item](const CLI::ConfigItem& o) {
        return o.name == item.name;
      });
      if (!shadowed) {
        own.push_back(std::move(item));
      }
    }
    // CLI11 would report these as "INI was not able to parse": say what is wrong.
    for (const CLI::ConfigItem& item : own) {
      if (app_->get_option_no_throw("--" + item.name) == nullptr) {
        throw CLI::ConfigError("unknown key '" + item.name + "' in the config file (" +
                               app_->get_name() + " has no option --" + item.name + ")");
      }
    }
    return own;
  }

 private:
  static CLI::ConfigItem Item(const std::string& key, const toml::node& node) {
    CLI::ConfigItem item;
    // TOML keys are usually snake_case; the flags they set are kebab-case.
    item.name = key;
    std::replace(item.name.begin(), item.name.end(), '_', '-');
    if (const auto* array = node.as_array()) {
      for (const toml::node& element : *array) {
        item.inputs.push_back(ScalarText(element, key));
      }
    } else {
      item.inputs.push_back(ScalarText(node, key));
    }
    return item;
  }

  static void Flatten(const toml::table& table, std::vector<CLI::ConfigItem>& out) {
    for (const auto& [key, node] : table) {
      if (node.is_table()) {
        throw CLI::ConfigError("config key '" + std::string(key.str()) +
                               "' is a nested table; only one level of sections is allowed");
      }
      out.push_back(Item(std::string(key.str()), node));
    }
  }

  const std::string section_;
  const CLI::App* const app_;
};

// host:port after "tcp://"; the port is a number or * (any free port). The
// last colon splits them, so an IPv6 host in brackets keeps its own colons.
Status ValidateTcpAddress(const std::string& endpoint, std::string_view address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::BadRequest("endpoint '" + endpoint + "' needs a port (tcp://host:port)");
  }
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (host.empty()) {
    return Status::BadRequest("endpoint '" + endpoint + "' needs a host (tcp://host:port)");
  }
  if (port == "*") {
    return Status::Ok();
  }
  int value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    return Status::BadRequest("endpoint '" + endpoint +
                              "' has a bad port (a number up to 65535, or *)");
  }
  return Status::Ok();
}

}  // namespace

void AddConfigFile(CLI::App& app, const std::string& section) {
  app.config_formatter(std::make_shared<TomlSectionConfig>(section, &app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.set_config("--config", "", "TOML file with options (flags override it)")
      ->check([](const std::string& path) -> std::string {
        std::ifstream probe(path);
        if (!probe) {
          return "cannot read config file '" + path + "'";
        }
        return {};
      });
}

void ParseConfigText(CLI::App& app, const std::string& text) {
  // CLI11 hands the stream to the same formatter that reads --config files.
  std::istringstream input(text);
  app.parse_from_stream(input);
}

Status ValidateEndpoint(const std::string& endpoint) {
  for (const char* scheme : {"tcp://", "ipc://", "inproc://"}) {
    const std::string prefix(scheme);
    if (endpoint.rfind(prefix, 0) == 0 && endpoint.size() > prefix.size()) {
      if (prefix == "tcp://") {
        return ValidateTcpAddress(endpoint, std::string_view(endpoint).substr(prefix.size()));
      }
      return Status::Ok();
    }
  }
  return Status::BadRequest("endpoint '" + endpoint +
                            "' must look like tcp://host:port, ipc://path or inproc://name");
}

Status ValidateVoters(const std::vector<std::string>& voters) {
  std::set<std::string> seen;
  for (const std::string& voter : voters) {
    if (Status s = ValidateNodeId(voter); !s.ok()) {
      return Status::BadRequest("voter: " + s.message());
    }
    if (!seen.insert(voter).second) {
      return Status::BadRequest("voter '" + voter + "' is listed twice");
    }
  }
  return Status::Ok();
}

CLI::Validator EndpointValidator() {
  return CLI::Validator(
      [](std::string& value) {
        Status s = ValidateEndpoint(value);
        return s.ok() ? std::string() : s.message();
      },
      "ENDPOINT");
}

CLI::Validator NodeIdValidator() {
  return CLI::Validator(
      [](std::string& value) {
        Status s = ValidateNodeId(value);
        return s.ok() ? std::string() : s.message();
      },
      "NODE");
}

}  // namespace tenure::config
