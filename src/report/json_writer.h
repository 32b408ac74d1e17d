// Minimal JSON output helpers used by format_json: string escaping and optional values.
// Writing goes through fmt into one buffer; there is no DOM because reports are write-only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace libleak {

// A JSON string literal, quotes included. Control characters, quotes and backslashes are
// escaped; bytes that are not valid UTF-8 (overlong forms, surrogates, > U+10FFFF, stray
// continuation bytes) each become \ufffd, so the output is always valid JSON in valid UTF-8.
std::string json_string(std::string_view s);

// A JSON string, or null when absent.
template <typename Optional>  // std::optional<std::string> or a shared/raw pointer to one
std::string json_optional(const Optional& s) {
  return s ? json_string(*s) : std::string("null");
}

}  // namespace libleak
