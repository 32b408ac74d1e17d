// Stack weights and folding. A callsite's leaked bytes are the sum of its listed entries with a
// gated verdict; peak and allocated are its trace record's. Only callsites of non-zero weight are
// symbolized (a freed callsite's stack is made on demand here, not kept).
#include "report/stack_weights.h"

#include <map>

#include <fmt/format.h>

#include "report/error.h"

namespace libleak {

StackMetric parse_stack_metric(std::string_view name) {
  for (StackMetric m : {StackMetric::kLeaked, StackMetric::kPeak, StackMetric::kAllocated}) {
    if (name == to_string(m)) return m;
  }
  throw Error(fmt::format("unknown metric `{}` (expected leaked, peak, allocated)", name));
}

const char* to_string(StackMetric metric) {
  switch (metric) {
    case StackMetric::kLeaked: return "leaked";
    case StackMetric::kPeak: return "peak";
    case StackMetric::kAllocated: return "allocated";
  }
  return "?";
}

uint64_t stack_weight(const CallsiteSummary& cs, StackMetric metric) {
  if (cs.suppressed) return 0;
  switch (metric) {
    case StackMetric::kLeaked: return cs.leaked.bytes;
    case StackMetric::kPeak: return cs.peak_live_bytes;
    case StackMetric::kAllocated: return cs.allocated.bytes;
  }
  return 0;
}

namespace {

std::string clean_label(std::string label) {
  for (char& c : label) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return label;
}

std::string process_frame(const ProcessReport& r) {
  std::string cmd = r.command.empty() ? "?" : basename(r.command[0]);
  return clean_label(fmt::format("{} (pid {})", cmd, r.process.pid));
}

}  // namespace

std::string frame_label(const Frame& f) { return clean_label(frame_name(f)); }

std::vector<FoldedStack> fold_stacks(const std::vector<ProcessReport>& processes, StackMetric metric) {
  std::map<std::vector<std::string>, uint64_t> folded;
  for (const auto& p : processes) {
    for (size_t i = 0; i < p.callsites.size(); ++i) {
      uint64_t value = stack_weight(p.callsites[i], metric);
      if (value == 0) continue;
      std::vector<std::string> frames;
      if (processes.size() > 1) frames.push_back(process_frame(p));
      Stack stack = p.stacks.of(i);
      for (auto it = stack->rbegin(); it != stack->rend(); ++it) frames.push_back(frame_label(*it));
      if (frames.empty()) frames.push_back("[no stack]");
      folded[std::move(frames)] += value;
    }
  }
  std::vector<FoldedStack> out;
  out.reserve(folded.size());
  for (auto& [frames, value] : folded) out.push_back({frames, value});
  return out;
}

}  // namespace libleak
