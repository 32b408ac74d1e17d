// Text report writer. Layout rules: exact bytes first, human units in parentheses; one frame per
// line with the blamed frame marked by '>'; file paths and modules shortened to basenames (the
// JSON report keeps full paths).
#include "report/format_text.h"

#include <filesystem>

#include <fmt/format.h>

#include "report/size_parse.h"

namespace libleak {
namespace {


std::string basename(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string amount(const Amount& a) {
  return fmt::format("{} in {} blocks", format_bytes(a.bytes), a.blocks);
}

std::string exit_description(const trace::ProcessRecord& p) {
  switch (p.exit_kind) {
    case trace::kExitRunning: return "still running (periodic or on-demand snapshot)";
    case trace::kExitSignal: return fmt::format("killed by signal {}", p.exit_code);
    case trace::kExitFast: return fmt::format("_exit({})", p.exit_code);
  }
  return "unknown";
}

void write_summary(Output& out, const ProcessReport& r) {
  std::string cmd;
  for (const auto& a : r.command) cmd += (cmd.empty() ? "" : " ") + a;
  out.print("== pid {}: {} ==\n", r.process.pid, cmd.empty() ? "(unknown command)" : cmd);
  out.print("leaked: {} ({})\n", amount(r.leaked), r.gated.describe());
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
  if (r.stats && (r.stats->dropped_callsites || r.stats->dropped_blocks || r.stats->write_failures)) {
    out.print(
                   "WARNING: libleak dropped data, totals are lower bounds: {} allocations without "
                   "a callsite (table full), {} blocks not tracked (block table full), {} failed "
                   "trace writes\n",
                   r.stats->dropped_callsites, r.stats->dropped_blocks, r.stats->write_failures);
  }
  if (r.process.exit_kind != trace::kExitNormal) {
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

void write_frame(Output& out, const Frame& f, size_t index, bool blamed) {
  out.print("  {} #{} 0x{:x} {}", blamed ? '>' : ' ', index, f.address,
                 f.function ? *f.function : std::string("??"));
  if (f.inlined) out.print(" (inlined)");
  if (f.file) {
    out.print(" ({}", basename(*f.file));
    if (f.line) out.print(":{}", *f.line);
    out.print(")");
  }
  if (!f.module) {
    out.print(" [?]\n");
  } else if (f.function) {
    out.print(" [{}]\n", basename(*f.module));
  } else {
    out.print(" [{}+0x{:x}]\n", basename(*f.module), f.module_offset);
  }
}

void write_leaks(Output& out, const ProcessReport& r, const TextOptions& options) {
  size_t shown = 0, hidden = 0;
  for (const auto& l : r.leaks) {
    if (l.verdict == Verdict::kReachable && !options.show_reachable) continue;
    if (shown == options.top) {
      ++hidden;
      continue;
    }
    ++shown;
    out.print("\n#{} {}: {} {}\n", shown, l.indirect ? "indirect" : to_string(l.verdict),
                   amount(Amount{l.bytes, l.blocks}),
                   l.domain == trace::kDomainGmp ? "[gmp]" : "(malloc)");
    if (!l.stack || l.stack->empty()) {
      out.print("    (no stack)\n");
      continue;
    }
    for (size_t i = 0; i < l.stack->size(); ++i) write_frame(out, (*l.stack)[i], i, i == l.blame);
  }
  if (hidden) out.print("\n... {} more (use --top to list them)\n", hidden);
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  std::string human = human_size(bytes);
  return human.empty() ? fmt::format("{} bytes", bytes) : fmt::format("{} bytes ({})", bytes, human);
}

std::string format_text(const std::vector<ProcessReport>& reports, const TextOptions& options) {
  Output out;
  write_text(out, reports, options);
  return out.str();
}

void write_text(Output& out, const std::vector<ProcessReport>& reports, const TextOptions& options) {
  for (size_t i = 0; i < reports.size(); ++i) {
    if (i) out.print("\n");
    write_summary(out, reports[i]);
    write_leaks(out, reports[i], options);
  }
  if (reports.size() > 1) {
    Totals t = combine(reports);
    out.print("\n== total over {} processes ==\n", reports.size());
    out.print("leaked: {} ({})\n", amount(t.leaked), t.gated.describe());
    for (Verdict v : kAllVerdicts) {
      out.print("  {}: {}\n", to_string(v), amount(t.by_verdict[static_cast<size_t>(v)]));
    }
    out.print("allocations: {}\n", t.allocations);
  }
}

}  // namespace libleak
