// Folded-stack lines: frames joined by ';' (frame_label keeps ';' out of a frame), a space, the
// weight. Stacks arrive sorted and summed from fold_stacks.
#include "report/format_collapsed.h"

namespace libleak {

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


namespace {

void write_collapsed_format(Output& out, const Report& report, const FormatOptions& options) {
  write_collapsed(out, fold_stacks(report.processes, options.collapsed_metric));
}

}  // namespace

const Format kCollapsedFormat{
    .name = "collapsed", .help = "folded stacks for flamegraph.pl and speedscope", .write = write_collapsed_format};

}  // namespace libleak
