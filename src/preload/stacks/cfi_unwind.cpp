// Fast stack walks from .eh_frame rules; see cfi_unwind.h. Runs inside malloc.
//
// A rule is found by _dl_find_object (glibc 2.35+: lock-free, made for unwinders) giving the
// module's .eh_frame_hdr, a binary search of its sorted table for the FDE, and a run of the CIE's
// and FDE's call-frame instructions up to the address. Rules are cached in a shared 4-way
// set-associative table: each entry is two words (address, rule | check). A reader accepts an
// entry only when its check matches the address, so two threads filling one way at once can
// leave a stale pair but never one that is believed.
#include "stacks/cfi_unwind.h"

#include <dlfcn.h>

#include <atomic>

#include "base/sys.h"
#include "stacks/eh_frame.h"

namespace libleak {

namespace {

constexpr uintptr_t kMaxFrameBytes = 1 << 20;  // a larger step means a wrong rule: let libunwind try

// ---- the cache ---------------------------------------------------------------------------------
struct Entry {
  std::atomic<uint64_t> pc;
  std::atomic<uint64_t> rule;  // check << 32 | rule
};
constexpr uint32_t kWays = 4;  // one 64-byte line per set
constexpr uint32_t kSetBits = 13;
Entry* g_cache = nullptr;
std::atomic<uint64_t> g_fallbacks{0};
std::atomic<uint64_t> g_rules_computed{0};

inline uint64_t check_of(uintptr_t pc) { return (uint64_t(pc) * 0xD6E8FEB86659FD93ull) >> 32; }

uint32_t rule_for(uintptr_t pc) {
  Entry* set = g_cache + (((uint64_t(pc) * 0x9E3779B97F4A7C15ull) >> (64 - kSetBits)) * kWays);
  uint64_t check = check_of(pc);
  for (uint32_t w = 0; w < kWays; ++w) {
    // Acquire: the rule word stored before this address is visible.
    if (set[w].pc.load(std::memory_order_acquire) != pc) continue;
    uint64_t r = set[w].rule.load(std::memory_order_relaxed);
    if ((r >> 32) == check) return uint32_t(r);
  }
  uint32_t rule = eh_frame_rule(pc);
  g_rules_computed.fetch_add(1, std::memory_order_relaxed);
  uint32_t way = kWays;
  for (uint32_t w = 0; w < kWays && way == kWays; ++w)
    if (set[w].pc.load(std::memory_order_relaxed) == 0) way = w;
  if (way == kWays) way = uint32_t(check) & (kWays - 1);
  set[way].pc.store(0, std::memory_order_relaxed);
  set[way].rule.store((check << 32) | rule, std::memory_order_relaxed);
  // Release: a reader that sees the address sees the rule stored above.
  set[way].pc.store(pc, std::memory_order_release);
  return rule;
}

// Each thread's own direct-mapped front for the shared cache. A thread's walks revisit the same
// few dozen return addresses, and a hit here is one multiply and one compare in memory no other
// thread writes, where the shared set costs two hashes and a way search. An entry belongs to one generation of the shared cache: forgetting it
// (cfi_unwind_forget) starts a new one, which leaves every thread's entries stale at once.
struct NearRule {
  uintptr_t pc;
  uint32_t rule;
  uint32_t gen;
};
constexpr uint32_t kNearBits = 8;
LIBLEAK_TLS NearRule t_near[1u << kNearBits];
std::atomic<uint32_t> g_generation{1};  // never 0: zeroed entries are never current

inline uint32_t near_rule_for(uintptr_t pc, uint32_t gen) {
  NearRule& e = t_near[(uint64_t(pc) * 0x9E3779B97F4A7C15ull) >> (64 - kNearBits)];
  if (e.pc == pc && e.gen == gen) return e.rule;
  uint32_t rule = rule_for(pc);
  // A signal handler's walk in this thread can only start between these stores if it is not
  // stopped by the hook guard; the address goes last so it never pairs with another rule.
  e.pc = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  e.rule = rule;
  e.gen = gen;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  e.pc = pc;
  return rule;
}

}  // namespace

bool cfi_unwind_init() {
  if (!g_cache) g_cache = static_cast<Entry*>(sys_map(sizeof(Entry) * kWays << kSetBits));
  return g_cache != nullptr;
}

void cfi_unwind_forget() {
  if (!g_cache) return;
  for (uint64_t i = 0; i < uint64_t(kWays) << kSetBits; ++i) g_cache[i].pc.store(0, std::memory_order_relaxed);
  // After the shared cache is empty: a walk that sees the new generation finds no old rule there.
  uint32_t next = g_generation.load(std::memory_order_relaxed) + 1;
  g_generation.store(next ? next : 1, std::memory_order_release);
}

uint64_t cfi_unwind_fallbacks() { return g_fallbacks.load(std::memory_order_relaxed); }
uint64_t cfi_unwind_rules_computed() { return g_rules_computed.load(std::memory_order_relaxed); }

namespace {
// The walk from a frame at code address `lookup` (its pc, or a return address minus one) with
// registers sp and bp; out[0, n) already holds what the caller found.
__attribute__((always_inline)) inline int walk(uintptr_t lookup, uintptr_t sp, uintptr_t bp, uintptr_t* out, int n,
                                               int max, uintptr_t stop_lo, uintptr_t stop_hi) {
  uint32_t gen = g_generation.load(std::memory_order_acquire);
  while (n < max) {
    uint32_t r = near_rule_for(lookup, gen);
    if (r & kRuleGiveUp) break;
    if (r & kRuleEnd) return n;
    uintptr_t cfa = ((r & kRuleRbpBase) ? bp : sp) + cfa_offset(r);
    if (cfa < sp + 8 || cfa - sp > kMaxFrameBytes) break;
    if (r & kRuleRbpSaved) {
      uintptr_t at = cfa + uintptr_t(intptr_t(rbp_offset(r)));
      if (at < sp) break;
      bp = *reinterpret_cast<const uintptr_t*>(at);
    }
    uintptr_t ip = *reinterpret_cast<const uintptr_t*>(cfa - 8);
    sp = cfa;
    if (ip == 0) return n;
    out[n++] = ip;
    lookup = ip - 1;  // return addresses are looked up one byte back, inside the call
    if (lookup - stop_lo < stop_hi - stop_lo) return n;
  }
  if (n == max) return n;
  g_fallbacks.fetch_add(1, std::memory_order_relaxed);
  return -1;
}
}  // namespace

LIBLEAK_NOINLINE int cfi_backtrace(uintptr_t* out, int max, uintptr_t stop_lo, uintptr_t stop_hi) {
  if (!g_cache) return -1;
  uintptr_t ip, sp, bp;
  // This function's own address and registers at one instruction: the walk starts from a state
  // its unwind rules describe exactly.
  asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(ip), "=r"(sp), "=r"(bp));
  return walk(ip, sp, bp, out, 0, max, stop_lo, stop_hi);
}

int cfi_backtrace_from(const CallerFrame& from, uintptr_t* out, int max, uintptr_t stop_lo, uintptr_t stop_hi) {
  if (!g_cache || max <= 0 || from.ip == 0) return -1;
  out[0] = from.ip;
  if (from.ip - 1 - stop_lo < stop_hi - stop_lo) return 1;
  return walk(from.ip - 1, from.sp, from.bp, out, 1, max, stop_lo, stop_hi);
}

}  // namespace libleak
