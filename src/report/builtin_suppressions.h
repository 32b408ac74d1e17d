// libleak's built-in suppressions: allocations by runtimes that are leaks by design
// (one-time caches that are never freed). Turned off with --no-builtin-suppressions.
#pragma once

#include <vector>

#include "report/suppressions.h"

namespace libleak {

std::vector<Suppression> builtin_suppressions();

}  // namespace libleak
