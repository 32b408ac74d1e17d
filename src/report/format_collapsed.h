// Folded stacks (--format collapsed): one "outer;...;inner value" line per distinct stack, the
// text flamegraph.pl, speedscope and inferno read. Also the per-callsite weights (leaked, peak or
// allocated bytes) that the flame graph shares with it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report/analysis.h"
#include "report/output.h"
#include "report/symbolizer.h"
#include "report/trace_reader.h"

namespace libleak {

// What a stack weighs: bytes leaked at exit (gated verdicts), the callsite's own highest live
// bytes (callsites peak at different times: their sum bounds the process peak from above), or
// every byte it ever allocated. A callsite whose live blocks a suppression hid from the report
// is left out of every metric; one that freed everything is no leak and always counts.
enum class StackMetric { kLeaked, kPeak, kAllocated };
StackMetric parse_stack_metric(std::string_view name);  // "leaked|peak|allocated"; throws Error
const char* to_string(StackMetric metric);

// One traced process: the trace (per-callsite records, timeline, modules) and its analysis
// (verdicts, symbolized stacks). Both must outlive the view.
struct ProcessView {
  const Trace* trace = nullptr;
  const ProcessReport* report = nullptr;
};

struct WeightedStack {
  uint64_t stack_hash = 0;
  uint64_t value = 0;
  std::shared_ptr<const std::vector<Frame>> stack;  // innermost first
};

// The callsites of one process with a non-zero value, in trace order. Stacks come from the
// report when it has them, from the symbolizer (cached) otherwise.
std::vector<WeightedStack> weigh_stacks(const ProcessView& process, Symbolizer& symbolizer,
                                        StackMetric metric);

// Symbolized stacks of one process's callsites: the report's own (shared) when it has the
// callsite, else from the symbolizer, whose cache makes a second symbolization cheap.
class StackSource {
 public:
  StackSource(const ProcessView& process, Symbolizer& symbolizer);
  std::shared_ptr<const std::vector<Frame>> of(const Callsite& callsite);
  // Live blocks but no report entry: analyze() hides every entry of a suppressed callsite.
  bool suppressed(const Callsite& callsite) const {
    return (callsite.record.live_blocks || callsite.record.live_bytes) &&
           !known_.count(callsite.record.stack_hash);
  }

 private:
  const Trace& trace_;
  Symbolizer& symbolizer_;
  std::unordered_map<uint64_t, std::shared_ptr<const std::vector<Frame>>> known_;
};

// A frame's name in folded stacks and flame graphs: frame_name(), with ';' (the separator) and
// line breaks replaced so one frame stays one field.
std::string frame_label(const Frame& frame);

// The folded lines of all processes, identical stacks summed, sorted. With several processes
// each stack starts with a "command (pid N)" frame so that they stay apart.
struct FoldedStack {
  std::vector<std::string> frames;  // outermost first
  uint64_t value = 0;
};
std::vector<FoldedStack> fold_stacks(const std::vector<ProcessView>& processes, Symbolizer& symbolizer,
                                     StackMetric metric);

void write_collapsed(Output& out, const std::vector<FoldedStack>& stacks);
std::string format_collapsed(const std::vector<FoldedStack>& stacks);

}  // namespace libleak
