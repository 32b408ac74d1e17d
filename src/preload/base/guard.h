// The reentrancy guard: while libleak runs on a thread, allocations that thread makes (libunwind,
// dlsym, zlib, a signal handler landing in a hook) go straight to the real allocator instead of
// being recorded, so libleak never recurses into itself.
#pragma once

#include "base/compiler.h"

namespace libleak {

struct ThreadState {
  bool in_hook;  // set while libleak runs on this thread
};
extern LIBLEAK_TLS ThreadState t_state;

// Marks the current thread as inside libleak for the lifetime of the guard. `entered()` is false
// when the thread was already inside.
class HookGuard {
 public:
  HookGuard() : entered_(!t_state.in_hook) { t_state.in_hook = true; }
  ~HookGuard() {
    if (entered_) t_state.in_hook = false;
  }
  bool entered() const { return entered_; }
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;

 private:
  bool entered_;
};

}  // namespace libleak
