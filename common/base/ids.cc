#include "tenure/base/ids.h"

#include <string>

namespace tenure {
namespace {

bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

bool IsNodeIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

Status ValidateEntityId(std::string_view id) {
  if (id.empty()) {
    return Status::BadRequest("entity id is empty");
  }
  if (id.size() > kEntityIdBytesMax) {
    return Status::BadRequest("entity id is " + std::to_string(id.size()) +
                              " bytes; the limit is " + std::to_string(kEntityIdBytesMax));
  }
  for (char c : id) {
    if (IsControl(c)) {
      return Status::BadRequest("entity id contains a control character");
    }
  }
  return Status::Ok();
}

Status ValidateNodeId(std::string_view id) {
  if (id.empty()) {
    return Status::BadRequest("node id is empty");
  }
  if (id.size() > kNodeIdBytesMax) {
    return Status::BadRequest("node id is longer than " + std::to_string(kNodeIdBytesMax) +
                              " bytes");
  }
  for (char c : id) {
    if (!IsNodeIdChar(c)) {
      return Status::BadRequest("node id '" + std::string(id) +
                                "' may only contain letters, digits, '_', '-' and '.'");
    }
  }
  return Status::Ok();
}

}  // namespace tenure
