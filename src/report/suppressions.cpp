// Suppression parsing and matching. The matcher is a backtracking glob over `*` only, with the
// LSan anchoring rules mapped onto it: no `^` means an implicit leading `*`, no `$` a trailing one.
#include "report/suppressions.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report/error.h"

namespace libleak {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Classic linear-time glob with single-star backtracking: on mismatch, let the last `*`
// swallow one more character.
bool glob(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

bool suppression_matches(std::string_view pattern, std::string_view text) {
  if (text.empty() || pattern.empty()) return false;  // LSan never matches empty strings
  std::string p;
  if (pattern.front() == '^') {
    pattern.remove_prefix(1);
  } else {
    p += '*';
  }
  bool anchored_end = !pattern.empty() && pattern.back() == '$';
  if (anchored_end) pattern.remove_suffix(1);
  p += pattern;
  if (!anchored_end) p += '*';
  return glob(p, text);
}

std::vector<Suppression> parse_suppressions(std::string_view text) {
  std::vector<Suppression> out;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineno;
    if (line.empty() || line.front() == '#') continue;
    constexpr std::string_view kPrefix = "leak:";
    if (line.substr(0, kPrefix.size()) != kPrefix || trim(line.substr(kPrefix.size())).empty()) {
      throw Error(fmt::format("line {}: expected `leak:PATTERN`, got `{}`", lineno, line));
    }
    out.push_back({std::string(trim(line.substr(kPrefix.size()))), SuppressionSource::kFile});
  }
  return out;
}

std::vector<Suppression> read_suppressions_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "cannot open suppressions file");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return parse_suppressions(ss.str());
  } catch (const Error& e) {
    throw Error(path, e.what());
  }
}

const char* to_string(SuppressionSource source) {
  return source == SuppressionSource::kBuiltin ? "builtin" : "file";
}

}  // namespace libleak
