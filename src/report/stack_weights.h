// What each call stack weighs (leaked, peak or allocated bytes) and the folded stacks built from
// those weights: the shared input of --format collapsed and --flamegraph, so the two agree.
// Read from the analysis only (ProcessReport::callsites and stacks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/analysis.h"

namespace libleak {

// What a stack weighs: bytes leaked at exit (gated verdicts), the callsite's own highest live
// bytes (callsites peak at different times: their sum bounds the process peak from above), or
// every byte it ever allocated. A callsite whose live blocks a suppression hid from the report
// is left out of every metric; one that freed everything is no leak and always counts.
enum class StackMetric { kLeaked, kPeak, kAllocated };
StackMetric parse_stack_metric(std::string_view name);  // "leaked|peak|allocated"; throws Error
const char* to_string(StackMetric metric);

// The callsite's bytes under `metric` (0 for a suppressed callsite).
uint64_t stack_weight(const CallsiteSummary& callsite, StackMetric metric);

// A frame's name in folded stacks and flame graphs: frame_name(), with ';' (the separator) and
// line breaks replaced so one frame stays one field.
std::string frame_label(const Frame& frame);

// The folded lines of all processes, identical stacks summed, sorted. With several processes
// each stack starts with a "command (pid N)" frame so that they stay apart.
struct FoldedStack {
  std::vector<std::string> frames;  // outermost first
  uint64_t value = 0;
};
std::vector<FoldedStack> fold_stacks(const std::vector<ProcessReport>& processes, StackMetric metric);

}  // namespace libleak
