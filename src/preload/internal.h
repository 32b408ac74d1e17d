// Private interfaces of libleak.so: shared by the hooks, the recorder, the writer and the scan.
// Everything declared here may run inside malloc: no allocation through the program's heap, no
// locks on the malloc/free path, no exceptions, errno preserved by the callers in hooks.cpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "cfi_unwind.h"
#include "libleak/trace_format.h"

#define LIBLEAK_EXPORT extern "C" __attribute__((visibility("default")))
#define LIBLEAK_NOINLINE __attribute__((noinline))
#define LIBLEAK_LIKELY(x) __builtin_expect(!!(x), 1)
#define LIBLEAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LIBLEAK_TLS __thread __attribute__((tls_model("initial-exec")))

namespace libleak {

// ---- sys.cpp: allocation-free system helpers -------------------------------------------------
void* sys_map(size_t bytes);  // zeroed anonymous memory, nullptr on failure
void sys_unmap(void* p, size_t bytes);
uint64_t now_monotonic_ns();
uint64_t now_realtime_ns();
uint64_t now_coarse_ms();  // CLOCK_MONOTONIC_COARSE: cheap enough for every allocation
size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);
bool str_starts_with(const char* s, const char* prefix);
void str_copy(char* dst, size_t cap, const char* src);  // always NUL-terminates
const char* path_basename(const char* path);  // after the last '/'
// Appends decimal/hex to a buffer; returns the new length. Used for messages and file names.
size_t fmt_u64(char* buf, size_t cap, size_t len, uint64_t v);
size_t fmt_str(char* buf, size_t cap, size_t len, const char* s);
// One line on stderr, "libleak: " prefixed; built in a stack buffer, written with write(2).
void log_line(const char* a, const char* b = nullptr, const char* c = nullptr, const char* d = nullptr);
// getenv without locale or allocation: scans environ directly.
const char* env_get(const char* name);

// Raises an atomic maximum to `v` if it is higher; `order` applies to the successful store.
template <class T>
inline void atomic_raise(std::atomic<T>& max, T v, std::memory_order order = std::memory_order_relaxed) {
  T cur = max.load(std::memory_order_relaxed);
  while (v > cur && !max.compare_exchange_weak(cur, v, order, std::memory_order_relaxed)) {
  }
}

// ---- config.cpp ------------------------------------------------------------------------------
struct Config {
  char output[512];         // LIBLEAK_OUTPUT template, "%p" expands to the pid
  uint32_t depth;           // LIBLEAK_DEPTH: frames kept per stack
  uint32_t epoch_ms;        // LIBLEAK_EPOCH_MS: length of a birth epoch
  uint32_t interval_ms;     // LIBLEAK_INTERVAL_MS: periodic trace writes, 0 = only at exit
  uint32_t callsites_log2;  // LIBLEAK_CALLSITES: capacity of the callsite table (log2)
  bool scan;                // LIBLEAK_SCAN: reachability scan at exit
  bool python_malloc;       // LIBLEAK_PYTHON_MALLOC: force PYTHONMALLOC=malloc for Python
  int snapshot_signal;      // LIBLEAK_SNAPSHOT_SIGNAL: 0 = off
  uint32_t follow;          // LIBLEAK_FOLLOW: 0 none, 1 fork, 2 all
  bool crash_handlers;      // LIBLEAK_CRASH_HANDLERS: write the trace on fatal signals
  bool python_frames;       // LIBLEAK_PYTHON_FRAMES: Python file:line frames in stacks
  bool compress;            // LIBLEAK_COMPRESS: zlib for the large trace sections
  bool cfi_unwind;          // LIBLEAK_UNWIND: fast (cached .eh_frame rules, libunwind fallback) or libunwind
};
enum Follow : uint32_t { kFollowNone = 0, kFollowFork = 1, kFollowAll = 2 };
extern Config g_config;
void config_load();

// ---- per-thread state --------------------------------------------------------------------------
struct ThreadState {
  bool in_hook;  // set while libleak runs on this thread: nested allocations go straight through
};
extern LIBLEAK_TLS ThreadState t_state;

// Marks the current thread as inside libleak for the lifetime of the guard. `entered()` is false
// when the thread was already inside (recursion through dlsym, libunwind or a signal handler).
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

// ---- recorder.cpp: what the hooks call ---------------------------------------------------------
using trace::kDomainMalloc;  // allocator domains: include/libleak/trace_format.h
using trace::kDomainGmp;
// A hook's caller as a CallerFrame (cfi_unwind.h), taken in the hook itself. libleak.so is built
// with frame pointers: rbp+8 holds the return address, rbp+16 is the CFA, [rbp] the caller's rbp.
#define LIBLEAK_CALLER_FRAME()                                                        \
  ::libleak::CallerFrame {                                                            \
    reinterpret_cast<uintptr_t>(__builtin_return_address(0)),                         \
        reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16,                 \
        *static_cast<const uintptr_t*>(__builtin_frame_address(0))                    \
  }
// Both must be called inside an entered HookGuard. `from`, when given, is the frame that called
// the hook: the stack walk starts there instead of walking libleak's own frames first.
void record_alloc(void* p, size_t size, uint32_t domain, const CallerFrame* from = nullptr);
// Returns true when p was a tracked block (and removes it). Safe for pointers never seen.
// size_hint: a lower bound on the block's size if the caller knows one, else 0 (LiveBlocks::remove).
bool record_free(void* p, size_t size_hint = 0);
bool recorder_ready();
void recorder_init();  // idempotent, single-threaded (constructor)

// Process-wide counters. Allocation and free totals are sums over the callsites, taken when the
// trace is written; only live bytes (for the exact process-wide peak) is updated on every call.
struct Counters {
  std::atomic<uint64_t> unknown_frees;
  std::atomic<uint64_t> dropped_callsites;
  std::atomic<uint64_t> dropped_blocks;
  std::atomic<uint64_t> reentrant;
  std::atomic<uint64_t> write_failures;
  std::atomic<uint64_t> inherited_frees;
  std::atomic<uint64_t> scan_roots_bytes;
  alignas(64) std::atomic<int64_t> live_bytes;
  std::atomic<int64_t> peak_live_bytes;
};
extern Counters g_counters;

// ---- unwind.cpp --------------------------------------------------------------------------------
void unwind_init();  // the walk itself is inline in unwind.h
bool in_own_module(uintptr_t ip);

// ---- modules.cpp ---------------------------------------------------------------------------------
void modules_init();
void modules_refresh();  // records loads and unloads since the last refresh, bumps the generation
bool modules_refresh_try();  // the same, unless another thread is refreshing; false then
uint32_t modules_generation();
void modules_after_fork_child();

// ---- lifecycle.cpp -------------------------------------------------------------------------------
uint64_t current_epoch();  // birth epoch of an allocation made now
// Epochs the trace covers: up to now, or, once the process has begun to exit, up to that moment.
// libleak's own exit work (the scan, the final write) can take several epochs on a loaded machine
// and must not read as a stretch of the program's run in which nothing was born.
uint32_t epochs_recorded();
void recorder_freeze_epochs();  // at the start of the final write
bool trace_is_root_process();  // the process the user started, not a descendant

// ---- hooks.cpp -----------------------------------------------------------------------------------
size_t real_usable_size(void* p);  // the real allocator's malloc_usable_size
void hooks_init();                 // resolves the real allocator
}  // namespace libleak
