// libleak.so's configuration: the LIBLEAK_* variables of flags.inc, read once at start-up (before
// the first hook records anything) and read-only afterwards, so any part of libleak may read it
// through config() without synchronisation. A bad value costs one stderr line and the default.
#pragma once

#include <limits.h>
#include <stdint.h>

namespace libleak {

using ConfigPath = char[PATH_MAX];

struct Config {
#define LIBLEAK_FLAG(kind, type, field, ...) type field;
#include "base/flags.inc"
#undef LIBLEAK_FLAG
  bool output_relative;  // LIBLEAK_OUTPUT was given relative (output holds it made absolute)
};

// LIBLEAK_FOLLOW and LIBLEAK_UNWIND: the index of the choice in flags.inc.
enum Follow : uint32_t { kFollowNone = 0, kFollowFork = 1, kFollowAll = 2 };
enum Unwind : uint32_t { kUnwindFast = 0, kUnwindLibunwind = 1 };

namespace detail {
extern Config g_config;
}
inline const Config& config() { return detail::g_config; }

// Parses the environment into the configuration; prints the variable list with LIBLEAK_HELP.
void config_load();
// Tests only: the configuration to use instead of the environment's.
Config& config_for_tests();

}  // namespace libleak
