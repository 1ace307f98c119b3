// A check of config text made before toml++ parses it.
//
// toml++ 3.3.0 (Debian 12's) asks "is this whitespace?" of characters at
// places where TOML allows whitespace, and for most non-ASCII code points from
// U+00A1 on that question reaches a TOML_UNREACHABLE: undefined behaviour.
// tests/fuzz/config_fuzz.cc found it (upstream marzer/tomlplusplus#190 and
// #295, fixed after 3.3.0). Where toml++ asks depends on its parser state
// (outside strings, inside bare values, after a backslash in a multi-line
// string), which a lexer of our own would have to mirror exactly; so instead
// non-ASCII text is allowed only where toml++ never asks: in lines whose first
// non-blank character is '#', and not right after a backslash. Every value
// tenure reads from a config file is ASCII anyway. Drop this check once the
// toml++ in use has the fix.
//
// Thread-safe (a pure function).
#pragma once

#include <string_view>

#include "tenure/base/status.h"

namespace tenure::config {

// bad_request naming line and column of the first non-ASCII byte of `text`
// that is outside a comment line or right after a backslash (and any spaces or
// tabs); OK otherwise. A leading UTF-8 byte order mark is allowed. Says nothing
// else about whether `text` is valid TOML.
Status PrescanToml(std::string_view text);

}  // namespace tenure::config
