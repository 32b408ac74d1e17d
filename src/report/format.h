// What an output format is: a writer from the analysed Report to bytes, the typed options of
// every format, and how the command line offers it. Each format_<name>.cpp defines its Format;
// formats.cpp lists them (see there for adding one).
#pragma once

#include <cstddef>
#include <string_view>

#include "report/output.h"
#include "report/report.h"
#include "report/stack_weights.h"

namespace libleak {

struct TextOptions {
  size_t top = 20;            // leaks listed per process (and baseline stacks)
  bool show_reachable = false;
  bool color = false;         // ANSI colours (see color_wanted)
  bool full_names = false;    // false: long C++ names shortened by shorten_name
};

inline constexpr size_t kPlotMaxSeries = 10;  // one distinct colour each

struct PlotOptions {
  size_t top = 5;  // callsite lines besides the total, at most kPlotMaxSeries
};

// The options of every format, resolved from the command line (report_command.cpp): a format
// reads its own and ignores the rest.
struct FormatOptions {
  TextOptions text;
  StackMetric collapsed_metric = StackMetric::kLeaked;
  PlotOptions plot;
  StackMetric flame_metric = StackMetric::kLeaked;
};

// Writes the whole output; throws Error on what it cannot draw (a plot without a timeline).
using FormatWriter = void (*)(Output& out, const Report& report, const FormatOptions& options);

struct Format {
  enum class Kind {
    kReport,    // --format NAME: the report, to stdout or -o FILE
    kSideFile,  // --NAME FILE: written besides the report
  };
  std::string_view name = {};
  Kind kind = Kind::kReport;
  // kReport: what --help says of the choice ("" nothing); kSideFile: the option's help.
  std::string_view help = {};
  // kReport with binary bytes: the file -o must name ("FILE.pb.gz"); "" when stdout will do.
  std::string_view needs_file = {};
  bool single_process = false;  // kSideFile drawing one trace: an error with several
  FormatWriter write = nullptr;
};

}  // namespace libleak
