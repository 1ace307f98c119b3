// Status and Result<T>: the one error vocabulary of tenure.
//
// The codes are the error table of DESIGN §6, named for what the caller does
// next; the same names travel in replies, CLI output and docs. A Status is a
// value: functions return it, they do not log it (the shell logs once, at the
// edge). Thread-compatible: const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "tenure/base/check.h"

namespace tenure {

enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kBadRequest,    // Malformed message, unknown op, bad id.
  kInvalidState,  // State not one of the valid states.
  kNotFound,      // No such entity.
  kConflict,      // --expect / --if-version mismatch, or create of an existing id.
  kUnavailable,   // No quorum, no broker, deposed, timeout: retry.
  kBusy,          // Mailbox full: retry later.
  kStorageError,  // The store refused; nothing changed.
};

// The wire and CLI name of `code`, e.g. "not_found". kOk is "ok".
std::string_view ErrorName(ErrorCode code);
// nullopt means `name` is not one of the names ErrorName returns.
std::optional<ErrorCode> ParseErrorName(std::string_view name);
// The CLI exit code of DESIGN §6 (0 for kOk).
int ExitCodeFor(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status BadRequest(std::string m) { return {ErrorCode::kBadRequest, std::move(m)}; }
  static Status InvalidState(std::string m) { return {ErrorCode::kInvalidState, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Status Busy(std::string m) { return {ErrorCode::kBusy, std::move(m)}; }
  static Status StorageError(std::string m) { return {ErrorCode::kStorageError, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not_found: no entity 'x'", or "ok".
  std::string ToString() const;

  bool operator==(const Status&) const = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or the Status that says why there is none. Never holds an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design.
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design.
    TENURE_CHECK(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: ok().
  const T& value() const& {
    TENURE_CHECK(ok());
    return std::get<T>(v_);
  }
  T& value() & {
    TENURE_CHECK(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    TENURE_CHECK(ok());
    return std::get<T>(std::move(v_));
  }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tenure
