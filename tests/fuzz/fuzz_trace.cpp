// libFuzzer target: parse, analyse and format an arbitrary trace. Symbolization runs with
// read_debug_info off (module + offset only), so inputs cannot make the fuzzer open files.
// Any crash, sanitizer report or exception other than libleak::Error is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "report/analysis.h"
#include "report/error.h"
#include "report/format_json.h"
#include "report/format_text.h"
#include "report/symbolizer.h"
#include "report/trace_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace libleak;
  try {
    Trace trace = parse_trace(std::span(reinterpret_cast<const std::byte*>(data), size));
    auto symbolizer = std::make_shared<Symbolizer>(SymbolizerOptions{.read_debug_info = false, .warn = {}});
    AnalysisOptions options;
    options.suppressions = {{"^main$", SuppressionSource::kFile}, {"lib*.so", SuppressionSource::kBuiltin}};
    Report report{.processes = {analyze(trace, symbolizer, options, "fuzz")}};
    format_text(report, TextOptions{});
    format_json(report);
    apply_gate(report.processes, 0);
  } catch (const Error&) {
    // Rejecting a damaged trace is the expected outcome for most inputs.
  }
  return 0;
}
