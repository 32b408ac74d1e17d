// The public C API (include/libleak/libleak.h) and the process-exit paths that skip destructors:
// _exit/_Exit and fatal signals still leave a trace.
#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/guard.h"
#include "libleak/libleak.h"
#include "libleak/trace_format.h"
#include "recorder/marks.h"
#include "runtime/lifecycle.h"
#include "stacks/cfi_unwind.h"
#include "stacks/modules.h"
#include "trace/writer.h"

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

// dlclose: the module registry records the library before it goes and its unload after, so frames
// of a library that is later unloaded (or replaced at the same address) keep their symbols.
// dlopen is deliberately not interposed: glibc resolves $ORIGIN and RUNPATH from the caller's
// address, which would become libleak's. New libraries are picked up by the background thread's
// refresh, by every trace write and by the refresh before each dlclose; the reader attributes a
// frame stamped before its library was registered to the next library loaded at that address.
LIBLEAK_EXPORT int dlclose(void* handle) {
  using Fn = int (*)(void*);
  static std::atomic<Fn> real{nullptr};
  Fn fn = real.load(std::memory_order_relaxed);
  if (!fn) {
    fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "dlclose"));
    real.store(fn, std::memory_order_relaxed);
  }
  modules_refresh();
  int rc = fn(handle);
  modules_refresh();
  cfi_unwind_forget();  // the unloaded code's unwind rules must not apply to whatever comes next
  return rc;
}
