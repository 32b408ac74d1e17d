// Folded stacks (--format collapsed): one "outer;...;inner value" line per distinct stack, the
// text flamegraph.pl, speedscope and inferno read. The weights come from stack_weights.h.
#pragma once

#include <string>
#include <vector>

#include "report/output.h"
#include "report/stack_weights.h"

namespace libleak {

void write_collapsed(Output& out, const std::vector<FoldedStack>& stacks);
std::string format_collapsed(const std::vector<FoldedStack>& stacks);

}  // namespace libleak
