// The output list. To add a format: write format_<name>.{h,cpp} with a FormatWriter over the
// Report and its `const Format kNameFormat`, add it to the reader or outputs library in
// CMakeLists.txt, and list it here. Its --format choice (or --NAME FILE side option), help and
// dispatch follow; a new knob goes into FormatOptions and report_command.cpp.
#include "report/formats.h"

#include "report/format_collapsed.h"
#include "report/format_flamegraph.h"
#include "report/format_json.h"
#include "report/format_plot.h"
#include "report/format_pprof.h"
#include "report/format_text.h"

namespace libleak {
namespace {

const Format* const kFormats[] = {
    &kTextFormat, &kJsonFormat, &kCollapsedFormat, &kPprofFormat,  // --format NAME
    &kPlotFormat, &kFlamegraphFormat,                              // --NAME FILE, besides the report
};

}  // namespace

std::span<const Format* const> all_formats() { return kFormats; }

const Format* find_format(std::string_view name) {
  for (const Format* f : kFormats) {
    if (f->name == name) return f;
  }
  return nullptr;
}

}  // namespace libleak
