// leakreport: reads libleak traces and reports leaks. The options and the pipeline live in
// src/report/report_command.h; this entry point parses, runs, and prints any failure (a
// libleak::Error, or a parse error) as one line with exit code 2.
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "report/analysis.h"
#include "report/error.h"
#include "report/report_command.h"

int main(int argc, char** argv) {
  using namespace libleak;
  CLI::App app{"leakreport: report memory leaks recorded by libleak (LD_PRELOAD=libleak.so)"};
  ReportOptions options;
  app.add_option("traces", options.inputs, "trace files, or directories of traces (one per process)")->required();
  declare_report_options(app, options);
  app.footer(std::string(kReportHelpFooter));
  app.set_version_flag("--version", "leakreport " LIBLEAK_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "leakreport: {}\nRun with --help for more information.\n", e.what());
    return kExitError;
  }
  try {
    return run_report(options);
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
