// Escaping for the text-based formats: JSON string literals (format_json) and XML/HTML text
// (format_plot, format_flamegraph). Reports are write-only: no DOM, strings go straight to Output.
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

// Text for XML/HTML content and attribute values: & < > " escaped, control characters blanked.
std::string xml_escape(std::string_view s);

}  // namespace libleak
