// Size parsing and human-readable sizes; the two halves of one unit convention. Fractions are
// computed in 128-bit integers so that "1.5MiB" is exactly 1572864, never a rounded double.
#include "report/size_parse.h"

#include <optional>

#include <fmt/format.h>

#include "report/error.h"

namespace libleak {
namespace {

constexpr size_t kMaxFractionDigits = 18;  // 10^18 < 2^64: the fraction's numerator fits

// The factor of a unit, or nullopt. "" and "B" are bytes; K, M, G, T (either case) alone or
// followed by "iB" are powers of 1024, followed by "B" powers of 1000.
std::optional<uint64_t> unit_factor(std::string_view unit) {
  if (unit.empty() || unit == "B") return 1;
  size_t power = std::string_view("KMGT").find(unit[0]);
  if (power == std::string_view::npos) power = std::string_view("kmgt").find(unit[0]);
  if (power == std::string_view::npos) return std::nullopt;
  std::string_view rest = unit.substr(1);
  uint64_t base = rest.empty() || rest == "iB" ? 1024 : rest == "B" ? 1000 : 0;
  if (base == 0) return std::nullopt;
  uint64_t factor = 1;
  for (size_t i = 0; i <= power; ++i) factor *= base;
  return factor;
}

// Consumes the digits at the start of `text` into `value`; returns how many there were.
size_t take_digits(std::string_view text, unsigned __int128& value) {
  size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
    value = value * 10 + static_cast<unsigned>(text[n] - '0');
    if (value > UINT64_MAX) return n + 1;  // the caller sees an overflow; stop before 128 bits do
    ++n;
  }
  return n;
}

}  // namespace

uint64_t parse_size(std::string_view text) {
  auto too_large = [&] { return Error(fmt::format("size `{}` is too large", text)); };
  unsigned __int128 whole = 0;
  size_t i = take_digits(text, whole);
  if (i == 0) {
    throw Error(fmt::format("invalid size `{}`: expected a number like 4096, 64KiB or 1.5MB", text));
  }
  if (whole > UINT64_MAX) throw too_large();
  unsigned __int128 fraction = 0, scale = 1;
  if (i < text.size() && text[i] == '.') {
    size_t digits = take_digits(text.substr(i + 1), fraction);
    if (digits == 0) throw Error(fmt::format("invalid size `{}`: expected digits after the point", text));
    if (digits > kMaxFractionDigits) {
      throw Error(fmt::format("invalid size `{}`: more than {} digits after the point", text,
                              kMaxFractionDigits));
    }
    for (size_t d = 0; d < digits; ++d) scale *= 10;
    i += 1 + digits;
  }
  std::string_view unit = text.substr(i);
  if (!unit.empty() && unit.front() == ' ' && unit.size() > 1) unit.remove_prefix(1);
  std::optional<uint64_t> factor = unit_factor(unit);
  if (!factor) {
    throw Error(fmt::format("invalid size `{}`: unknown unit `{}` (K/KiB, M/MiB, G/GiB, T/TiB are "
                            "powers of 1024, KB/MB/GB/TB powers of 1000, B bytes)",
                            text, unit));
  }
  unsigned __int128 bytes = whole * *factor + fraction * *factor / scale;
  if (bytes > UINT64_MAX) throw too_large();
  return static_cast<uint64_t>(bytes);
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
