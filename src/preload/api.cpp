// The public C API (include/libleak/libleak.h) and the process-exit paths that skip destructors:
// _exit/_Exit and fatal signals still leave a trace.
#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libleak/libleak.h"
#include "libleak/trace_format.h"
#include "marks.h"
#include "recorder.h"
#include "trace_writer.h"

namespace libleak {
bool libleak_active();
void write_final(uint32_t exit_kind, int32_t code, bool scan);
}  // namespace libleak

using namespace libleak;

LIBLEAK_EXPORT int libleak_snapshot(void) {
  if (!libleak_active()) return -1;
  HookGuard guard;
  return trace_write({trace::kExitRunning, 0, true}) ? 0 : -1;
}

LIBLEAK_EXPORT int libleak_mark(const char* label) {
  if (!libleak_active()) return -1;
  return marks_add(label);
}

namespace {
using ExitFn = void (*)(int);
ExitFn real_exit_fn(const char* name) { return reinterpret_cast<ExitFn>(dlsym(RTLD_NEXT, name)); }
}  // namespace

// A process that ends with _exit (forked workers, multiprocessing) runs no destructors: write here.
LIBLEAK_EXPORT void _exit(int status) {
  write_final(trace::kExitFast, status, true);
  ExitFn real = real_exit_fn("_exit");
  if (real) real(status);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

LIBLEAK_EXPORT void _Exit(int status) { _exit(status); }
