#include "tenure/base/status.h"

#include <array>

namespace tenure {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int exit_code;
};

constexpr std::array<CodeInfo, 8> kCodes = {{
    {ErrorCode::kOk, "ok", 0},
    {ErrorCode::kBadRequest, "bad_request", 2},
    {ErrorCode::kInvalidState, "invalid_state", 2},
    {ErrorCode::kNotFound, "not_found", 3},
    {ErrorCode::kConflict, "conflict", 4},
    {ErrorCode::kUnavailable, "unavailable", 5},
    {ErrorCode::kBusy, "busy", 5},
    {ErrorCode::kStorageError, "storage_error", 6},
}};

const CodeInfo& InfoFor(ErrorCode code) {
  for (const CodeInfo& info : kCodes) {
    if (info.code == code) {
      return info;
    }
  }
  TENURE_CHECK(false);
  return kCodes[0];
}

}  // namespace

std::string_view ErrorName(ErrorCode code) { return InfoFor(code).name; }

std::optional<ErrorCode> ParseErrorName(std::string_view name) {
  for (const CodeInfo& info : kCodes) {
    if (info.name == name) {
      return info.code;
    }
  }
  return std::nullopt;
}

int ExitCodeFor(ErrorCode code) { return InfoFor(code).exit_code; }

std::string Status::ToString() const {
  std::string out(ErrorName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace tenure
