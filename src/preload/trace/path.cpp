// Trace file names; see path.h. Allocation-free: runs wherever the writer runs.
#include "trace/path.h"

#include <unistd.h>

#include "base/config.h"
#include "base/sys.h"

namespace libleak {

namespace {
bool g_root = true;
}

void trace_path_set_root(bool root) { g_root = root; }

void trace_output_path(char* out, uint64_t cap) {
  uint64_t pid = uint64_t(getpid());
  size_t n = 0;
  bool has_pid = false;
  for (const char* s = config().output; *s && n + 24 < cap; ++s) {
    if (s[0] == '%' && s[1] == 'p') {
      n = fmt_u64(out, cap, n, pid);
      has_pid = true;
      ++s;
    } else {
      out[n++] = *s;
    }
  }
  out[n] = 0;
  if (!has_pid && !g_root) {
    n = fmt_str(out, cap, n, ".");
    fmt_u64(out, cap, n, pid);
  }
}

void trace_temporary_path(const char* final_path, char* out, uint64_t cap) {
  size_t n = fmt_str(out, cap, 0, final_path);
  n = fmt_str(out, cap, n, ".tmp.");
  fmt_u64(out, cap, n, uint64_t(getpid()));
}

}  // namespace libleak
