// Folded stacks and the per-callsite weights behind them. A callsite's leaked bytes are the sum
// of its report entries with a gated verdict; peak and allocated come from its trace record.
#include "report/format_collapsed.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "report/error.h"
#include "report/frame_text.h"

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

StackSource::StackSource(const ProcessView& process, Symbolizer& symbolizer)
    : trace_(*process.trace), symbolizer_(symbolizer) {
  for (const auto& l : process.report->leaks) known_.try_emplace(l.stack_hash, l.stack);
}

std::shared_ptr<const std::vector<Frame>> StackSource::of(const Callsite& callsite) {
  auto it = known_.find(callsite.record.stack_hash);
  if (it != known_.end() && it->second) return it->second;
  return std::make_shared<const std::vector<Frame>>(symbolizer_.symbolize(trace_, callsite));
}

std::vector<WeightedStack> weigh_stacks(const ProcessView& process, Symbolizer& symbolizer,
                                        StackMetric metric) {
  std::vector<WeightedStack> out;
  if (metric == StackMetric::kLeaked) {
    // Entries of one callsite are adjacent only after sorting by hash; keep the first-seen order
    // of the report (largest first) for the output.
    std::unordered_map<uint64_t, size_t> index;
    for (const auto& l : process.report->leaks) {
      if (!process.report->gated.has(l.verdict) || l.bytes == 0) continue;
      auto [it, fresh] = index.try_emplace(l.stack_hash, out.size());
      if (fresh) out.push_back({l.stack_hash, 0, l.stack});
      out[it->second].value += l.bytes;
    }
    return out;
  }
  StackSource stacks(process, symbolizer);
  for (const auto& cs : process.trace->callsites) {
    if (stacks.suppressed(cs)) continue;
    uint64_t v = metric == StackMetric::kPeak ? cs.record.peak_live_bytes : cs.record.total_bytes;
    if (v == 0) continue;
    out.push_back({cs.record.stack_hash, v, stacks.of(cs)});
  }
  return out;
}

namespace {

std::string clean_label(std::string label) {
  for (char& c : label) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return label;
}

}  // namespace

std::string frame_label(const Frame& f) { return clean_label(frame_name(f)); }

namespace {

std::string process_frame(const ProcessReport& r) {
  std::string cmd = r.command.empty() ? "?" : basename(r.command[0]);
  return clean_label(fmt::format("{} (pid {})", cmd, r.process.pid));
}

}  // namespace

std::vector<FoldedStack> fold_stacks(const std::vector<ProcessView>& processes, Symbolizer& symbolizer,
                                     StackMetric metric) {
  std::map<std::vector<std::string>, uint64_t> folded;
  for (const auto& p : processes) {
    for (const auto& w : weigh_stacks(p, symbolizer, metric)) {
      std::vector<std::string> frames;
      if (processes.size() > 1) frames.push_back(process_frame(*p.report));
      if (w.stack) {
        for (auto it = w.stack->rbegin(); it != w.stack->rend(); ++it) frames.push_back(frame_label(*it));
      }
      if (frames.empty()) frames.push_back("[no stack]");
      folded[std::move(frames)] += w.value;
    }
  }
  std::vector<FoldedStack> out;
  out.reserve(folded.size());
  for (auto& [frames, value] : folded) out.push_back({frames, value});
  return out;
}

void write_collapsed(Output& out, const std::vector<FoldedStack>& stacks) {
  for (const auto& s : stacks) {
    for (size_t i = 0; i < s.frames.size(); ++i) out.print("{}{}", i ? ";" : "", s.frames[i]);
    out.print(" {}\n", s.value);
  }
}

std::string format_collapsed(const std::vector<FoldedStack>& stacks) {
  Output out;
  write_collapsed(out, stacks);
  return out.str();
}

}  // namespace libleak
