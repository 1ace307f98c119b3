#include "tenure/config/toml_prescan.h"

#include <string>

namespace tenure::config {
namespace {

bool IsAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

Status Refuse(std::string_view what, std::size_t line, std::size_t column) {
  std::string message = "a non-ASCII character ";
  message += what;
  message += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  return Status::BadRequest(std::move(message));
}

}  // namespace

Status PrescanToml(std::string_view text) {
  std::size_t line = 1;
  std::size_t line_start = 0;
  bool blank_so_far = true;      // Only spaces and tabs since the line began.
  bool comment_line = false;     // The line's first non-blank character is '#'.
  bool after_backslash = false;  // A backslash, then only spaces and tabs.
  const std::size_t begin = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // toml++ skips it.
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      blank_so_far = true;
      comment_line = false;
      after_backslash = false;
      continue;
    }
    if (!IsAscii(c)) {
      if (!comment_line) {
        return Refuse("outside a comment line (only lines that start with '#' may hold one)", line,
                      i - line_start + 1);
      }
      if (after_backslash) {
        return Refuse("right after a backslash", line, i - line_start + 1);
      }
    }
    if (blank_so_far && !IsBlank(c)) {
      blank_so_far = false;
      comment_line = c == '#';
    }
    if (c == '\\') {
      after_backslash = true;
    } else if (!IsBlank(c)) {
      after_backslash = false;
    }
  }
  return Status::Ok();
}

}  // namespace tenure::config
