// The report command: leakreport's options and its whole pipeline (read the traces, analyse,
// write the report and the side outputs, apply the gate), for any tool that prints a leak report
// (leakreport; a runner that traces a command, then reports on stderr). Errors are thrown as
// libleak::Error; the tool prints them as its one error line.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace libleak {

// The options as given; run_report() checks them before reading any trace.
struct ReportOptions {
  std::vector<std::string> inputs;  // trace files or directories; each tool declares how it gets them
  std::string format = "text";      // a Format::Kind::kReport name (formats.h)
  std::string output;               // -o FILE; "" the tool's stream
  std::vector<std::string> suppression_files;
  bool no_builtin_suppressions = false;
  std::string gate_verdicts;  // "" the default gate of each trace
  std::string fail_above;     // "" no gate
  bool show_reachable = false;
  size_t top = 20;
  bool no_symbolize = false;
  std::string color = "auto";
  bool full_names = false;
  std::string collapsed_metric = "leaked";
  // Side outputs (Format::Kind::kSideFile) by format name: --plot FILE, --flamegraph FILE.
  std::map<std::string, std::string, std::less<>> side_files;
  size_t plot_top = 5;
  std::string flame_metric = "leaked";
  std::string baseline;  // --baseline: older trace(s) to compare with
};

// Declares every report option on `app` except the traces, which each tool takes its own way.
void declare_report_options(CLI::App& app, ReportOptions& options);

// The end of --help: exit codes, verdicts, sizes and the JSON contract.
extern const std::string_view kReportHelpFooter;

// Where the pipeline writes besides the files the options name.
struct ReportStreams {
  std::FILE* report = stdout;                 // the report, unless -o FILE
  std::string_view report_name = "<stdout>";  // names that stream in an error line
  std::FILE* messages = stderr;               // warnings and the gate's line
  std::string_view program = "leakreport";    // the prefix of those lines
};

// Runs the whole pipeline. Returns kExitOk, or kExitGateFailed when --fail-above is exceeded;
// throws Error on a bad option, an unreadable trace or an unwritable output.
int run_report(const ReportOptions& options, const ReportStreams& streams = {});

}  // namespace libleak
