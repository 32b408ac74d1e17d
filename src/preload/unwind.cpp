// Call stacks for allocations: libunwind's unw_backtrace with its per-thread cache, libleak's own
// frames removed. Runs inside malloc: libunwind may allocate on its slow paths, which the
// hooks' reentrancy guard passes straight to the real allocator.
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "internal.h"

namespace libleak {

void unwind_init() {
  // Per-thread caching makes repeated unwinds through the same code a table lookup per frame
  // and avoids libunwind's global cache lock.
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

int unwind_stack(uintptr_t* out, int max) {
  // Room for libleak's own frames (hook, recorder, this function) on top of the requested depth.
  constexpr int kOwnFrames = 8;
  void* raw[256 + kOwnFrames];
  int want = max + kOwnFrames;
  if (want > int(sizeof raw / sizeof raw[0])) want = int(sizeof raw / sizeof raw[0]);
  int n = unw_backtrace(raw, want);
  int first = 0;
  while (first < n && in_own_module(reinterpret_cast<uintptr_t>(raw[first]))) ++first;
  int count = n - first;
  if (count > max) count = max;
  for (int i = 0; i < count; ++i) out[i] = reinterpret_cast<uintptr_t>(raw[first + i]);
  return count;
}

}  // namespace libleak
