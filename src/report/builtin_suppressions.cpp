// The built-in suppression list. Deliberately empty at first: every entry must be justified by an
// end-to-end test showing the runtime allocation it hides (name the test in a comment next to it).
#include "report/builtin_suppressions.h"

namespace libleak {

std::vector<Suppression> builtin_suppressions() {
  static const char* const kPatterns[] = {
      // "pattern",  // tests/e2e/<scenario>: why this is not a leak
      // ld.so's per-thread DTV (dynamic thread vector), calloc'd by allocate_dtv under
      // _dl_allocate_tls when pthread_create sets up a thread's stack. After the thread exits,
      // glibc keeps the stack in its stack cache for reuse, with the DTV pointer inside the
      // cached stack's thread descriptor, memory the exit scan does not read (an mmap'd stack of
      // a dead thread, not a root and not a block), so the DTV looks unreachable. It is freed by
      // glibc when the cached stack is, so it is never the program's leak.
      // tests/e2e/test_same_output.py: test_thread_dtv_is_builtin_suppressed.
      "^_dl_allocate_tls$",
      // libleak's own bookkeeping in the traced process: the environment entries it sets at
      // start-up (LIBLEAK_ROOT_PID, PYTHONMALLOC), made through libc's setenv so that libc's own
      // structures stay traversable by the scan. Any stack with a frame in libleak.so is
      // libleak's: its frames are removed from the top of every program stack.
      // tests/e2e/test_same_output.py: test_libleak_own_allocations_are_builtin_suppressed.
      "libleak.so$",
      nullptr,
  };
  std::vector<Suppression> out;
  for (const char* p : kPatterns) {
    if (p) out.push_back({p, SuppressionSource::kBuiltin});
  }
  return out;
}

}  // namespace libleak
