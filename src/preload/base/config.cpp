// Parses the LIBLEAK_* variables of flags.inc. Runs once, in libleak.so's constructor, before any
// allocation is recorded; allocation-free like the rest of the library. Configuration mistakes
// must never change how the traced program runs: a bad value gets one stderr line and the default.
#include "base/config.h"

#include <stddef.h>
#include <unistd.h>

#include "base/sys.h"

namespace libleak {

namespace detail {
Config g_config;
}

namespace {

enum FlagKind { kUint, kBool, kChoice, kPath };

struct FlagSpec {
  FlagKind kind;
  size_t offset;  // of the field in Config
  const char* name;
  const char* fallback;
  uint32_t lo, hi;
  const char* choices;
  const char* help;
};

constexpr FlagSpec kFlags[] = {
#define LIBLEAK_FLAG(kind, type, field, name, fallback, lo, hi, choices, help) \
  {kind, offsetof(Config, field), name, fallback, lo, hi, choices, help},
#include "base/flags.inc"
#undef LIBLEAK_FLAG
};

bool parse_uint(const char* s, uint32_t lo, uint32_t hi, uint32_t* out) {
  uint64_t v = 0;
  const char* p = s;
  while (*p >= '0' && *p <= '9' && v <= hi) v = v * 10 + uint64_t(*p++ - '0');
  if (p == s || *p || v < lo || v > hi) return false;
  *out = uint32_t(v);
  return true;
}

bool parse_bool(const char* s, bool* out) {
  for (const char* yes : {"1", "yes", "on", "true"})
    if (str_eq(s, yes)) return *out = true;
  for (const char* no : {"0", "no", "off", "false"})
    if (str_eq(s, no)) return !(*out = false);
  return false;
}

// The index of `s` among the '|'-separated choices.
bool parse_choice(const char* s, const char* choices, uint32_t* out) {
  uint32_t index = 0;
  for (const char* c = choices; *c; ++index) {
    const char* p = s;
    while (*p && *p == *c) ++p, ++c;
    if (!*p && (!*c || *c == '|')) return *out = index, true;
    while (*c && *c != '|') ++c;
    if (*c) ++c;
  }
  return false;
}

bool parse_path(const char* s, char* out) {
  if (!*s || str_len(s) >= sizeof(ConfigPath) - 64) return false;  // room for "/" and ".<pid>.tmp..."
  str_copy(out, sizeof(ConfigPath), s);
  return true;
}

bool parse(const FlagSpec& f, const char* s) {
  auto* field = reinterpret_cast<char*>(&detail::g_config) + f.offset;
  switch (f.kind) {
    case kUint: return parse_uint(s, f.lo, f.hi, reinterpret_cast<uint32_t*>(field));
    case kBool: return parse_bool(s, reinterpret_cast<bool*>(field));
    case kChoice: return parse_choice(s, f.choices, reinterpret_cast<uint32_t*>(field));
    case kPath: return parse_path(s, field);
  }
  return false;
}

// "(expected an integer in 1..256)", "(expected one of none|fork|all)", ...
void warn_bad(const FlagSpec& f) {
  char expected[128];
  size_t n = fmt_str(expected, sizeof expected, 0, " (expected ");
  switch (f.kind) {
    case kUint:
      n = fmt_str(expected, sizeof expected, n, "an integer in ");
      n = fmt_u64(expected, sizeof expected, n, f.lo);
      n = fmt_str(expected, sizeof expected, n, "..");
      n = fmt_u64(expected, sizeof expected, n, f.hi);
      break;
    case kBool: n = fmt_str(expected, sizeof expected, n, "0/1, yes/no, on/off or true/false"); break;
    case kChoice:
      n = fmt_str(expected, sizeof expected, n, "one of ");
      n = fmt_str(expected, sizeof expected, n, f.choices);
      break;
    case kPath: n = fmt_str(expected, sizeof expected, n, "a non-empty path shorter than PATH_MAX"); break;
  }
  fmt_str(expected, sizeof expected, n, "); using the default ");
  log_line("ignoring bad ", f.name, expected, f.fallback);
}

// LIBLEAK_HELP: "LIBLEAK_DEPTH=32  frames kept per call stack (1..256)", one variable a line.
void print_flags() {
  for (const FlagSpec& f : kFlags) {
    char range[48] = "";
    if (f.kind == kUint) {
      size_t n = fmt_str(range, sizeof range, 0, " (");
      n = fmt_u64(range, sizeof range, n, f.lo);
      n = fmt_str(range, sizeof range, n, "..");
      n = fmt_u64(range, sizeof range, n, f.hi);
      fmt_str(range, sizeof range, n, ")");
    } else if (f.kind == kChoice) {
      size_t n = fmt_str(range, sizeof range, 0, " (");
      n = fmt_str(range, sizeof range, n, f.choices);
      fmt_str(range, sizeof range, n, ")");
    }
    char head[96];
    size_t n = fmt_str(head, sizeof head, 0, f.name);
    n = fmt_str(head, sizeof head, n, "=");
    fmt_str(head, sizeof head, n, f.fallback);
    log_line(head, "  ", f.help, range);
  }
}

// Relative to the directory the program started in, not wherever it has chdir'd at exit.
void make_output_absolute() {
  Config& c = detail::g_config;
  c.output_relative = c.output[0] != '/';
  if (!c.output_relative) return;
  ConfigPath given;
  str_copy(given, sizeof given, c.output);
  if (!getcwd(c.output, sizeof c.output - 64)) return str_copy(c.output, sizeof c.output, given);
  size_t n = fmt_str(c.output, sizeof c.output, str_len(c.output), "/");
  fmt_str(c.output, sizeof c.output, n, given);
}

}  // namespace

void config_load() {
  for (const FlagSpec& f : kFlags) {
    parse(f, f.fallback);
    const char* s = env_get(f.name);
    if (s && !parse(f, s)) {
      warn_bad(f);
      parse(f, f.fallback);
    }
  }
  make_output_absolute();
  if (config().help) print_flags();
}

Config& config_for_tests() { return detail::g_config; }

}  // namespace libleak
