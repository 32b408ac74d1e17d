// Text report writer. Layout rules: exact bytes first, human units in parentheses; one frame per
// line with the blamed frame marked by '>'; file paths and modules shortened to basenames and long
// C++ names to their outline (the JSON report keeps full paths and names). Colour is opt-in per
// call (TextOptions::color) so golden files and pipes never see escape codes.
#include "report/format_text.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "report/frame_text.h"
#include "report/size_parse.h"

namespace libleak {
namespace {

// ANSI SGR codes, or nothing when colour is off.
class Style {
 public:
  explicit Style(bool on) : on_(on) {}
  std::string operator()(const char* sgr, std::string_view text) const {
    if (!on_ || text.empty()) return std::string(text);
    return fmt::format("\x1b[{}m{}\x1b[0m", sgr, text);
  }

 private:
  bool on_;
};

constexpr const char* kBold = "1";
constexpr const char* kRed = "1;31";
constexpr const char* kYellow = "33";
constexpr const char* kGreen = "32";
constexpr const char* kCyan = "36";
constexpr const char* kDim = "2";

const char* verdict_color(const Leak& l) {
  switch (l.verdict) {
    case Verdict::kUnreachable: return kRed;
    case Verdict::kGrowing: return kRed;
    case Verdict::kReachable: return kGreen;
    case Verdict::kUnfreed: return kYellow;
  }
  return kBold;
}

std::string amount(const Amount& a) {
  return fmt::format("{} in {} blocks", format_bytes(a.bytes), a.blocks);
}

std::string exit_description(const trace::ProcessRecord& p) {
  switch (p.exit_kind) {
    case trace::kExitSignal: return fmt::format("killed by signal {}", p.exit_code);
    case trace::kExitFast: return fmt::format("_exit({})", p.exit_code);
  }
  return "unknown";
}

// "+1.250 s" after the process started, or "" when the clock went backwards.
std::string since_start(uint64_t time_ns, uint64_t start_ns) {
  if (time_ns < start_ns || start_ns == 0) return "";
  uint64_t ms = (time_ns - start_ns) / 1000000;
  return fmt::format(" at +{}.{:03} s", ms / 1000, ms % 1000);
}

void write_summary(Output& out, const ProcessReport& r, const Style& style) {
  std::string cmd = command_line(r);
  out.print("{}\n", style(kBold, fmt::format("== pid {}: {} ==", r.process.pid,
                                             cmd.empty() ? "(unknown command)" : cmd)));
  out.print("leaked: {} ({})\n", style(r.leaked.bytes ? kRed : kGreen, amount(r.leaked)),
            r.gated.describe());
  for (Verdict v : kAllVerdicts) {
    const Amount& a = r.by_verdict[static_cast<size_t>(v)];
    bool relevant = v == Verdict::kGrowing ||
                    (r.scan_done ? v != Verdict::kUnfreed : v == Verdict::kUnfreed);
    if (!relevant && a.bytes == 0 && a.blocks == 0) continue;
    out.print("  {}: {}", to_string(v), amount(a));
    if (v == Verdict::kUnreachable && r.indirect.blocks) {
      out.print(" (indirect: {})", amount(r.indirect));
    }
    out.print("\n");
  }
  if (!r.scan_done) out.print("  (no reachability scan: live blocks are unfreed, not proven leaked)\n");
  out.print("allocations: {}\n", r.allocations);
  out.print("peak live: {}\n", format_bytes(r.peak_live_bytes));
  for (size_t m = 0; m < r.marks.size(); ++m) {
    out.print("mark {} \"{}\"{}: {} allocated after it still live\n", m, r.marks[m].label,
              since_start(r.marks[m].time_ns, r.process.start_time_ns),
              amount(m < r.after_mark.size() ? r.after_mark[m] : Amount{}));
  }
  if (r.stats && (r.stats->dropped_callsites || r.stats->dropped_blocks || r.stats->write_failures)) {
    out.print("{}\n", style(kYellow, fmt::format(
                                         "WARNING: libleak dropped data, totals are lower bounds: {} "
                                         "allocations without a callsite (table full), {} blocks not "
                                         "tracked (block table full), {} failed trace writes",
                                         r.stats->dropped_callsites, r.stats->dropped_blocks,
                                         r.stats->write_failures)));
  }
  if (r.process.exit_kind == trace::kExitRunning) {
    // The writer cannot tell these apart: a killed process leaves its last periodic trace behind.
    out.print("the trace ends at a periodic or on-demand write: the process was still running then, "
              "or was killed (SIGKILL, OOM) before its next write\n");
  } else if (r.process.exit_kind != trace::kExitNormal) {
    out.print("the process did not exit normally: {}\n", exit_description(r.process));
  }
  if (r.process.flags & trace::kFlagPythonMallocForced) {
    out.print("libleak set PYTHONMALLOC=malloc so Python objects are visible\n");
  }
  for (const auto& s : r.suppressions) {
    out.print("suppressed: {} by leak:{} ({})\n", amount(s.hidden), s.suppression.pattern,
              to_string(s.suppression.source));
  }
}

// "script.py:12 in run": where a Python frame is, for the "called from" note.
std::string python_location(const Frame& f) {
  std::string where = f.file ? basename(*f.file) : "?";
  if (f.line) where += fmt::format(":{}", *f.line);
  if (f.function) where += " in " + *f.function;
  return where;
}

void write_frame(Output& out, const Frame& f, size_t index, bool blamed, const Frame* called_from,
                 const TextOptions& options, const Style& style) {
  std::string name = f.function ? (options.full_names ? *f.function : shorten_name(*f.function))
                                : std::string("??");
  std::string line;
  if (f.python) {
    line = fmt::format("#{} {}", index, name);
  } else {
    line = fmt::format("#{} 0x{:x} {}", index, f.address, name);
  }
  if (f.inlined) line += " (inlined)";
  if (f.file) {
    line += fmt::format(" ({}", basename(*f.file));
    if (f.line) line += fmt::format(":{}", *f.line);
    line += ")";
  }
  if (f.python) {
    line += " [python]";
  } else if (!f.module) {
    line += " [?]";
  } else if (f.function) {
    line += fmt::format(" [{}]", basename(*f.module));
  } else {
    line += fmt::format(" [{}]", module_offset_label(f));
  }
  const char* color = blamed ? kBold : f.python ? kCyan : is_runtime_module(f.module_path()) ? kDim : "";
  out.print("  {} {}", blamed ? '>' : ' ', *color ? style(color, line) : line);
  if (called_from) out.print("  {}", style(kCyan, "called from " + python_location(*called_from)));
  out.print("\n");
}

void write_leaks(Output& out, const ProcessReport& r, const TextOptions& options, const Style& style) {
  size_t shown = 0, hidden = 0;
  for (const auto& l : r.leaks) {
    if (l.verdict == Verdict::kReachable && !options.show_reachable) continue;
    if (shown == options.top) {
      ++hidden;
      continue;
    }
    ++shown;
    std::string head = fmt::format("#{} {}: {}", shown, l.indirect ? "indirect" : to_string(l.verdict),
                                   amount(Amount{l.bytes, l.blocks}));
    // The default domain in parentheses, any other (an allocator the program installed) marked.
    out.print("\n{} {}\n", style(verdict_color(l), head),
              l.domain == trace::kDomainMalloc ? "(malloc)" : fmt::format("[{}]", domain_name(l.domain)));
    for (const auto& a : l.after_marks) {
      if (a.mark >= r.marks.size()) continue;
      out.print("    after mark {} \"{}\": {} of this callsite still live\n", a.mark,
                r.marks[a.mark].label, amount(a.amount));
    }
    if (!l.stack || l.stack->empty()) {
      out.print("    (no stack)\n");
      continue;
    }
    for (size_t i = 0; i < l.stack->size(); ++i) {
      // Next to the blamed native frame: the Python line that led to it.
      const Frame* from = nullptr;
      if (i == l.blame && l.python_frame && *l.python_frame != i) from = &(*l.stack)[*l.python_frame];
      write_frame(out, (*l.stack)[i], i, i == l.blame, from, options, style);
    }
  }
  if (hidden) out.print("\n... {} more (use --top to list them)\n", hidden);
}

bool is_operator_char(char c) { return c && std::strchr("<>=!+-*/%&|^~,[]", c) != nullptr; }

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// One past the bracket that closes the `<` or `(` at `open`, or npos when unbalanced. Both kinds
// nest in demangled names; counting them together is enough to find the outer end.
size_t closing_bracket(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s.compare(i, 21, "(anonymous namespace)") == 0) {
      i += 20;
      continue;
    }
    if (s[i] == '<' || s[i] == '(') ++depth;
    if ((s[i] == '>' || s[i] == ')') && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::string shorten_name(std::string_view s, size_t limit) {
  if (s.size() <= limit) return std::string(s);
  constexpr std::string_view kOperator = "operator";
  constexpr std::string_view kAnonymous = "(anonymous namespace)";
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.substr(i, kOperator.size()) == kOperator && (i == 0 || !is_ident_char(s[i - 1])) &&
        (i + kOperator.size() == s.size() || !is_ident_char(s[i + kOperator.size()]))) {
      // The operator's own symbol is part of its name: operator<<, operator(), operator[].
      size_t j = i + kOperator.size();
      if (s.substr(j, 2) == "()") {
        j += 2;
      } else {
        while (j < s.size() && is_operator_char(s[j])) ++j;
      }
      out += s.substr(i, j - i);
      i = j;
      continue;
    }
    if (s.substr(i, kAnonymous.size()) == kAnonymous) {
      out += kAnonymous;
      i += kAnonymous.size();
      continue;
    }
    char c = s[i];
    if (c == '<' || c == '(') {
      size_t end = closing_bracket(s, i);
      if (end == std::string_view::npos) {  // not a well-formed name: keep the rest as it is
        out += s.substr(i);
        break;
      }
      out += c;
      if (end > i + 2) out += "...";
      out += s[end - 1];
      i = end;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

bool color_wanted(std::string_view mode, bool to_terminal, const char* no_color) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  return to_terminal && !(no_color && *no_color);
}

bool color_wanted(std::string_view mode, std::FILE* file) {
  return color_wanted(mode, file && isatty(fileno(file)), std::getenv("NO_COLOR"));
}

std::string format_bytes(uint64_t bytes) {
  std::string human = human_size(bytes);
  return human.empty() ? fmt::format("{} bytes", bytes) : fmt::format("{} bytes ({})", bytes, human);
}

std::string format_text(const Report& report, const TextOptions& options) {
  Output out;
  write_text(out, report, options);
  return out.str();
}

void write_baseline_text(Output& out, const BaselineDiff& d, size_t top) {
  out.print("\n== compared with baseline {} ==\n", d.source);
  out.print("leaked: {} in {} blocks before, {} in {} blocks now\n", format_bytes(d.before.bytes),
            d.before.blocks, format_bytes(d.now.bytes), d.now.blocks);
  out.print("increase: {} in {} blocks ({} stacks new or grown, {} shrunk or gone)\n",
            format_bytes(d.increase.bytes), d.increase.blocks, d.grown.size(), d.shrunk);
  size_t shown = 0;
  for (const auto& e : d.grown) {
    if (shown == top) {
      out.print("... {} more (use --top to list them)\n", d.grown.size() - shown);
      break;
    }
    ++shown;
    out.print("#{} {} {:+} bytes in {:+} blocks: {} -> {} bytes, {} -> {} blocks ({})\n", shown,
              e.is_new ? "new" : "grew", e.delta_bytes, e.delta_blocks, e.before.bytes, e.now.bytes,
              e.before.blocks, e.now.blocks, e.verdicts.describe());
    out.print("    at {}\n", describe_blame(e));
  }
}

void write_text(Output& out, const Report& report, const TextOptions& options) {
  const std::vector<ProcessReport>& reports = report.processes;
  Style style(options.color);
  for (size_t i = 0; i < reports.size(); ++i) {
    if (i) out.print("\n");
    write_summary(out, reports[i], style);
    write_leaks(out, reports[i], options, style);
  }
  if (reports.size() > 1) {
    Totals t = combine(reports);
    out.print("\n{}\n", style(kBold, fmt::format("== total over {} processes ==", reports.size())));
    out.print("leaked: {} ({})\n", style(t.leaked.bytes ? kRed : kGreen, amount(t.leaked)),
              t.gated.describe());
    for (Verdict v : kAllVerdicts) {
      out.print("  {}: {}\n", to_string(v), amount(t.by_verdict[static_cast<size_t>(v)]));
    }
    out.print("allocations: {}\n", t.allocations);
  }
  if (report.baseline) write_baseline_text(out, *report.baseline, options.top);
}


namespace {

void write_text_format(Output& out, const Report& report, const FormatOptions& options) {
  write_text(out, report, options.text);
}

}  // namespace

const Format kTextFormat{.name = "text", .write = write_text_format};

}  // namespace libleak
