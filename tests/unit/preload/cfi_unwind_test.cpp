// The cached .eh_frame unwinder (src/preload/cfi_unwind) against libunwind: from the same place,
// both must give the same return addresses, or the fast walk must hand the stack to libunwind.
#include "stacks/cfi_unwind.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <set>
#include <vector>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "stacks/caller_frame.h"

using libleak::cfi_backtrace;

namespace {

struct Walks {
  int fast = 0, slow = 0;
  uintptr_t a[128] = {}, b[128] = {};
};

// Walks the stack both ways from one function. Entry 0 differs by construction (each walker's
// call site here); from entry 1 on, the callers, they must agree.
__attribute__((noinline)) void walk_both(Walks* w, int max = 128) {
  w->fast = cfi_backtrace(w->a, max);
  w->slow = unw_backtrace(reinterpret_cast<void**>(w->b), max);
  asm volatile("" ::: "memory");  // keeps this a real frame with both calls in it
}

void expect_same_callers(const Walks& w) {
  ASSERT_GT(w.fast, 1);
  ASSERT_EQ(w.fast, w.slow);
  for (int i = 1; i < w.fast; ++i) EXPECT_EQ(w.a[i], w.b[i]) << "frame " << i;
}

// Frames of different sizes, so the walk must read each one's CFA offset rather than guess; the
// innermost one calls Leaf(arg).
template <class T, void (*Leaf)(T*)>
__attribute__((noinline)) int recurse_into(int n, T* arg) {
  volatile char pad[16 * (1 + n % 5)];
  pad[0] = char(n);
  if (n == 0) Leaf(arg);
  else recurse_into<T, Leaf>(n - 1, arg);
  return pad[0];
}
void walk_both_fully(Walks* w) { walk_both(w); }
__attribute__((always_inline)) inline int recurse(int n, Walks* w) { return recurse_into<Walks, walk_both_fully>(n, w); }

// Two walks from the same call site (a loop the compiler cannot unroll), optionally forgetting
// the cached rules in between.
__attribute__((noinline)) void recurse_twice(int n, Walks* w, bool forget) {
  int rounds = 2;
  asm volatile("" : "+r"(rounds));  // a count the compiler cannot see: the loop stays a loop
  for (int k = 0; k < rounds; ++k) {
    if (k == 1 && forget) libleak::cfi_unwind_forget();
    recurse(n, &w[k]);
  }
}

Walks* g_sort_walks = nullptr;
int compare_ints(const void* x, const void* y) {
  if (g_sort_walks && !g_sort_walks->fast) walk_both(g_sort_walks);
  return *static_cast<const int*>(x) - *static_cast<const int*>(y);
}

Walks g_signal_walks;
void on_signal(int) { walk_both(&g_signal_walks); }

// Stands for an allocation hook: built with a frame pointer, as all of libleak.so is, it walks
// from its caller's frame (LIBLEAK_CALLER_FRAME) while libunwind walks from here. The rest of
// this file is built without frame pointers, like most code the walk goes through.
struct FromCaller {
  Walks w;
  uintptr_t stop_lo = 0, stop_hi = 0;
  uintptr_t caller_ip = 0;
};
__attribute__((noinline, optimize("no-omit-frame-pointer"))) void hook_like(FromCaller* f) {
  libleak::CallerFrame from = LIBLEAK_CALLER_FRAME();
  f->caller_ip = from.ip;
  f->w.fast = libleak::cfi_backtrace_from(from, f->w.a, 128, f->stop_lo, f->stop_hi);
  f->w.slow = unw_backtrace(reinterpret_cast<void**>(f->w.b), 128);
  asm volatile("" ::: "memory");
}
__attribute__((always_inline)) inline int recurse_to_hook(int n, FromCaller* f) {
  return recurse_into<FromCaller, hook_like>(n, f);
}
// One call site for every walk that must be compared by return address.
__attribute__((noinline)) void run_to_hook(FromCaller* f) {
  recurse_to_hook(6, f);
  asm volatile("" ::: "memory");
}

}  // namespace

TEST(CfiUnwind, Init) { ASSERT_TRUE(libleak::cfi_unwind_init()); }

TEST(CfiUnwind, DeepRecursionMatchesLibunwind) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  // The second walk comes from the rule cache and must give the same answer.
  Walks w[2];
  recurse_twice(40, w, false);
  expect_same_callers(w[0]);
  EXPECT_GT(w[0].fast, 43);  // walk_both, 41 recursive frames, recurse_twice, the test body...
  ASSERT_EQ(w[1].fast, w[0].fast);
  for (int i = 0; i < w[0].fast; ++i) EXPECT_EQ(w[1].a[i], w[0].a[i]) << i;
}

TEST(CfiUnwind, ThroughLibcQsortCallback) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  Walks w;
  g_sort_walks = &w;
  std::vector<int> v = {5, 3, 9, 1, 7, 2, 8};
  qsort(v.data(), v.size(), sizeof(int), compare_ints);
  g_sort_walks = nullptr;
  expect_same_callers(w);
}

TEST(CfiUnwind, InAThreadStopsAtTheThreadStartLikeLibunwind) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  Walks w;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, [](void* p) -> void* { recurse(7, static_cast<Walks*>(p)); return nullptr; }, &w), 0);
  pthread_join(t, nullptr);
  expect_same_callers(w);
}

TEST(CfiUnwind, MaxFramesIsAPrefixOfTheFullWalk) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  // Both walkers limited to 5 frames of a deeper stack: exactly 5, the same callers.
  uintptr_t first[5];
  Walks limited;
  struct Local {
    static __attribute__((noinline)) void run(Walks* w, uintptr_t* out) {
      w->fast = cfi_backtrace(out, 5);
      w->slow = unw_backtrace(reinterpret_cast<void**>(w->b), 5);
      asm volatile("" ::: "memory");
    }
  };
  Local::run(&limited, first);
  EXPECT_EQ(limited.fast, 5);
  EXPECT_EQ(limited.slow, 5);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(first[i], limited.b[i]) << i;
}

TEST(CfiUnwind, SignalFrameIsHandedToLibunwind) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  struct sigaction sa = {}, old = {};
  sa.sa_handler = on_signal;
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  uint64_t before = libleak::cfi_unwind_fallbacks();
  raise(SIGUSR1);
  sigaction(SIGUSR1, &old, nullptr);
  // glibc marks its signal return trampoline as a signal frame ('S'): the fast walk gives up
  // there rather than guess, and the recorder runs libunwind instead.
  EXPECT_EQ(g_signal_walks.fast, -1);
  EXPECT_EQ(libleak::cfi_unwind_fallbacks(), before + 1);
  EXPECT_GT(g_signal_walks.slow, 3);
}

TEST(CfiUnwind, ForgetClearsTheCacheAndWalksStillMatch) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  Walks w[2];
  recurse_twice(12, w, true);
  expect_same_callers(w[1]);
  ASSERT_EQ(w[1].fast, w[0].fast);
  for (int i = 0; i < w[0].fast; ++i) EXPECT_EQ(w[1].a[i], w[0].a[i]) << i;
}

// Once cached, a walk from the same place reads no rule again, in this thread's own entries or
// the shared ones; after a forget every frame's rule is read afresh.
TEST(CfiUnwind, ForgetReachesEveryCachedRule) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  Walks w[2];
  uint64_t read[3];
  int rounds = 3;
  asm volatile("" : "+r"(rounds));  // one call site for all three rounds
  for (int round = 0; round < rounds; ++round) {
    uint64_t before = libleak::cfi_unwind_rules_computed();
    recurse_twice(12, w, round == 2);
    read[round] = libleak::cfi_unwind_rules_computed() - before;
  }
  expect_same_callers(w[1]);
  EXPECT_EQ(read[1], 0u);
  // Round 3: its first walk reads nothing; the second reads one rule per distinct address it
  // looked up: its own frame's and each return address's (the recursion returns to one address
  // twelve times).
  std::set<uintptr_t> looked_up(w[1].a, w[1].a + w[1].fast);
  EXPECT_EQ(read[2], looked_up.size() + 1);
}

TEST(CfiUnwind, FromTheHooksCallerMatchesLibunwindPastTheHook) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  FromCaller f;
  recurse_to_hook(20, &f);
  // libunwind's entry 0 is its call site in the hook; entry 1, the hook's return address, is
  // where the walk from the caller begins.
  ASSERT_GT(f.w.fast, 20);
  EXPECT_EQ(f.w.a[0], f.caller_ip);
  ASSERT_EQ(f.w.fast + 1, f.w.slow);
  for (int i = 0; i < f.w.fast; ++i) EXPECT_EQ(f.w.a[i], f.w.b[i + 1]) << "frame " << i;
}

TEST(CfiUnwind, FromTheHooksCallerStopsAfterTheStopRange) {
  ASSERT_TRUE(libleak::cfi_unwind_init());
  FromCaller probe;
  run_to_hook(&probe);
  ASSERT_GT(probe.w.slow, 8);
  // Stop at the hook's return address, at the recursion's (which repeats: the first one ends
  // the walk) and at the one into run_to_hook: a one-byte range just before each, as return
  // addresses are looked up one byte back. The walk ends right after the first match.
  for (int stop : {1, 3, 8}) {
    int expected = 1;
    while (probe.w.b[expected] != probe.w.b[stop]) ++expected;
    FromCaller f;
    f.stop_lo = probe.w.b[stop] - 1;
    f.stop_hi = probe.w.b[stop];
    run_to_hook(&f);
    ASSERT_EQ(f.w.fast, expected) << "stop at " << stop;
    for (int i = 0; i < expected; ++i) EXPECT_EQ(f.w.a[i], probe.w.b[i + 1]) << i;
  }
  EXPECT_EQ(probe.w.b[1], probe.caller_ip);
}
