// Suppressions in LeakSanitizer's format ("leak:PATTERN" lines) plus libleak's built-in list.
// A pattern is matched against every frame's function, file and module path; `*` matches any
// run of characters, a leading `^` / trailing `$` anchor, and otherwise it is a substring match.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace libleak {

enum class SuppressionSource { kBuiltin, kFile };

struct Suppression {
  std::string pattern;
  SuppressionSource source = SuppressionSource::kFile;
};

// Parses the text of a suppressions file. Throws Error on a line that is not `leak:PATTERN`,
// a comment or blank (other LSan types such as `called_from_lib:` are rejected, not ignored,
// so that a typo cannot silently suppress nothing).
std::vector<Suppression> parse_suppressions(std::string_view text);

// Reads and parses a suppressions file; throws Error naming the file.
std::vector<Suppression> read_suppressions_file(const std::string& path);

// LSan pattern match of `pattern` against `text`.
bool suppression_matches(std::string_view pattern, std::string_view text);

const char* to_string(SuppressionSource source);

}  // namespace libleak
