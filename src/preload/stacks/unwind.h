// Call stacks for allocations: the cached .eh_frame rules of cfi_unwind.h, or libunwind's
// unw_backtrace with its per-thread cache for stacks those rules cannot walk; libleak's own frames
// removed. Inline, so the recorder does not add a frame of its own to every walk.
// Runs inside malloc: libunwind may allocate on its slow paths, which the hooks' reentrancy
// guard passes straight to the real allocator.
#pragma once

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "stacks/cfi_unwind.h"
#include "stacks/modules.h"

namespace libleak {

void unwind_init();  // sets libunwind's caching policy and maps the fast walk's rule cache

// Fills up to `max` return addresses of the caller of the allocation function, innermost first.
// With a stop range, ends after the first return address inside [stop_lo, stop_hi). `from`, the
// hook's caller, lets the fast walk start there; otherwise (or when it is libleak's own, as when
// reallocarray calls realloc) the walk starts here and drops libleak's frames.
__attribute__((always_inline)) inline int unwind_stack(uintptr_t* out, int max, const CallerFrame* from,
                                                       uintptr_t stop_lo = 0, uintptr_t stop_hi = 0) {
  if (from && !in_own_module(from->ip)) {
    int n = cfi_backtrace_from(*from, out, max, stop_lo, stop_hi);
    if (n >= 0) return n;
  }
  // Room for libleak's own frames (the hook, the recorder) on top of the requested depth.
  constexpr int kOwnFrames = 4;
  uintptr_t raw[256 + kOwnFrames];
  int want = max + kOwnFrames;
  if (want > int(sizeof raw / sizeof raw[0])) want = int(sizeof raw / sizeof raw[0]);
  int n = cfi_backtrace(raw, want, stop_lo, stop_hi);
  if (n < 0) n = unw_backtrace(reinterpret_cast<void**>(raw), want);
  int first = 0;
  while (first < n && in_own_module(raw[first])) ++first;
  int count = n - first;
  if (count > max) count = max;
  for (int i = 0; i < count; ++i) {
    out[i] = raw[first + i];
    if (out[i] - 1 - stop_lo < stop_hi - stop_lo) return i + 1;  // libunwind walked past it
  }
  return count;
}

}  // namespace libleak
