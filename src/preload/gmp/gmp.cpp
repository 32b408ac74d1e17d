// GMP's memory functions: libleak.so interposes mp_set_memory_functions so that functions a
// program installs are replaced by wrappers that record each block (domain gmp) and then call
// the program's function. Runs inside GMP's allocation path: no heap, no locks, errno preserved.
//
// Design. GMP keeps one global triple of function pointers. A program may set it several times and
// may keep the pointers it got from mp_get_memory_functions, so a wrapper handed out once must go
// on calling the same program function for ever. Each distinct program function therefore gets a
// slot of its own (kSlots per kind, claimed lock-free, never reused), and each slot a wrapper
// instance of its own (a template instantiated per slot). GMP then holds the wrappers, so
// mp_get_memory_functions returns them with no translation and code that builds its own limbs
// through them is tracked too.
//
// Counting once: the wrapper runs the program's function under an entered HookGuard, so a malloc
// or free made inside it passes the malloc hooks unrecorded; the wrapper records the block itself.
// Blocks are keyed by address in the one live table, so a block may be freed through GMP or
// through free(), whichever domain recorded it.
//
// No load-time dependency on libgmp: the real functions are found with dlsym when the program
// first calls one of them, which it can only do once some libgmp is loaded.
#include <dlfcn.h>
#include <errno.h>
#include <link.h>

#include <array>
#include <utility>

#include "base/sys.h"
#include "hooks/track.h"

namespace libleak {
namespace {

using AllocFn = void* (*)(size_t);
using ReallocFn = void* (*)(void*, size_t, size_t);
using FreeFn = void (*)(void*, size_t);
using SetFn = void (*)(AllocFn, ReallocFn, FreeFn);
using GetFn = void (*)(AllocFn*, ReallocFn*, FreeFn*);

// Distinct functions per kind a process may install; more are passed to GMP unwrapped (their
// blocks then stay visible only through malloc, if they use it). Real programs install one.
constexpr int kSlots = 16;

// Acquire/release on the slots: a thread that calls a wrapper (GMP got it from another thread's
// set) must see the program function stored before the wrapper was published.
std::atomic<AllocFn> g_alloc_fns[kSlots];
std::atomic<ReallocFn> g_realloc_fns[kSlots];
std::atomic<FreeFn> g_free_fns[kSlots];

// GMP passes the block's size to realloc and free: the recorder's size hint.
template <int I>
void* gmp_alloc(size_t n) {
  AllocFn fn = g_alloc_fns[I].load(std::memory_order_acquire);
  return tracked_alloc(n, trace::kDomainGmp, LIBLEAK_CALLER_FRAME(), [&] { return fn(n); });
}

template <int I>
void* gmp_realloc(void* p, size_t old_size, size_t new_size) {
  ReallocFn fn = g_realloc_fns[I].load(std::memory_order_acquire);
  return tracked_realloc(p, old_size, new_size, trace::kDomainGmp, LIBLEAK_CALLER_FRAME(),
                         [&] { return fn(p, old_size, new_size); }, [](void* q) { return !q; });
}

template <int I>
void gmp_free(void* p, size_t n) {
  FreeFn fn = g_free_fns[I].load(std::memory_order_acquire);
  tracked_free(p, n, [&] { fn(p, n); });
}

template <int... I>
constexpr auto alloc_wrappers(std::integer_sequence<int, I...>) {
  return std::array<AllocFn, sizeof...(I)>{&gmp_alloc<I>...};
}
template <int... I>
constexpr auto realloc_wrappers(std::integer_sequence<int, I...>) {
  return std::array<ReallocFn, sizeof...(I)>{&gmp_realloc<I>...};
}
template <int... I>
constexpr auto free_wrappers(std::integer_sequence<int, I...>) {
  return std::array<FreeFn, sizeof...(I)>{&gmp_free<I>...};
}
constexpr auto kAllocWrappers = alloc_wrappers(std::make_integer_sequence<int, kSlots>{});
constexpr auto kReallocWrappers = realloc_wrappers(std::make_integer_sequence<int, kSlots>{});
constexpr auto kFreeWrappers = free_wrappers(std::make_integer_sequence<int, kSlots>{});

// ---- the real GMP ------------------------------------------------------------------------------
struct RealGmp {
  SetFn set;
  GetFn get;
  AllocFn default_alloc;  // GMP's own defaults call malloc: already recorded, never wrapped
  ReallocFn default_realloc;
  FreeFn default_free;
};
RealGmp g_real;  // the libgmp in the global scope, once found
std::atomic<bool> g_resolved{false};
std::atomic<bool> g_full_logged{false};

void libleak_gmp_self();  // any function of this file: tells our own exports from libgmp's

bool lookup(void* handle, RealGmp* out) {
  out->set = reinterpret_cast<SetFn>(dlsym(handle, "__gmp_set_memory_functions"));
  out->get = reinterpret_cast<GetFn>(dlsym(handle, "__gmp_get_memory_functions"));
  out->default_alloc = reinterpret_cast<AllocFn>(dlsym(handle, "__gmp_default_allocate"));
  out->default_realloc = reinterpret_cast<ReallocFn>(dlsym(handle, "__gmp_default_reallocate"));
  out->default_free = reinterpret_cast<FreeFn>(dlsym(handle, "__gmp_default_free"));
  // A handle whose scope is the global one (the main program's) finds libleak.so's exports first:
  // forwarding to them would recurse.
  Dl_info self, found;
  if (out->set && dladdr(reinterpret_cast<void*>(out->set), &found) &&
      dladdr(reinterpret_cast<void*>(&libleak_gmp_self), &self) && found.dli_fbase == self.dli_fbase)
    return false;
  return out->set && out->get;
}

// The libgmp the caller would have bound to without libleak: the first in the global scope after
// libleak.so, cached for good once found. When there is none (GMP came in with a library dlopen'd
// RTLD_LOCAL, e.g. a Python extension), the libgmp among the caller's module's own dependencies (a
// handle's dlsym searches those, where libleak.so is not). That answer is not cached: two such
// modules may each bring a private copy of GMP.
LIBLEAK_NOINLINE bool resolve(const void* caller, RealGmp* out) {
  if (g_resolved.load(std::memory_order_acquire)) {
    *out = g_real;
    return true;
  }
  if (lookup(RTLD_NEXT, out)) {
    g_real = *out;  // racing threads store the same pointers
    // Release: a thread that sees g_resolved sees g_real.
    g_resolved.store(true, std::memory_order_release);
    return true;
  }
  Dl_info info;
  if (!caller || !dladdr(caller, &info) || !info.dli_fname) return false;
  void* h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!h) return false;
  bool ok = lookup(h, out);
  dlclose(h);
  return ok;
}

void libleak_gmp_self() {}

template <class Fn>
int claim_slot(std::atomic<Fn>* slots, Fn fn) {
  for (int i = 0; i < kSlots; ++i) {
    Fn cur = slots[i].load(std::memory_order_acquire);
    if (cur == fn) return i;
    // Release: the wrapper for slot i is handed to GMP after this store.
    if (!cur && slots[i].compare_exchange_strong(cur, fn, std::memory_order_acq_rel)) return i;
    if (cur == fn) return i;  // another thread claimed it for the same function
  }
  if (!g_full_logged.exchange(true, std::memory_order_relaxed))
    log_line("too many distinct GMP memory functions; later ones are not tracked");
  return -1;
}

// What GMP should hold instead of `fn`: NULL stays NULL (GMP's default), GMP's defaults and our
// own wrappers (a program restoring what mp_get_memory_functions gave it) are kept as they are.
template <class Fn, size_t N>
Fn wrap(Fn fn, Fn gmp_default, std::atomic<Fn>* slots, const std::array<Fn, N>& wrappers) {
  if (!fn || fn == gmp_default) return fn;
  for (Fn w : wrappers)
    if (w == fn) return fn;
  int slot = claim_slot(slots, fn);
  return slot < 0 ? fn : wrappers[size_t(slot)];
}

}  // namespace
}  // namespace libleak

using namespace libleak;

LIBLEAK_EXPORT void __gmp_set_memory_functions(AllocFn a, ReallocFn r, FreeFn f) {
  int saved = errno;
  RealGmp gmp;
  if (!resolve(__builtin_return_address(0), &gmp)) {
    log_line("mp_set_memory_functions: libgmp not found; GMP memory is not followed");
    errno = saved;
    return;
  }
  gmp.set(wrap(a, gmp.default_alloc, g_alloc_fns, kAllocWrappers),
          wrap(r, gmp.default_realloc, g_realloc_fns, kReallocWrappers),
          wrap(f, gmp.default_free, g_free_fns, kFreeWrappers));
  errno = saved;
}

// GMP holds the wrappers of whatever the program set, so its own answer is already the tracked
// one; before any set it answers GMP's malloc-based defaults, which the malloc hooks record.
LIBLEAK_EXPORT void __gmp_get_memory_functions(AllocFn* a, ReallocFn* r, FreeFn* f) {
  int saved = errno;
  RealGmp gmp;
  if (resolve(__builtin_return_address(0), &gmp)) gmp.get(a, r, f);
  errno = saved;
}
