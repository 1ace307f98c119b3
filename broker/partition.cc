#include "tenure/router/partition.h"

#include <sstream>

#include "tenure/base/ids.h"

namespace tenure::broker {

Status Partition::Load(std::string_view text) {
  std::set<std::string> isolated;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream words(line);
    std::string verb;
    std::string node;
    std::string extra;
    if (!(words >> verb) || verb.starts_with('#')) {
      continue;
    }
    if (verb != "isolate" || !(words >> node) || (words >> extra) || !ValidateNodeId(node).ok()) {
      return Status::BadRequest("fault file line " + std::to_string(number) +
                                ": expected 'isolate NODE'");
    }
    isolated.insert(node);
  }
  isolated_ = std::move(isolated);
  return Status::Ok();
}

bool Partition::Blocks(const std::string& from, const std::string& to) const {
  return isolated_.count(from) != isolated_.count(to);
}

}  // namespace tenure::broker
