// --flamegraph FILE.html: a self-contained interactive flame graph (HTML with inline SVG and a
// small inline script, nothing fetched): click a frame to zoom into it, click the bottom frame
// to zoom out, hover to see the frame and its bytes. Built from the folded stacks of
// format_collapsed, so the two outputs always agree.
#pragma once

#include <string>
#include <vector>

#include "report/stack_weights.h"

namespace libleak {

// `title` names what is weighed, e.g. "leaked bytes: ./prog --flag".
std::string flamegraph_html(const std::vector<FoldedStack>& stacks, const std::string& title);

}  // namespace libleak
