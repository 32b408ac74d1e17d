// Size parsing and human-readable sizes; the two halves of one unit convention.
#include "report/size_parse.h"

#include <fmt/format.h>

#include "report/error.h"

namespace libleak {

uint64_t parse_size(std::string_view text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) throw Error(fmt::format("size `{}` is too large", text));
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) throw Error(fmt::format("invalid size `{}`: expected a number like 4096 or 64KiB", text));
  struct Unit {
    std::string_view suffix;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},           {"B", 1},
      {"K", 1ull << 10}, {"KiB", 1ull << 10}, {"KB", 1000ull},
      {"M", 1ull << 20}, {"MiB", 1ull << 20}, {"MB", 1000000ull},
      {"G", 1ull << 30}, {"GiB", 1ull << 30}, {"GB", 1000000000ull},
      {"T", 1ull << 40}, {"TiB", 1ull << 40}, {"TB", 1000000000000ull},
  };
  std::string_view suffix = text.substr(i);
  for (const auto& u : kUnits) {
    if (u.suffix != suffix) continue;
    if (value > UINT64_MAX / u.factor) throw Error(fmt::format("size `{}` is too large", text));
    return value * u.factor;
  }
  throw Error(fmt::format("invalid size `{}`: unknown unit `{}` (use KiB/MiB/GiB, K/M/G or KB/MB/GB)",
                          text, suffix));
}

std::string human_size(uint64_t bytes) {
  static constexpr const char* kNames[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return "";
  double v = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kNames)) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kNames[unit]);
}

}  // namespace libleak
