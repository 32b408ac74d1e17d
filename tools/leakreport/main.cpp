// leakreport: reads libleak traces and reports leaks. All options are declared in parse_options;
// every failure is a libleak::Error caught once in main and printed as one line (exit code 2).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/analysis.h"
#include "report/baseline.h"
#include "report/builtin_suppressions.h"
#include "report/error.h"
#include "report/flamegraph.h"
#include "report/format_collapsed.h"
#include "report/format_json.h"
#include "report/format_pprof.h"
#include "report/format_text.h"
#include "report/plot_svg.h"
#include "report/size_parse.h"
#include "report/symbolizer.h"
#include "report/trace_reader.h"

namespace libleak {
namespace {

struct Options {
  std::vector<std::string> inputs;
  std::string format = "text";
  std::string output;
  std::vector<std::string> suppression_files;
  bool no_builtin_suppressions = false;
  std::string gate_verdicts;
  std::string fail_above;
  bool show_reachable = false;
  size_t top = 20;
  bool no_symbolize = false;
  std::string color = "auto";
  bool full_names = false;
  std::string plot;
  size_t plot_top = 5;
  std::string flamegraph;
  std::string flame_metric = "leaked";
  std::string collapsed_metric = "leaked";
  std::string baseline;
};

constexpr const char* kFooter = R"(Exit codes:
  0  report written (and the --fail-above gate, if any, passed)
  1  --fail-above gate failed: gated leaked bytes exceed SIZE
  2  error: bad option, unreadable or corrupt trace, unwritable output

Verdicts: unreachable (the exit scan found no pointer to it; "indirect" when only other leaked
blocks point to it), growing (live blocks born throughout the run), reachable (still pointed to
at exit), unfreed (still allocated, no scan was run). Default gate: unreachable,growing; for a
trace without a scan (snapshot, crash): unfreed,growing.

SIZE: 4096, 64KiB, 1MiB, 2GiB (K/M/G also binary), 64KB/1MB/2GB (decimal).

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

void declare_options(CLI::App& app, Options& o) {
  app.add_option("traces", o.inputs, "trace files, or directories of traces (one per process)")
      ->required();
  app.add_option("--format", o.format, "report format; collapsed: folded stacks for flamegraph.pl and "
                 "speedscope; pprof: gzipped profile.proto, needs -o FILE.pb.gz")
      ->check(CLI::IsMember({"text", "json", "collapsed", "pprof"}));
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
  app.add_option("--plot", o.plot, "also write live bytes over time (total and top callsites) as SVG to FILE");
  app.add_option("--plot-top", o.plot_top, "callsite lines in --plot besides the total")
      ->check(CLI::Range(size_t{0}, kPlotMaxSeries));
  app.add_option("--flamegraph", o.flamegraph, "also write an interactive flame graph (HTML) to FILE");
  app.add_option("--flame-metric", o.flame_metric, "bytes weighing --flamegraph: leaked, peak or allocated")
      ->check(metric);
  app.add_option("--baseline", o.baseline,
                 "compare with an older trace (or directory) of the same program: list leaks that are "
                 "new or grew; --fail-above then gates the increase");
  app.footer(kFooter);
}

// Streams the report to stdout or to -o FILE.
void write_report(const Options& o, const Report& report) {
  std::FILE* file = stdout;
  if (!o.output.empty()) {
    file = std::fopen(o.output.c_str(), "wb");
    if (!file) throw Error(o.output, fmt::format("cannot write: {}", std::strerror(errno)));
  }
  try {
    Output out(file);
    if (o.format == "json") {
      write_json(out, report);
    } else if (o.format == "collapsed") {
      write_collapsed(out, fold_stacks(report.processes, parse_stack_metric(o.collapsed_metric)));
    } else if (o.format == "pprof") {
      write_pprof(out, report.processes);
    } else {
      write_text(out, report, TextOptions{o.top, o.show_reachable, color_wanted(o.color, file), o.full_names});
    }
    out.flush();
  } catch (const Error& e) {
    if (file != stdout) std::fclose(file);
    throw Error(o.output.empty() ? "<stdout>" : o.output, e.what());
  }
  if (file != stdout && std::fclose(file) != 0) throw Error(o.output, "cannot write the report");
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
  f.close();
  if (!f) throw Error(path, fmt::format("cannot write: {}", std::strerror(errno)));
}

int run(const Options& o) {
  if (o.format == "pprof" && o.output.empty()) throw Error("--format pprof needs -o FILE.pb.gz");
  AnalysisOptions analysis;
  if (!o.gate_verdicts.empty()) analysis.gate_verdicts = parse_verdict_set(o.gate_verdicts);
  std::optional<uint64_t> fail_above;
  if (!o.fail_above.empty()) fail_above = parse_size(o.fail_above);
  for (const auto& f : o.suppression_files) {
    auto s = read_suppressions_file(f);
    analysis.suppressions.insert(analysis.suppressions.end(), s.begin(), s.end());
  }
  if (!o.no_builtin_suppressions) {
    auto s = builtin_suppressions();
    analysis.suppressions.insert(analysis.suppressions.end(), s.begin(), s.end());
  }

  std::vector<std::filesystem::path> given(o.inputs.begin(), o.inputs.end());
  auto paths = expand_inputs(given);
  bool multi = paths.size() > 1 || paths.size() != given.size() ||
               std::filesystem::is_directory(given.front());

  std::set<std::string> warned;
  SymbolizerOptions sym_options;
  sym_options.read_debug_info = !o.no_symbolize;
  sym_options.warn = [&warned](const std::string& message) {
    if (warned.insert(message).second) fmt::print(stderr, "leakreport: warning: {}\n", message);
  };
  auto symbolizer = std::make_shared<Symbolizer>(sym_options);
  std::vector<ProcessReport> reports;
  for (const auto& path : paths) reports.push_back(analyze(read_trace_file(path), symbolizer, analysis, path.string()));
  std::optional<BaselineDiff> baseline;
  if (!o.baseline.empty()) {
    std::vector<ProcessReport> old;
    for (const auto& path : expand_inputs({o.baseline})) {
      old.push_back(analyze(read_trace_file(path), symbolizer, analysis, path.string()));
    }
    baseline = diff_against_baseline(old, reports, o.baseline);
  }

  write_report(o, Report{reports, multi, baseline});
  if (!o.plot.empty()) {
    if (reports.size() != 1) throw Error(o.plot, "--plot takes a single trace");
    write_file(o.plot, plot_svg(reports[0], PlotOptions{o.plot_top}));
  }
  if (!o.flamegraph.empty()) {
    StackMetric metric = parse_stack_metric(o.flame_metric);
    std::string what = fmt::format("{} bytes", to_string(metric));
    if (reports.size() == 1) what += ": " + fmt::format("{}", fmt::join(reports[0].command, " "));
    write_file(o.flamegraph, flamegraph_html(fold_stacks(reports, metric), what));
  }
  GateResult gate = baseline ? apply_baseline_gate(*baseline, fail_above) : apply_gate(reports, fail_above);
  if (!gate.message.empty()) fmt::print(stderr, "leakreport: {}\n", gate.message);
  return gate.exit_code;
}

}  // namespace
}  // namespace libleak

int main(int argc, char** argv) {
  using namespace libleak;
  CLI::App app{"leakreport: report memory leaks recorded by libleak (LD_PRELOAD=libleak.so)"};
  Options options;
  declare_options(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "leakreport: {}\nRun with --help for more information.\n", e.what());
    return kExitError;
  }
  try {
    return run(options);
  } catch (const Error& e) {
    if (e.source().empty()) {
      fmt::print(stderr, "leakreport: {}\n", e.what());
    } else {
      fmt::print(stderr, "leakreport: {}: {}\n", e.source(), e.what());
    }
    return kExitError;
  } catch (const std::exception& e) {  // e.g. std::bad_alloc, filesystem errors: still one line
    fmt::print(stderr, "leakreport: {}\n", e.what());
    return kExitError;
  }
}
