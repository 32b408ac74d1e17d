// The recorder: attributes each allocation to its call stack and each free to its allocation.
// Runs inside malloc/free under an entered HookGuard: lock-free, no heap allocation.
#include <pthread.h>

#include "base/config.h"
#include "base/guard.h"
#include "base/sys.h"
#include "python/frames.h"
#include "recorder/marks.h"
#include "recorder/state.h"
#include "stacks/modules.h"
#include "stacks/unwind.h"

namespace libleak {

LiveBlocks g_live;
CallsiteTable g_callsites;
Counters g_counters;
uint32_t g_fork_gen = 0;
static uint64_t g_start_ms = 0;  // CLOCK_MONOTONIC_COARSE at start-up: epoch 0 begins here
static std::atomic<bool> g_ready{false};
static RealAllocator g_real{nullptr, false};

// Process-wide live bytes exist only for the peak (totals and the timeline sum the callsites).
// One shared counter touched by every allocation and free made it the hottest line of a
// multi-threaded program (docs/PERFORMANCE.md), so each thread keeps its change in thread-local
// storage and publishes it once it passes kLiveBatch either way, with the highest value it
// reached in between: the peak is exact for a single thread and may be low by up to kLiveBatch
// per other thread. A thread publishes what is left when it exits.
namespace {
struct ThreadLive {
  int64_t pending;      // this thread's change to live bytes since it last published
  int64_t pending_max;  // the highest `pending` since then
  bool registered;      // its exit hook is set
};
LIBLEAK_TLS ThreadLive t_live;
constexpr int64_t kLiveBatch = 64 << 10;
pthread_key_t g_live_key;
bool g_live_key_ok = false;

void publish_live() {
  int64_t before = g_counters.live_bytes.fetch_add(t_live.pending, std::memory_order_relaxed);
  atomic_raise(g_counters.peak_live_bytes, before + t_live.pending_max);
  t_live.pending = t_live.pending_max = 0;
}

void on_thread_exit(void*) {
  HookGuard guard;  // runs in the exiting thread, outside any hook
  publish_live();
}

LIBLEAK_NOINLINE void register_live_thread() {
  t_live.registered = true;
  // Any non-null value makes the key's destructor run at thread exit.
  if (g_live_key_ok) pthread_setspecific(g_live_key, &t_live);
}

inline void account(int64_t delta) {
  if (!LIBLEAK_LIKELY(t_live.registered)) register_live_thread();
  int64_t now = t_live.pending + delta;
  t_live.pending = now;
  if (now > t_live.pending_max) t_live.pending_max = now;
  if (now >= kLiveBatch || now <= -kLiveBatch) publish_live();
}
}  // namespace

void recorder_publish_live() { publish_live(); }

bool recorder_ready() { return g_ready.load(std::memory_order_acquire); }

void recorder_set_allocator(const RealAllocator& real) { g_real = real; }
const RealAllocator& recorder_allocator() { return g_real; }

void recorder_init() {
  if (g_ready.load(std::memory_order_relaxed)) return;
  g_start_ms = now_coarse_ms();
  g_live_key_ok = pthread_key_create(&g_live_key, on_thread_exit) == 0;
  unwind_init();
  modules_init();
  if (!g_callsites.init(config().callsites_log2, config().depth)) {
    log_line("cannot map the callsite table; recording is off");
    return;
  }
  // Release: hooks that see ready also see the tables and configuration.
  g_ready.store(true, std::memory_order_release);
}

uint64_t current_epoch() {
  uint64_t e = (now_coarse_ms() - g_start_ms) / config().epoch_ms + marks_epoch_bias();
  return e < 0xffff ? e : 0xffff;
}

static std::atomic<uint64_t> g_final_epoch{UINT64_MAX};
void recorder_freeze_epochs() { g_final_epoch.store(current_epoch(), std::memory_order_relaxed); }
uint32_t epochs_recorded() {
  uint64_t e = g_final_epoch.load(std::memory_order_relaxed);
  return uint32_t(e != UINT64_MAX ? e : current_epoch()) + 1;
}

namespace {
struct NewCallsite {
  const PythonCapture* python;
};

// Completes a callsite seen for the first time. A library loaded since the registry's last refresh
// (a Python extension allocating in its first call) must be registered before the callsite is
// stamped with a generation, or its frames would be looked up among older modules. Try-only: the
// refresh waits for the loader lock, which the allocating thread may hold (malloc inside dlopen).
void fill_new_callsite(Callsite& c, const void* arg) {
  if (modules_refresh_try()) c.module_gen = modules_generation();
  auto* fresh = static_cast<const NewCallsite*>(arg);
  if (fresh->python) python_fill_callsite(c, fresh->python);
}
}  // namespace


// In a Python thread the native frames beyond the innermost _PyEval_EvalFrameDefault are the
// interpreter running the Python frames the capture already holds: the walk stops there, which
// spares most of the unwinding of deep interpreter stacks.
static uint32_t unwind_to_interpreter(uintptr_t* frames, uint32_t max, const CallerFrame* from) {
  uintptr_t lo, hi;
  python_eval_range(&lo, &hi);
  return uint32_t(unwind_stack(frames, int(max), from, lo, hi));
}

void record_alloc(void* p, size_t size, uint32_t domain, const CallerFrame* from) {
  if (!p || !recorder_ready()) return;
  g_live.prefetch(reinterpret_cast<uintptr_t>(p), size);  // its cache miss overlaps the unwinding
  uintptr_t frames[256];
  NewCallsite fresh{nullptr};
  PythonCapture py;
  uint64_t py_hash = python_frames_enabled() ? python_capture(&py) : 0;
  uint32_t max = config().depth;
  uint32_t depth = py_hash ? unwind_to_interpreter(frames, max, from) : uint32_t(unwind_stack(frames, int(max), from));
  // The innermost interpreter frame's return address says which bytecode instruction made the
  // call; the Python (code, line) pairs already identify the call, so it is left out of the
  // identity: two instructions of one line (in 3.13, a call before and after it is specialized)
  // are one callsite.
  uint32_t hashed = py_hash && depth && python_is_eval_frame(frames[depth - 1]) ? depth - 1 : depth;
  uint64_t hash = hash_stack(frames, hashed, domain);
  if (py_hash) {
    py.native = frames;  // the Python frames are part of the callsite's identity
    py.native_depth = depth;
    hash = (hash ^ py_hash) | 2;
    fresh.python = &py;
  }
  uint32_t id = g_callsites.intern(hash, frames, depth, domain, modules_generation(), fill_new_callsite, &fresh);
  if (id == CallsiteTable::kOverflow) g_counters.dropped_callsites.fetch_add(1, std::memory_order_relaxed);
  if (!g_live.insert(reinterpret_cast<uintptr_t>(p), size, id, uint32_t(current_epoch()), g_fork_gen)) {
    g_counters.dropped_blocks.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_callsites.on_alloc(id, size);
  account(int64_t(size));
}

namespace {
bool detach(void* p, LiveBlock* out, size_t size_hint) {
  if (!p || !recorder_ready()) return false;
  if (!g_live.remove(reinterpret_cast<uintptr_t>(p), out, size_hint)) {
    g_counters.unknown_frees.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

// The block is gone from the program: counted freed at its callsite.
void settle(const LiveBlock& b) {
  // A block inherited from the parent process is not this process's to count: the child's
  // counters started at zero when it was forked.
  if (b.fork_gen < g_fork_gen) {
    g_counters.inherited_frees.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_callsites.on_free(b.callsite, b.size);
  account(-int64_t(b.size));
}

void reattach(void* p, const LiveBlock& b) {
  // The block never left the program: put it back with its original callsite and birth epoch.
  if (!g_live.insert(reinterpret_cast<uintptr_t>(p), b.size, b.callsite, b.epoch, b.fork_gen)) {
    g_counters.dropped_blocks.fetch_add(1, std::memory_order_relaxed);
    settle(b);
  }
}
}  // namespace

void record_reentrant() { g_counters.reentrant.fetch_add(1, std::memory_order_relaxed); }

bool record_free(void* p, size_t size_hint) {
  LiveBlock b;
  if (!detach(p, &b, size_hint)) return false;
  settle(b);
  return true;
}

ReallocTicket record_realloc_begin(void* p, size_t size_hint) {
  ReallocTicket t{};
  t.known = detach(p, &t.old, size_hint);
  return t;
}

void record_realloc_end(const ReallocTicket& t, void* p, void* q, bool failed, size_t size, uint32_t domain,
                        const CallerFrame* from) {
  if (failed) {
    if (t.known) reattach(p, t.old);  // p is unchanged and still the program's
    return;
  }
  if (t.known) settle(t.old);
  if (q) record_alloc(q, size, domain, from);  // realloc(p, 0) may return NULL: then only a free
}

void recorder_after_fork_child() {
  if (!recorder_ready()) return;
  if (g_fork_gen < LiveTable::kMaxForkGen) ++g_fork_gen;
  g_callsites.after_fork_child();
  g_counters.unknown_frees.store(0);
  g_counters.live_bytes.store(0);
  g_counters.peak_live_bytes.store(0);
  t_live = ThreadLive{};  // the forking thread is the child's only one
  g_final_epoch.store(UINT64_MAX, std::memory_order_relaxed);
  g_start_ms = now_coarse_ms();
}

}  // namespace libleak
