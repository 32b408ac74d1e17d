// The human-readable report (default): a summary per process, then its leaks largest first, then
// the comparison with a baseline when there is one. Reachable entries are counted in the summary
// but listed only with show_reachable.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "report/format.h"

namespace libleak {

extern const Format kTextFormat;  // --format text (the default)

// --color=MODE: "always", "never", or "auto" (on when writing to a terminal and NO_COLOR is unset
// or empty; https://no-color.org). `no_color` is getenv("NO_COLOR").
bool color_wanted(std::string_view mode, bool to_terminal, const char* no_color);
// The same for a report written to `file` (stdout or -o FILE), with the real NO_COLOR.
bool color_wanted(std::string_view mode, std::FILE* file);

// Names at most `limit` characters long are kept; longer ones have their template arguments and
// parameter lists elided: "std::vector<...>::push_back(...)". Operators ("operator<<"),
// "(anonymous namespace)" and trailing qualifiers (" const") are kept.
inline constexpr size_t kShortNameLimit = 60;
std::string shorten_name(std::string_view name, size_t limit = kShortNameLimit);

void write_text(Output& out, const Report& report, const TextOptions& options);
// The same, collected into a string (tests, small reports).
std::string format_text(const Report& report, const TextOptions& options);

// The baseline section alone: totals before and now, then the `top` stacks that grew most.
void write_baseline_text(Output& out, const BaselineDiff& diff, size_t top);

// "160000 bytes (156.2 KiB)", or "12 bytes" below 1 KiB.
std::string format_bytes(uint64_t bytes);

}  // namespace libleak
