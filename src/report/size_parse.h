// Byte sizes on the command line (--fail-above): "4096", "10k", "64KiB", "1.5MiB", "2GB".
// The rule (README "Sizes"): K/M/G/T alone and KiB/MiB/GiB/TiB are powers of 1024, as in du,
// dd and sort -S; KB/MB/GB/TB are powers of 1000; B is bytes. The prefix letter may be lower case.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace libleak {

// NUMBER[ ][UNIT]: decimal digits with an optional fraction (at most 18 digits after the point),
// then at most one space and a unit. A fraction of a byte is dropped ("0.1KiB" is 102), which for
// a limit that fails when bytes > SIZE is the same limit. Throws Error on anything else (signs,
// other spaces, exponents, unknown units such as `kb` or `KIB`, values above 2^64-1).
uint64_t parse_size(std::string_view text);

// "156.2 KiB": one decimal, binary units; "" below 1 KiB where it would add nothing.
std::string human_size(uint64_t bytes);

}  // namespace libleak
