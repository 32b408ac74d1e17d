// The exported allocation functions (hook_list.h): the only symbols libleak.so interposes on the
// malloc path. Thin by design: resolve the real function, call it, hand the result to the
// recorder (track.h). Rules inside: no allocation through the program's heap, no locks, errno as
// the real call left it; before the real allocator is known, requests come from a static arena.
#include "hooks/hooks.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/hook_list.h"
#include "hooks/track.h"
#include "stacks/caller_frame.h"

namespace libleak {
namespace {

#define LIBLEAK_DECLARE_REAL(name, ...) decltype(&::name) name;
struct RealFunctions {
  LIBLEAK_HOOKS(LIBLEAK_DECLARE_REAL, LIBLEAK_DECLARE_REAL)
};
#undef LIBLEAK_DECLARE_REAL
RealFunctions real;
bool g_glibc = false;  // the real malloc is glibc's own: its chunk headers can be read (size_hint)
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
    if (size > kBootBytes || start > kBootBytes - size) return nullptr;
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

LIBLEAK_NOINLINE void resolve_real() {
  int expected = 0;
  if (g_resolve_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    HookGuard guard;  // dlsym's own allocations must take the boot path, not recurse
    RealFunctions r{};
#define LIBLEAK_RESOLVE(name, ...) r.name = reinterpret_cast<decltype(r.name)>(dlsym(RTLD_NEXT, #name));
    LIBLEAK_HOOKS(LIBLEAK_RESOLVE, LIBLEAK_RESOLVE)
#undef LIBLEAK_RESOLVE
    void* libc_malloc = dlsym(RTLD_NEXT, "__libc_malloc");  // malloc is its alias in glibc
    g_glibc = r.malloc && reinterpret_cast<void*>(r.malloc) == libc_malloc;
    real = r;
    recorder_set_allocator(RealAllocator{r.malloc_usable_size, g_glibc});
    // Release: threads that see state 2 see every resolved pointer.
    g_resolve_state.store(2, std::memory_order_release);
    return;
  }
  while (g_resolve_state.load(std::memory_order_acquire) != 2) {
    if (t_state.in_hook) return;  // this thread is the resolver, inside dlsym: caller uses the boot arena
  }
}

inline bool ready() { return LIBLEAK_LIKELY(g_resolve_state.load(std::memory_order_acquire) == 2); }

// A lower bound on the size of the block at p, for LiveBlocks::remove, or 0. glibc keeps a chunk's
// size in the word before the block; its free and realloc read that word first thing, so reading
// it here adds no cache miss and no fault the real call would not take. A chunk can exceed the
// request by its header and 16-byte rounding, plus a remainder too small to split off (< 32 bytes,
// in realloc and memalign): at most 55 bytes. An mmapped chunk can be far larger than a small
// block aligned inside it: no hint.
inline size_t size_hint(const void* p) {
  constexpr size_t kMmapped = 2, kFlags = 7, kSlack = 55;
  if (!g_glibc) return 0;
  size_t header;
  memcpy(&header, static_cast<const char*>(p) - sizeof header, sizeof header);
  size_t chunk = header & ~kFlags;
  return (header & kMmapped) || chunk <= kSlack ? 0 : chunk - kSlack;
}

// calloc's size; on overflow more than any arena holds, so both the boot arena and the real
// calloc (ENOMEM) fail.
inline size_t calloc_bytes(size_t count, size_t size) {
  size_t total;
  return __builtin_mul_overflow(count, size, &total) ? SIZE_MAX : total;
}

inline size_t page_bytes() { return size_t(sysconf(_SC_PAGESIZE)); }

// pvalloc hands out whole pages: the program owns (and may store pointers in) all of them.
inline size_t pvalloc_bytes(size_t size) {
  size_t page = page_bytes();
  return size ? (size + page - 1) & ~(page - 1) : page;
}

// A dlsym-time block moving to the real heap: copied, never freed (the arena is static).
void* realloc_boot(void* p, size_t size, const CallerFrame& from) {
  void* q = tracked_alloc(size, trace::kDomainMalloc, from, [&] { return real.malloc(size); });
  if (q) memcpy(q, p, boot_size(p) < size ? boot_size(p) : size);
  return q;
}

}  // namespace
}  // namespace libleak

using namespace libleak;

#define LIBLEAK_DEFINE_ALLOCATOR(name, params, args, bytes, align)                              \
  LIBLEAK_EXPORT void* name params {                                                           \
    if (!ready()) {                                                                            \
      resolve_real();                                                                          \
      if (!ready()) return boot_alloc(bytes, align);                                           \
    }                                                                                          \
    return tracked_alloc(bytes, trace::kDomainMalloc, LIBLEAK_CALLER_FRAME(), [&] { return real.name args; }); \
  }
#define LIBLEAK_HANDWRITTEN(name)
LIBLEAK_HOOKS(LIBLEAK_DEFINE_ALLOCATOR, LIBLEAK_HANDWRITTEN)
#undef LIBLEAK_DEFINE_ALLOCATOR
#undef LIBLEAK_HANDWRITTEN

LIBLEAK_EXPORT void free(void* p) {
  if (!p || is_boot(p)) return;
  if (!ready()) resolve_real();
  tracked_free(p, size_hint(p), [&] { real.free(p); });
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
  CallerFrame from = LIBLEAK_CALLER_FRAME();
  if (is_boot(p)) return realloc_boot(p, size, from);
  if (!p) return tracked_alloc(size, trace::kDomainMalloc, from, [&] { return real.realloc(p, size); });
  return tracked_realloc(p, size_hint(p), size, trace::kDomainMalloc, from, [&] { return real.realloc(p, size); },
                         [&](void* q) { return !q && size != 0; });
}

LIBLEAK_EXPORT void* reallocarray(void* p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (!ready() || !p || is_boot(p)) return realloc(p, total);
  return tracked_realloc(p, size_hint(p), total, trace::kDomainMalloc, LIBLEAK_CALLER_FRAME(),
                         [&] { return real.reallocarray(p, count, size); },
                         [&](void* q) { return !q && total != 0; });
}

LIBLEAK_EXPORT int posix_memalign(void** out, size_t align, size_t size) {
  if (!ready()) resolve_real();
  int rc = EINVAL;
  tracked_alloc(size, trace::kDomainMalloc, LIBLEAK_CALLER_FRAME(), [&]() -> void* {
    rc = real.posix_memalign(out, align, size);
    return rc == 0 ? *out : nullptr;
  });
  return rc;
}

LIBLEAK_EXPORT size_t malloc_usable_size(void* p) {
  if (!p) return 0;
  if (is_boot(p)) return boot_size(p);
  if (!ready()) resolve_real();
  return real.malloc_usable_size(p);
}

namespace libleak {
void hooks_init() { resolve_real(); }
}  // namespace libleak
