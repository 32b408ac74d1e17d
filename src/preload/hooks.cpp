// The exported allocation functions: the only symbols libleak.so interposes on the malloc path.
// Thin by design: resolve the real function, call it, hand the result to the recorder.
// Rules inside: no allocation through the program's heap, no locks, errno as the real call left it.
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder.h"

namespace libleak {
namespace {

struct RealAllocator {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*memalign)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  size_t (*malloc_usable_size)(void*);
  bool glibc;  // the real malloc is glibc's own: its chunk headers can be read (size_hint)
};
RealAllocator real;
std::atomic<int> g_resolve_state{0};  // 0 not started, 1 resolving, 2 done

// dlsym allocates (calloc) before the real allocator is known: those few requests are served
// from this static arena. Its blocks are never freed and never tracked.
constexpr size_t kBootBytes = 256 * 1024;
alignas(64) char g_boot[kBootBytes];
std::atomic<size_t> g_boot_used{0};

bool is_boot(const void* p) {
  auto a = static_cast<const char*>(p);
  return a >= g_boot && a < g_boot + kBootBytes;
}

void* boot_alloc(size_t size, size_t align) {
  if (align < 16) align = 16;
  size_t used = g_boot_used.load(std::memory_order_relaxed);
  for (;;) {
    size_t start = (used + sizeof(size_t) + align - 1) & ~(align - 1);
    if (start + size > kBootBytes) return nullptr;
    if (g_boot_used.compare_exchange_weak(used, start + size, std::memory_order_relaxed)) {
      memcpy(g_boot + start - sizeof(size_t), &size, sizeof(size_t));  // size header for realloc
      return g_boot + start;
    }
  }
}

size_t boot_size(const void* p) {
  size_t s;
  memcpy(&s, static_cast<const char*>(p) - sizeof(size_t), sizeof s);
  return s;
}

template <class Fn>
void resolve_one(Fn* slot, const char* name) {
  *slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

LIBLEAK_NOINLINE void resolve_real() {
  int expected = 0;
  if (g_resolve_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    HookGuard guard;  // dlsym's own allocations must take the boot path, not recurse
    RealAllocator r{};
    resolve_one(&r.malloc, "malloc");
    resolve_one(&r.free, "free");
    resolve_one(&r.calloc, "calloc");
    resolve_one(&r.realloc, "realloc");
    resolve_one(&r.posix_memalign, "posix_memalign");
    resolve_one(&r.aligned_alloc, "aligned_alloc");
    resolve_one(&r.memalign, "memalign");
    resolve_one(&r.valloc, "valloc");
    resolve_one(&r.pvalloc, "pvalloc");
    resolve_one(&r.malloc_usable_size, "malloc_usable_size");
    void* libc_malloc = dlsym(RTLD_NEXT, "__libc_malloc");  // malloc is its alias in glibc
    r.glibc = r.malloc && reinterpret_cast<void*>(r.malloc) == libc_malloc;
    real = r;
    // Release: threads that see state 2 see every resolved pointer.
    g_resolve_state.store(2, std::memory_order_release);
    return;
  }
  while (g_resolve_state.load(std::memory_order_acquire) != 2) {
    if (t_state.in_hook) return;  // this thread is the resolver, inside dlsym: caller uses the boot arena
  }
}

// A lower bound on the size of the block at p, for LiveBlocks::remove, or 0. glibc keeps a chunk's
// size in the word before the block; its free and realloc read that word first thing, so reading
// it here adds no cache miss and no fault the real call would not take. A chunk can exceed the
// request by its header and 16-byte rounding, plus a remainder too small to split off (< 32 bytes,
// in realloc and memalign): at most 55 bytes. An mmapped chunk can be far larger than a small
// block aligned inside it: no hint.
inline size_t size_hint(const void* p) {
  constexpr size_t kMmapped = 2, kFlags = 7, kSlack = 55;
  if (!real.glibc) return 0;
  size_t header;
  memcpy(&header, static_cast<const char*>(p) - sizeof header, sizeof header);
  size_t chunk = header & ~kFlags;
  return (header & kMmapped) || chunk <= kSlack ? 0 : chunk - kSlack;
}

inline bool ready() { return LIBLEAK_LIKELY(g_resolve_state.load(std::memory_order_acquire) == 2); }

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

// Allocation-path helper: real call, then recording with errno as the real call left it.
template <class Call>
inline void* tracked(size_t size, const CallerFrame& from, Call call) {
  HookGuard guard;
  void* p = call();
  if (!guard.entered()) {
    if (p) g_counters.reentrant.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  if (p) {
    int saved = errno;
    record_alloc(p, size, kDomainMalloc, &from);
    errno = saved;
    scrub_scratch_registers();
  }
  return p;
}

void* realloc_tracked(void* p, size_t size, const CallerFrame& from) {
  if (is_boot(p)) {  // a dlsym-time block moving to the real heap
    void* q = real.malloc(size);
    if (q) {
      size_t old = boot_size(p);
      memcpy(q, p, old < size ? old : size);
      HookGuard guard;
      if (guard.entered()) record_alloc(q, size, kDomainMalloc, &from);
    }
    return q;
  }
  HookGuard guard;
  if (!guard.entered() || !p) {
    void* q = real.realloc(p, size);
    if (guard.entered() && q) {
      int saved = errno;
      record_alloc(q, size, kDomainMalloc, &from);
      errno = saved;
      scrub_scratch_registers();
    }
    return q;
  }
  int saved = errno;
  LiveBlock old;
  bool known = record_detach(p, &old, size_hint(p));  // before the real call: p may be reused at once
  errno = saved;
  void* q = real.realloc(p, size);
  saved = errno;
  if (!q && size != 0) {
    if (known) record_reattach(p, old);  // failed: p is still the program's
  } else {
    if (known) record_settle(old);
    if (q) record_alloc(q, size, kDomainMalloc, &from);  // realloc(p, 0) returned NULL: only a free
  }
  errno = saved;
  scrub_scratch_registers();
  return q;
}

}  // namespace
}  // namespace libleak

using namespace libleak;

LIBLEAK_EXPORT void* malloc(size_t size) {
  if (!ready()) {
    resolve_real();
    if (!ready()) return boot_alloc(size, 16);
  }
  return tracked(size, LIBLEAK_CALLER_FRAME(), [&] { return real.malloc(size); });
}

LIBLEAK_EXPORT void free(void* p) {
  if (!p || is_boot(p)) return;
  if (!ready()) resolve_real();
  {
    HookGuard guard;
    if (guard.entered()) {
      int saved = errno;
      record_free(p, size_hint(p));
      errno = saved;
    }
  }
  real.free(p);
}

LIBLEAK_EXPORT void* calloc(size_t count, size_t size) {
  size_t total;
  if (!ready()) {
    resolve_real();
    if (!ready()) {
      if (__builtin_mul_overflow(count, size, &total)) return nullptr;
      return boot_alloc(total, 16);  // static memory is already zero
    }
  }
  if (__builtin_mul_overflow(count, size, &total)) total = 0;  // the real calloc fails with ENOMEM
  return tracked(total, LIBLEAK_CALLER_FRAME(), [&] { return real.calloc(count, size); });
}

LIBLEAK_EXPORT void* realloc(void* p, size_t size) {
  if (!ready()) {
    resolve_real();
    if (!ready()) {
      void* q = boot_alloc(size, 16);
      if (q && p) memcpy(q, p, boot_size(p) < size ? boot_size(p) : size);
      return q;
    }
  }
  return realloc_tracked(p, size, LIBLEAK_CALLER_FRAME());
}

LIBLEAK_EXPORT void* reallocarray(void* p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

LIBLEAK_EXPORT int posix_memalign(void** out, size_t align, size_t size) {
  if (!ready()) resolve_real();
  HookGuard guard;
  int rc = real.posix_memalign(out, align, size);
  if (rc == 0 && guard.entered()) {
    int saved = errno;
    CallerFrame from = LIBLEAK_CALLER_FRAME();
    record_alloc(*out, size, kDomainMalloc, &from);
    errno = saved;
    scrub_scratch_registers();
  }
  return rc;
}

LIBLEAK_EXPORT void* aligned_alloc(size_t align, size_t size) {
  if (!ready()) {
    resolve_real();
    if (!ready()) return boot_alloc(size, align);
  }
  return tracked(size, LIBLEAK_CALLER_FRAME(), [&] { return real.aligned_alloc(align, size); });
}

LIBLEAK_EXPORT void* memalign(size_t align, size_t size) {
  if (!ready()) {
    resolve_real();
    if (!ready()) return boot_alloc(size, align);
  }
  return tracked(size, LIBLEAK_CALLER_FRAME(), [&] { return real.memalign(align, size); });
}

LIBLEAK_EXPORT void* valloc(size_t size) {
  if (!ready()) resolve_real();
  return tracked(size, LIBLEAK_CALLER_FRAME(), [&] { return real.valloc(size); });
}

LIBLEAK_EXPORT void* pvalloc(size_t size) {
  if (!ready()) resolve_real();
  // pvalloc hands out whole pages: the program owns (and may store pointers in) all of them.
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  size_t rounded = size ? (size + page - 1) & ~(page - 1) : page;
  return tracked(rounded, LIBLEAK_CALLER_FRAME(), [&] { return real.pvalloc(size); });
}

LIBLEAK_EXPORT size_t malloc_usable_size(void* p) {
  if (!p) return 0;
  if (is_boot(p)) return boot_size(p);
  if (!ready()) resolve_real();
  return real.malloc_usable_size(p);
}

namespace libleak {
void hooks_init() { resolve_real(); }
size_t real_usable_size(void* p) { return real.malloc_usable_size ? real.malloc_usable_size(p) : 0; }
}  // namespace libleak
