// The registry of outputs: leakreport's --format choices and their help, the side options
// (--plot FILE, --flamegraph FILE) and the dispatch all come from this one list.
#pragma once

#include <span>
#include <string_view>

#include "report/format.h"

namespace libleak {

// Every output, the --format choices first, in the order --help lists them.
std::span<const Format* const> all_formats();

// The output called `name`, or null.
const Format* find_format(std::string_view name);

}  // namespace libleak
