// LIBLEAK_* environment variables, read once at start-up. A bad value gets one line on stderr
// and the default: configuration mistakes must never change how the traced program runs.
#include <signal.h>
#include <unistd.h>

#include "internal.h"

namespace libleak {

Config g_config;

namespace {

// Parses a decimal in [lo, hi]; on anything else warns once and keeps `fallback`.
uint32_t env_uint(const char* name, uint32_t fallback, uint32_t lo, uint32_t hi) {
  const char* s = env_get(name);
  if (!s) return fallback;
  uint64_t v = 0;
  const char* p = s;
  while (*p >= '0' && *p <= '9' && v <= hi) v = v * 10 + uint64_t(*p++ - '0');
  if (p == s || *p || v < lo || v > hi) {
    char range[64];
    size_t n = fmt_str(range, sizeof range, 0, " (expected an integer in ");
    n = fmt_u64(range, sizeof range, n, lo);
    n = fmt_str(range, sizeof range, n, "..");
    n = fmt_u64(range, sizeof range, n, hi);
    fmt_str(range, sizeof range, n, "); using the default");
    log_line("ignoring bad ", name, range);
    return fallback;
  }
  return uint32_t(v);
}

bool env_bool(const char* name, bool fallback) {
  const char* s = env_get(name);
  if (!s) return fallback;
  if (str_eq(s, "1") || str_eq(s, "yes") || str_eq(s, "on") || str_eq(s, "true")) return true;
  if (str_eq(s, "0") || str_eq(s, "no") || str_eq(s, "off") || str_eq(s, "false")) return false;
  log_line("ignoring bad ", name, " (expected 0/1, yes/no, on/off or true/false); using the default");
  return fallback;
}

}  // namespace

void config_load() {
  const char* out = env_get("LIBLEAK_OUTPUT");
  if (!out || !*out || str_len(out) >= sizeof g_config.output - 32) {
    if (out) log_line("ignoring bad LIBLEAK_OUTPUT (empty or too long); using the default libleak.%p.bin");
    out = "libleak.%p.bin";
  }
  // Relative to the directory the program started in, not wherever it has chdir'd at exit.
  size_t n = 0;
  if (out[0] != '/' && getcwd(g_config.output, sizeof g_config.output - 32)) {
    n = str_len(g_config.output);
    n = fmt_str(g_config.output, sizeof g_config.output, n, "/");
  }
  fmt_str(g_config.output, sizeof g_config.output, n, out);
  g_config.depth = env_uint("LIBLEAK_DEPTH", 32, 1, 256);
  g_config.epoch_ms = env_uint("LIBLEAK_EPOCH_MS", 100, 1, 3600000);
  g_config.interval_ms = env_uint("LIBLEAK_INTERVAL_MS", 1000, 0, 3600000);
  g_config.callsites_log2 = env_uint("LIBLEAK_CALLSITES_LOG2", 18, 10, 24);
  g_config.scan = env_bool("LIBLEAK_SCAN", true);
  g_config.python_malloc = env_bool("LIBLEAK_PYTHON_MALLOC", true);
  g_config.crash_handlers = env_bool("LIBLEAK_CRASH_HANDLERS", true);
  g_config.python_frames = env_bool("LIBLEAK_PYTHON_FRAMES", true);
  g_config.compress = env_bool("LIBLEAK_COMPRESS", true);
  g_config.snapshot_signal = int(env_uint("LIBLEAK_SNAPSHOT_SIGNAL", 0, 0, 64));
  const char* unwind = env_get("LIBLEAK_UNWIND");
  g_config.cfi_unwind = true;
  if (unwind) {
    if (str_eq(unwind, "libunwind")) g_config.cfi_unwind = false;
    else if (!str_eq(unwind, "fast")) log_line("ignoring bad LIBLEAK_UNWIND (expected fast or libunwind); using fast");
  }
  const char* follow = env_get("LIBLEAK_FOLLOW");
  g_config.follow = kFollowAll;
  if (follow) {
    if (str_eq(follow, "none")) g_config.follow = kFollowNone;
    else if (str_eq(follow, "fork")) g_config.follow = kFollowFork;
    else if (!str_eq(follow, "all")) log_line("ignoring bad LIBLEAK_FOLLOW (expected none, fork or all); using all");
  }
}

}  // namespace libleak
