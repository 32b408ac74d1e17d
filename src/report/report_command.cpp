// The report pipeline in phases: check the options (nothing is read before they pass), analyse
// every trace and the baseline with one symbolizer, write the report, then the side outputs, then
// apply the gate. Formats come from the registry (formats.h); nothing here names one.
#include "report/report_command.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "report/builtin_suppressions.h"
#include "report/error.h"
#include "report/format_text.h"
#include "report/formats.h"
#include "report/size_parse.h"

namespace libleak {

const std::string_view kReportHelpFooter = R"(Exit codes:
  0  report written (and the --fail-above gate, if any, passed)
  1  --fail-above gate failed: gated leaked bytes exceed SIZE
  2  error: bad option, unreadable or corrupt trace, unwritable output

Verdicts: unreachable (the exit scan found no pointer to it; "indirect" when only other leaked
blocks point to it), growing (live blocks born throughout the run), reachable (still pointed to
at exit), unfreed (still allocated, no scan was run). Default gate: unreachable,growing; for a
trace without a scan (snapshot, crash): unfreed,growing.

SIZE: bytes, with an optional unit: K, M, G, T alone or as KiB, MiB, GiB, TiB are powers of 1024,
KB, MB, GB, TB powers of 1000 (10k = 10240, 1.5MiB = 1572864, 64KB = 64000).

JSON: one trace gives {"libleak_report":1, "source", "process", "totals", "marks", "leaks",
"suppressions", "dropped", "stats"}; several inputs or a directory give {"libleak_report":1,
"processes":[...], "totals"}. "process": pid, command, "exit" (running, normal, signal,
fast_exit), exit_code... "totals": leaked bytes/blocks, "by_verdict", "indirect", "by_domain"
(malloc, gmp: allocations, bytes, live_blocks, live_bytes). "marks": [{"label", "time_ns"}] from
libleak_mark(). "leaks" lists every verdict, reachable included: bytes, blocks, "verdict",
"indirect", "domain", "blame" and "python_frame" (indexes into "frames", the latter null without
Python frames), "after_marks": [{"mark" (index into "marks"), "blocks", "bytes"}] live since that
mark, and "frames", innermost first, each with "language": "native", or "python" (address and
offset null, module = file). With --baseline, also "baseline": {"source", "before", "now",
"increase", "shrunk", "leaks"}, the leaks that are new or grew, each with "delta_bytes",
"delta_blocks", "new" (true: absent from the baseline).)";

namespace {

// --format's choices and help, from the registry: "report format; NAME: HELP, needs -o FILE; ...".
std::vector<std::string> report_format_names(std::string& help) {
  std::vector<std::string> names;
  help = "report format";
  for (const Format* f : all_formats()) {
    if (f->kind != Format::Kind::kReport) continue;
    names.emplace_back(f->name);
    if (!f->help.empty()) help += fmt::format("; {}: {}", f->name, f->help);
    if (!f->needs_file.empty()) help += fmt::format(", needs -o {}", f->needs_file);
  }
  return names;
}

}  // namespace

void declare_report_options(CLI::App& app, ReportOptions& o) {
  std::string format_help;
  auto format_names = report_format_names(format_help);
  app.add_option("--format", o.format, format_help)->check(CLI::IsMember(std::move(format_names)));
  app.add_option("-o,--output", o.output, "write the report to FILE instead of stdout");
  app.add_option("--suppressions", o.suppression_files,
                 "LeakSanitizer-style suppressions file (leak:PATTERN lines); repeatable");
  app.add_flag("--no-builtin-suppressions", o.no_builtin_suppressions,
               "do not apply libleak's built-in suppressions");
  app.add_option("--gate-verdicts", o.gate_verdicts,
                 "comma-separated verdicts counted as leaked: unreachable,growing,reachable,unfreed");
  app.add_option("--fail-above", o.fail_above, "exit 1 when leaked bytes exceed SIZE (e.g. 0, 64KiB)");
  app.add_flag("--show-reachable", o.show_reachable, "list reachable entries in the text report");
  app.add_option("--top", o.top, "leaks listed per process in the text report");
  app.add_flag("--no-symbolize", o.no_symbolize, "report module+offset only, do not read debug info");
  app.add_option("--color", o.color, "colours in the text report: auto (on a terminal unless NO_COLOR "
                 "is set), always, never")->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--full-names", o.full_names, "do not shorten long C++ names in the text report");
  auto metric = CLI::IsMember({"leaked", "peak", "allocated"});
  app.add_option("--collapsed-metric", o.collapsed_metric,
                 "bytes weighing --format collapsed: leaked (gated verdicts), peak (each callsite's "
                 "highest live bytes) or allocated")->check(metric);
  for (const Format* f : all_formats()) {
    if (f->kind != Format::Kind::kSideFile) continue;
    app.add_option(fmt::format("--{}", f->name), o.side_files[std::string(f->name)], std::string(f->help));
  }
  app.add_option("--plot-top", o.plot_top, "callsite lines in --plot besides the total")
      ->check(CLI::Range(size_t{0}, kPlotMaxSeries));
  app.add_option("--flame-metric", o.flame_metric, "bytes weighing --flamegraph: leaked, peak or allocated")
      ->check(metric);
  app.add_option("--baseline", o.baseline,
                 "compare with an older trace (or directory) of the same program: list leaks that are "
                 "new or grew; --fail-above then gates the increase");
}

namespace {

// The options checked and typed, before any trace is read.
struct Plan {
  const Format* format = nullptr;
  AnalysisOptions analysis;
  std::optional<uint64_t> fail_above;
  FormatOptions format_options;  // text.color is decided per destination
  std::vector<std::pair<const Format*, std::string>> side_files;  // in registry order
};

const Format& report_format(const ReportOptions& o) {
  const Format* f = find_format(o.format);
  if (!f || f->kind != Format::Kind::kReport) throw Error(fmt::format("unknown format `{}`", o.format));
  if (!f->needs_file.empty() && o.output.empty()) {
    throw Error(fmt::format("--format {} needs -o {}", f->name, f->needs_file));
  }
  return *f;
}

std::vector<std::pair<const Format*, std::string>> side_files(const ReportOptions& o) {
  for (const auto& [name, path] : o.side_files) {
    const Format* f = find_format(name);
    if (!path.empty() && (!f || f->kind != Format::Kind::kSideFile)) {
      throw Error(fmt::format("unknown side output `{}`", name));
    }
  }
  std::vector<std::pair<const Format*, std::string>> out;
  for (const Format* f : all_formats()) {
    auto it = o.side_files.find(f->name);
    if (f->kind == Format::Kind::kSideFile && it != o.side_files.end() && !it->second.empty()) {
      out.emplace_back(f, it->second);
    }
  }
  return out;
}

Plan plan(const ReportOptions& o) {
  Plan p;
  p.format = &report_format(o);
  if (!o.gate_verdicts.empty()) p.analysis.gate_verdicts = parse_verdict_set(o.gate_verdicts);
  if (!o.fail_above.empty()) p.fail_above = parse_size(o.fail_above);
  for (const auto& file : o.suppression_files) {
    auto s = read_suppressions_file(file);
    p.analysis.suppressions.insert(p.analysis.suppressions.end(), s.begin(), s.end());
  }
  if (!o.no_builtin_suppressions) {
    auto s = builtin_suppressions();
    p.analysis.suppressions.insert(p.analysis.suppressions.end(), s.begin(), s.end());
  }
  p.format_options.text = TextOptions{o.top, o.show_reachable, false, o.full_names};
  p.format_options.collapsed_metric = parse_stack_metric(o.collapsed_metric);
  p.format_options.plot = PlotOptions{o.plot_top};
  p.format_options.flame_metric = parse_stack_metric(o.flame_metric);
  p.side_files = side_files(o);
  return p;
}

// Every trace analysed with one symbolizer (one cache, each warning once), then the baseline's.
Report analyse(const ReportOptions& o, const AnalysisOptions& analysis, const ReportStreams& io) {
  if (o.inputs.empty()) throw Error("no trace given");
  std::vector<std::filesystem::path> given(o.inputs.begin(), o.inputs.end());
  auto paths = expand_inputs(given);
  Report report;
  report.multi = paths.size() > 1 || paths.size() != given.size() || std::filesystem::is_directory(given.front());
  auto warned = std::make_shared<std::set<std::string>>();
  SymbolizerOptions sym_options;
  sym_options.read_debug_info = !o.no_symbolize;
  sym_options.warn = [warned, io](const std::string& message) {
    if (warned->insert(message).second) fmt::print(io.messages, "{}: warning: {}\n", io.program, message);
  };
  auto symbolizer = std::make_shared<Symbolizer>(sym_options);
  for (const auto& path : paths) {
    report.processes.push_back(analyze(read_trace_file(path), symbolizer, analysis, path.string()));
  }
  if (!o.baseline.empty()) {
    std::vector<ProcessReport> old;
    for (const auto& path : expand_inputs({o.baseline})) {
      old.push_back(analyze(read_trace_file(path), symbolizer, analysis, path.string()));
    }
    report.baseline = diff_against_baseline(old, report.processes, o.baseline);
  }
  return report;
}

// The report, streamed to the tool's stream or -o FILE; an error names where it was going.
void write_report(const ReportOptions& o, const Plan& p, const Report& report, const ReportStreams& io) {
  std::FILE* file = io.report;
  if (!o.output.empty()) {
    file = std::fopen(o.output.c_str(), "wb");
    if (!file) throw Error(o.output, fmt::format("cannot write: {}", std::strerror(errno)));
  }
  try {
    FormatOptions options = p.format_options;
    options.text.color = color_wanted(o.color, file);
    Output out(file);
    p.format->write(out, report, options);
    out.flush();
  } catch (const Error& e) {
    if (file != io.report) std::fclose(file);
    throw Error(o.output.empty() ? std::string(io.report_name) : o.output, e.what());
  }
  if (file != io.report && std::fclose(file) != 0) throw Error(o.output, "cannot write the report");
}

// A side output is drawn in memory first: one that cannot be drawn (a plot without a timeline)
// leaves an existing FILE untouched.
void write_side_file(const Format& f, const std::string& path, const Report& report, const Plan& p) {
  if (f.single_process && report.processes.size() != 1) {
    throw Error(path, fmt::format("--{} takes a single trace", f.name));
  }
  Output content;
  f.write(content, report, p.format_options);
  std::ofstream file(path, std::ios::binary);
  file << content.str();
  file.close();
  if (!file) throw Error(path, fmt::format("cannot write: {}", std::strerror(errno)));
}

}  // namespace

int run_report(const ReportOptions& o, const ReportStreams& io) {
  Plan p = plan(o);
  Report report = analyse(o, p.analysis, io);
  write_report(o, p, report, io);
  for (const auto& [format, path] : p.side_files) write_side_file(*format, path, report, p);
  GateResult gate = report.baseline ? apply_baseline_gate(*report.baseline, p.fail_above)
                                    : apply_gate(report.processes, p.fail_above);
  if (!gate.message.empty()) fmt::print(io.messages, "{}: {}\n", io.program, gate.message);
  return gate.exit_code;
}

}  // namespace libleak
