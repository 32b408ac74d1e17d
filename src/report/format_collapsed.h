// Folded stacks (--format collapsed): one "outer;...;inner value" line per distinct stack, the
// text flamegraph.pl, speedscope and inferno read. The weights come from stack_weights.h.
#pragma once

#include <string>
#include <vector>

#include "report/format.h"

namespace libleak {

extern const Format kCollapsedFormat;  // --format collapsed [--collapsed-metric M]

void write_collapsed(Output& out, const std::vector<FoldedStack>& stacks);
std::string format_collapsed(const std::vector<FoldedStack>& stacks);

}  // namespace libleak
