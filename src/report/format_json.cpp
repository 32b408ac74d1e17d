// JSON report writer. Field order is fixed so that golden files diff cleanly.
#include "report/format_json.h"

#include <fmt/format.h>

#include "report/escape.h"

namespace libleak {
namespace {

const char* exit_name(uint32_t kind) {
  switch (kind) {
    case trace::kExitRunning: return "running";
    case trace::kExitNormal: return "normal";
    case trace::kExitSignal: return "signal";
    case trace::kExitFast: return "fast_exit";
  }
  return "unknown";
}

void write_amount(Output& out, const Amount& a) {
  out.print(R"({{"bytes": {}, "blocks": {}}})", a.bytes, a.blocks);
}

// ["unreachable", "growing"]: the verdicts of the set, in kAllVerdicts order.
void write_verdicts(Output& out, VerdictSet verdicts) {
  out.print("[");
  const char* sep = "";
  for (Verdict v : kAllVerdicts) {
    if (!verdicts.has(v)) continue;
    out.print(R"({}"{}")", sep, to_string(v));
    sep = ", ";
  }
  out.print("]");
}

void write_totals(Output& out, const Amount& leaked, const std::array<Amount, kVerdictCount>& by_verdict,
                  const Amount& indirect, uint64_t allocations, uint64_t peak, VerdictSet gated,
                  const std::array<DomainTotals, kDomainCount>& by_domain) {
  out.print(
                 R"({{"leaked_bytes": {}, "leaked_blocks": {}, "allocations": {}, "peak_live_bytes": {}, )",
                 leaked.bytes, leaked.blocks, allocations, peak);
  out.print(R"("gated_verdicts": )");
  write_verdicts(out, gated);
  out.print(R"(, "by_verdict": {{)");
  const char* sep = "";
  for (Verdict v : kAllVerdicts) {
    out.print(R"({}"{}": )", sep, to_string(v));
    write_amount(out, by_verdict[static_cast<size_t>(v)]);
    sep = ", ";
  }
  out.print(R"(}}, "indirect": )");
  write_amount(out, indirect);
  out.print(R"(, "by_domain": {{)");
  for (uint32_t d = 0; d < kDomainCount; ++d) {
    const auto& t = by_domain[d];
    out.print(R"({}"{}": {{"allocations": {}, "bytes": {}, "live_blocks": {}, "live_bytes": {}}})",
              d ? ", " : "", domain_name(d), t.allocations, t.bytes, t.live_blocks, t.live_bytes);
  }
  out.print("}}}}");
}

void write_frame(Output& out, const Frame& f) {
  if (f.python) {
    // A Python frame has no address; its module is the source file it runs.
    out.print(
        R"({{"address": null, "module": {}, "offset": null, "function": {}, "file": {}, "line": {}, "inlined": false, "language": "python"}})",
        json_optional(f.file), json_optional(f.function), json_optional(f.file),
        f.line ? fmt::format("{}", *f.line) : "null");
    return;
  }
  out.print(
                 R"({{"address": "0x{:x}", "module": {}, "offset": "0x{:x}", "function": {}, "file": {}, "line": {}, "inlined": {}, "language": "native"}})",
                 f.address, json_string(f.module_path()), f.module_offset, json_optional(f.function),
                 json_optional(f.file), f.line ? fmt::format("{}", *f.line) : "null", f.inlined);
}

void write_leak(Output& out, const Leak& l) {
  out.print(
                 R"({{"bytes": {}, "blocks": {}, "verdict": "{}", "indirect": {}, "domain": "{}", "blame": {}, "python_frame": {}, "stack_hash": "0x{:016x}", "after_marks": [)",
                 l.bytes, l.blocks, to_string(l.verdict), l.indirect, domain_name(l.domain), l.blame,
                 l.python_frame ? fmt::format("{}", *l.python_frame) : "null", l.stack_hash);
  for (size_t i = 0; i < l.after_marks.size(); ++i) {
    const auto& a = l.after_marks[i];
    out.print(R"({}{{"mark": {}, "blocks": {}, "bytes": {}}})", i ? ", " : "", a.mark, a.amount.blocks,
              a.amount.bytes);
  }
  out.print(R"(], "frames": [)");
  if (l.stack) {
    for (size_t i = 0; i < l.stack->size(); ++i) {
      if (i) out.print(", ");
      write_frame(out, (*l.stack)[i]);
    }
  }
  out.print("]}}");
}

void write_process_body(Output& out, const ProcessReport& r) {
  const auto& p = r.process;
  out.print(R"("source": {}, "process": {{"pid": {}, "ppid": {}, "command": [)",
                 json_string(r.source), p.pid, p.ppid);
  for (size_t i = 0; i < r.command.size(); ++i) {
    out.print("{}{}", i ? ", " : "", json_string(r.command[i]));
  }
  out.print(
                 R"(], "exit": "{}", "exit_code": {}, "python_malloc_forced": {}, "scan_done": {}, "fork_child": {}, "epoch_count": {}}}, "totals": )",
                 exit_name(p.exit_kind), p.exit_code, (p.flags & trace::kFlagPythonMallocForced) != 0,
                 r.scan_done, (p.flags & trace::kFlagForkChild) != 0, p.epoch_count);
  write_totals(out, r.leaked, r.by_verdict, r.indirect, r.allocations, r.peak_live_bytes, r.gated,
               r.by_domain);
  out.print(R"(, "marks": [)");
  for (size_t i = 0; i < r.marks.size(); ++i) {
    out.print(R"({}{{"label": {}, "time_ns": {}}})", i ? ", " : "", json_string(r.marks[i].label),
              r.marks[i].time_ns);
  }
  out.print(R"(], "leaks": [)");
  for (size_t i = 0; i < r.leaks.size(); ++i) {
    out.print("{}\n  ", i ? "," : "");
    write_leak(out, r.leaks[i]);
  }
  out.print(R"(], "suppressions": [)");
  for (size_t i = 0; i < r.suppressions.size(); ++i) {
    const auto& s = r.suppressions[i];
    out.print(R"({}{{"pattern": {}, "source": "{}", "blocks": {}, "bytes": {}}})", i ? ", " : "",
                   json_string(s.suppression.pattern), to_string(s.suppression.source),
                   s.hidden.blocks, s.hidden.bytes);
  }
  out.print(R"(], "dropped": )");
  if (r.stats) {
    const auto& s = *r.stats;
    out.print(
                   R"({{"dropped_callsites": {}, "dropped_blocks": {}, "write_failures": {}}}, "stats": {{"allocations": {}, "frees": {}, "unknown_frees": {}, "dropped_callsites": {}, "dropped_blocks": {}, "reentrant": {}, "peak_live_bytes": {}, "live_bytes": {}, "live_blocks": {}, "scan_roots_bytes": {}, "write_failures": {}}})",
                   s.dropped_callsites, s.dropped_blocks, s.write_failures, s.allocations, s.frees,
                   s.unknown_frees, s.dropped_callsites, s.dropped_blocks, s.reentrant,
                   s.peak_live_bytes, s.live_bytes, s.live_blocks, s.scan_roots_bytes,
                   s.write_failures);
  } else {
    out.print(R"(null, "stats": null)");
  }
}

}  // namespace

std::string format_json(const Report& report) {
  Output out;
  write_json(out, report);
  return out.str();
}

void write_json(Output& out, const Report& report) {
  const std::vector<ProcessReport>& reports = report.processes;
  if (!report.multi && reports.size() == 1) {
    out.print(R"({{"libleak_report": 1, )");
    write_process_body(out, reports[0]);
  } else {
    out.print(R"({{"libleak_report": 1, "processes": [)");
    for (size_t i = 0; i < reports.size(); ++i) {
      out.print("{}\n{{", i ? "," : "");
      write_process_body(out, reports[i]);
      out.print("}}");
    }
    Totals t = combine(reports);
    out.print("],\n\"totals\": ");
    write_totals(out, t.leaked, t.by_verdict, t.indirect, t.allocations, t.peak_live_bytes, t.gated,
                 t.by_domain);
  }
  if (report.baseline) {
    out.print(R"(, "baseline": )");
    write_baseline_json(out, *report.baseline);
  }
  out.print("}}\n");
}

void write_baseline_json(Output& out, const BaselineDiff& d) {
  out.print(R"({{"source": {}, "before": )", json_string(d.source));
  write_amount(out, d.before);
  out.print(R"(, "now": )");
  write_amount(out, d.now);
  out.print(R"(, "increase": )");
  write_amount(out, d.increase);
  out.print(R"(, "shrunk": {}, "leaks": [)", d.shrunk);
  for (size_t i = 0; i < d.grown.size(); ++i) {
    const auto& e = d.grown[i];
    const Frame* f = e.stack && !e.stack->empty() ? &(*e.stack)[e.blame] : nullptr;
    out.print(
        R"({}{{"stack_hash": "0x{:016x}", "bytes": {}, "blocks": {}, "delta_bytes": {}, "delta_blocks": {}, )"
        R"("new": {}, "verdicts": )",
        i ? ", " : "", e.stack_hash, e.now.bytes, e.now.blocks, e.delta_bytes, e.delta_blocks, e.is_new);
    write_verdicts(out, e.verdicts);
    out.print(R"(, "function": {}, "file": {}, "line": {}}})", f ? json_optional(f->function) : "null",
              f ? json_optional(f->file) : "null", f && f->line ? fmt::format("{}", *f->line) : "null");
  }
  out.print("]}}");
}

std::string baseline_json(const BaselineDiff& diff) {
  Output out;
  write_baseline_json(out, diff);
  return out.str();
}


namespace {

void write_json_format(Output& out, const Report& report, const FormatOptions&) { write_json(out, report); }

}  // namespace

const Format kJsonFormat{.name = "json", .write = write_json_format};

}  // namespace libleak
