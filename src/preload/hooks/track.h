// The protocol every allocation hook follows, written once for the malloc family (hooks.cpp) and
// GMP's memory functions (gmp/gmp.cpp): enter the guard, make the real call, record with errno as
// the real call left it, scrub the registers that held copies of the pointer.
// Runs inside malloc: no allocation through the program's heap, no locks.
#pragma once

#include <errno.h>
#include <stddef.h>

#include "base/guard.h"
#include "recorder/recorder.h"

namespace libleak {

// Recording leaves copies of the new pointer in scratch registers, and a thread that blocks right
// after malloc returns (in pause(), say) keeps them there: the exit scan would then see a pointer
// the program does not hold. Clear the caller-saved registers other than the return value.
inline void scrub_scratch_registers() {
#if defined(__x86_64__)
  asm volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\txor %%esi, %%esi\n\txor %%edi, %%edi\n\t"
               "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
               ::: "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
#endif
}

// An allocation of `size` bytes made by `call`. Inside libleak (a nested allocation) the block is
// only counted as reentrant: libleak's own memory is not the program's.
template <class Call>
inline void* tracked_alloc(size_t size, uint32_t domain, const CallerFrame& from, Call call) {
  HookGuard guard;
  void* p = call();
  if (!guard.entered()) {
    if (p) record_reentrant();
    return p;
  }
  if (p) {
    int saved = errno;
    record_alloc(p, size, domain, &from);
    errno = saved;
    scrub_scratch_registers();
  }
  return p;
}

// A free made by `call`. The block leaves the table first: once the real free returns, another
// thread may be handed the same address. The call runs inside the guard, so a program's GMP free
// function that calls free() itself does not count the block twice.
template <class Call>
inline void tracked_free(void* p, size_t size_hint, Call call) {
  HookGuard guard;
  if (guard.entered() && p) {
    int saved = errno;
    record_free(p, size_hint);
    errno = saved;
  }
  call();
}

// A reallocation of p to `size` bytes made by `call`; `failed(q)` tells a failed call (p still
// the program's) from a success, which for realloc(p, 0) may return NULL.
template <class Call, class Failed>
inline void* tracked_realloc(void* p, size_t size_hint, size_t size, uint32_t domain, const CallerFrame& from,
                             Call call, Failed failed) {
  HookGuard guard;
  if (!guard.entered()) return call();
  int saved = errno;
  ReallocTicket ticket = record_realloc_begin(p, size_hint);
  errno = saved;
  void* q = call();
  saved = errno;
  record_realloc_end(ticket, p, q, failed(q), size, domain, &from);
  errno = saved;
  scrub_scratch_registers();
  return q;
}

}  // namespace libleak
