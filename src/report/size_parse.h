// Byte sizes on the command line (--fail-above): "4096", "64KiB", "1M", "2GB".
// K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024; KB/MB/GB/TB are powers of 1000; B is bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace libleak {

// Throws Error on anything else (signs, spaces, fractions, unknown suffixes, overflow).
uint64_t parse_size(std::string_view text);

// "156.2 KiB": one decimal, binary units; "" below 1 KiB where it would add nothing.
std::string human_size(uint64_t bytes);

}  // namespace libleak
