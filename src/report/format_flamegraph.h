// --flamegraph FILE.html: a self-contained interactive flame graph (HTML with inline SVG and a
// small inline script, nothing fetched): click a frame to zoom into it, click the bottom frame
// to zoom out, hover to see the frame and its bytes. Built from the folded stacks of
// stack_weights, as --format collapsed, so the two outputs always agree.
#pragma once

#include <string>
#include <vector>

#include "report/format.h"

namespace libleak {

extern const Format kFlamegraphFormat;  // --flamegraph FILE [--flame-metric M]

// `title` names what is weighed, e.g. "leaked bytes: ./prog --flag".
void write_flamegraph_html(Output& out, const std::vector<FoldedStack>& stacks, const std::string& title);
// The same, collected into a string (tests).
std::string flamegraph_html(const std::vector<FoldedStack>& stacks, const std::string& title);

}  // namespace libleak
