// Reachability scan; see scan.h. Runs once, at exit or on request, on the exiting thread, as a
// short sequence of phases: prepare (memory map, block index), mark from roots (writable
// segments, every thread's stack, registers and TLS), classify what is left (marker.h), tally.
// Other threads are paused for the duration (pause.h), so their registers land on their own
// stacks and no block is freed while it is read. Memory is read only where /proc/self/maps says
// it is readable, so a stale entry can never fault the program at exit.
#include "scan/scan.h"

#include <link.h>
#include <ucontext.h>

#include <algorithm>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "base/config.h"
#include "scan/marker.h"
#include "scan/pause.h"
#include "stacks/modules.h"

namespace libleak {

using namespace scan;

namespace {

int on_writable_segment(dl_phdr_info* info, size_t, void* arg) {
  auto* m = static_cast<Marker*>(arg);
  uintptr_t own_start, own_end;
  own_module_range(&own_start, &own_end);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W)) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (start >= own_start && start < own_end) continue;  // libleak's own state is not a root
    m->scan_root(start, start + ph.p_memsz);
  }
  return 0;
}

uint64_t static_tls_bytes() {
  uint64_t total = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* arg) {
        for (int i = 0; i < info->dlpi_phnum; ++i)
          if (info->dlpi_phdr[i].p_type == PT_TLS) *static_cast<uint64_t*>(arg) += info->dlpi_phdr[i].p_memsz + 64;
        return 0;
      },
      &total);
  return total + 4096;  // glibc's static TLS surplus
}

// A thread's roots: its stack from sp (minus the red zone) to the end of the stack mapping, and
// the static TLS block and thread control block around its thread pointer.
void scan_thread(Marker& m, uintptr_t sp, uintptr_t tp, uint64_t tls_bytes) {
  if (const Mapping* s = m.maps.mapping_of(sp - 128)) m.scan_root(sp - 128, s->end);
  if (const Mapping* t = m.maps.mapping_of(tp)) {
    uintptr_t lo = tp - tls_bytes > t->start ? tp - tls_bytes : t->start;
    uintptr_t hi = tp + 2048 < t->end ? tp + 2048 : t->end;
    m.scan_root(lo, hi);
  }
}

// The exiting thread is inside exit(), _dl_fini and libleak: those frames reuse stack the program
// used earlier and would keep stale pointers "reachable". Start at the innermost frame of the
// program itself (its caller of exit, or _start after main returned), with the callee-saved
// registers as they were in that frame, which the runtime frames may have spilled.
//
// The scan's own frames are skipped too, wherever the scan is linked: their locals and spill slots
// hold block addresses (the bounds of the heap, a block being sorted) that are not the program's.
// In libleak.so the module range already covers them; the unit tests link the scan into the test.
#define LIBLEAK_SCAN_FRAME __attribute__((noinline, section("libleak_scan_frames")))
extern "C" const char __start_libleak_scan_frames[] __attribute__((weak, visibility("hidden")));
extern "C" const char __stop_libleak_scan_frames[] __attribute__((weak, visibility("hidden")));
bool in_scan_frame(uintptr_t ip) {
  return ip >= uintptr_t(__start_libleak_scan_frames) && ip < uintptr_t(__stop_libleak_scan_frames);
}

LIBLEAK_SCAN_FRAME void scan_current_thread(Marker& m, uint64_t tls_bytes) {
  unw_context_t context;
  unw_cursor_t cursor;
  uintptr_t sp = 0;
  unw_word_t regs[7] = {};
  if (unw_getcontext(&context) == 0 && unw_init_local(&cursor, &context) == 0) {
    do {
      unw_word_t ip = 0;
      unw_get_reg(&cursor, UNW_REG_IP, &ip);
      if (is_exit_runtime(uintptr_t(ip)) || in_scan_frame(uintptr_t(ip))) continue;
      unw_word_t v = 0;
      unw_get_reg(&cursor, UNW_REG_SP, &v);
      sp = uintptr_t(v);
      const int callee_saved[] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12, UNW_X86_64_R13,
                                  UNW_X86_64_R14, UNW_X86_64_R15};
      for (int i = 0; i < 6; ++i) unw_get_reg(&cursor, callee_saved[i], &regs[i]);
      break;
    } while (unw_step(&cursor) > 0);
  }
  if (!sp) {  // could not unwind: fall back to everything from here up, stale slots included
    __builtin_unwind_init();
    volatile uintptr_t here = 0;
    sp = reinterpret_cast<uintptr_t>(&here);
  }
  m.scan_root(reinterpret_cast<uintptr_t>(regs), reinterpret_cast<uintptr_t>(regs + 7));
  scan_thread(m, sp, reinterpret_cast<uintptr_t>(__builtin_thread_pointer()), tls_bytes);
}

void classify(Marker& m) {
  m.each_block([&](const Marker::Ref& r, uint32_t, bool) {
    if (r.get() != kUnreached) return;
    r.set(kLeader);
    m.scan_block(r, kUnreached, kIndirect, r.handle);
    m.finish(kUnreached, kIndirect, r.handle);
  });
}

// The unreachable blocks of the last scan, kept for scan_recount_kept().
struct Kept {
  uintptr_t address;
  uint64_t size;
  uint32_t callsite;
  uint8_t state;
};
Kept* g_kept = nullptr;
uint64_t g_kept_count = 0, g_kept_bytes = 0;

void clear_callsite_verdicts() {
  uint32_t n = g_callsites.count();
  for (uint32_t i = 0; i < n; ++i) {
    Callsite& c = g_callsites.entry(i);
    c.unreachable_blocks = c.unreachable_bytes = c.indirect_blocks = c.indirect_bytes = 0;
  }
}

void count_verdict(uint32_t callsite, uint8_t state, uint64_t size) {
  Callsite& c = g_callsites.entry(callsite);
  if (state == kLeader) c.unreachable_blocks++, c.unreachable_bytes += size;
  if (state == kIndirect) c.indirect_blocks++, c.indirect_bytes += size;
}

void tally(Marker& m) {
  clear_callsite_verdicts();
  uint32_t n = g_callsites.count();
  uint64_t lost = 0;
  auto counted = [&](const Marker::Ref& r, uint32_t callsite, bool own) {
    uint8_t state = r.get() & kStateMask;
    return own && callsite < n && (state == kLeader || state == kIndirect) ? state : 0;
  };
  m.each_block([&](const Marker::Ref& r, uint32_t callsite, bool own) {
    if (uint8_t state = counted(r, callsite, own)) count_verdict(callsite, state, r.end - r.start), ++lost;
  });
  sys_unmap(g_kept, g_kept_bytes);
  g_kept_count = 0;
  g_kept_bytes = (lost + 1) * sizeof(Kept);
  g_kept = static_cast<Kept*>(sys_map(g_kept_bytes));
  if (!g_kept) return;
  m.each_block([&](const Marker::Ref& r, uint32_t callsite, bool own) {
    uint8_t state = counted(r, callsite, own);
    if (state && g_kept_count <= lost) g_kept[g_kept_count++] = Kept{r.start, r.end - r.start, callsite, state};
  });
}

// Scratch memory of one scan, unmapped when it ends.
struct ScanMemory {
  MemoryMap maps;
  Scratch<Big> big;
  Scratch<uint64_t> stack;
  uint8_t* nibbles = nullptr;
  uint64_t nibble_bytes = 0;
  ~ScanMemory() { sys_unmap(nibbles, nibble_bytes); }
};

// Phase 1: the memory map, the hashed tables' blocks sorted by address, and the state nibbles
// beside the address index's leaves.
bool prepare(ScanMemory& s, uint32_t* leaves) {
  uint64_t count = 0;
  g_live.for_each_hashed([&](const LiveBlock&) { ++count; });
  *leaves = g_live.index().leaf_count();
  s.nibble_bytes = (uint64_t(*leaves) * AddressIndex::kLeafSlots + 1) / 2 + 1;
  s.nibbles = static_cast<uint8_t*>(sys_map(s.nibble_bytes));
  if (!s.nibbles || !s.maps.read() || !s.big.reserve(count + 1024) || !s.stack.reserve(kStackCap)) return false;
  uint32_t gen = g_fork_gen;
  g_live.for_each_hashed([&](const LiveBlock& b) {
    // A zero-sized block still has an address worth pointing at: give it one byte.
    s.big.push(Big{b.address, b.address + (b.size ? b.size : 1), b.callsite, kUnreached, b.fork_gen >= gen});
  });
  std::sort(s.big.data, s.big.data + s.big.size, [](const Big& a, const Big& b) { return a.start < b.start; });
  return true;
}

// Bounds of every block: the regions of the index's leaves (a block may reach past its region's
// end by up to its size), then the big blocks'.
void block_bounds(const AddressIndex& index, const Scratch<Big>& big, uintptr_t* lo, uintptr_t* hi) {
  index.span(lo, hi);
  if (*hi) *hi += LiveBlocks::kDirectMaxSize;
  for (uint64_t i = 0; i < big.size; ++i) {
    *lo = big.data[i].start < *lo ? big.data[i].start : *lo;
    *hi = big.data[i].end > *hi ? big.data[i].end : *hi;
  }
}

// Phase 2: every root, then what the roots reach.
LIBLEAK_SCAN_FRAME void mark_from_roots(Marker& m, uint32_t paused) {
  uint64_t tls = static_tls_bytes();
  dl_iterate_phdr(on_writable_segment, &m);
  scan_current_thread(m, tls);
  for (uint32_t i = 0; i < paused; ++i) {
    const PausedThread* t = paused_thread(i);
    if (!t) continue;
    m.scan_root(reinterpret_cast<uintptr_t>(t->regs), reinterpret_cast<uintptr_t>(t->regs + NGREG));
    scan_thread(m, t->sp, t->tp, tls);
  }
  m.finish(kUnreached, kReachable, 0);
}

}  // namespace

bool scan_recount_kept() {
  if (!g_kept) return false;
  clear_callsite_verdicts();
  for (uint64_t i = 0; i < g_kept_count; ++i) {
    const Kept& k = g_kept[i];
    LiveBlock b;
    // Still live and still the same block (not a new one at a reused address).
    if (g_live.find(k.address, &b) && b.callsite == k.callsite && (b.size ? b.size : 1) == k.size)
      count_verdict(k.callsite, k.state, k.size);
  }
  return true;
}

LIBLEAK_SCAN_FRAME bool scan_for_leaks(pid_t skip_tid) {
  if (!recorder_ready()) return false;
  uint32_t paused = 0;
  if (!pause_other_threads(skip_tid, &paused)) return false;
  bool ok = false;
  {
    ScanMemory s;
    uint32_t leaves = 0;
    if (prepare(s, &leaves)) {
      uintptr_t lo, hi;
      block_bounds(g_live.index(), s.big, &lo, &hi);
      Marker m{g_live.index(), s.big, s.nibbles, leaves, s.stack, s.maps, g_callsites.count(), lo, hi};
      mark_from_roots(m, paused);
      uint64_t reached = 0, blocks = 0;
      m.each_block([&](const Marker::Ref& r, uint32_t, bool) { reached += r.get() == kReachable, ++blocks; });
      classify(m);
      tally(m);
      if (config().debug)
        LogLine().text("scan: blocks ").num(blocks).text(", reachable ").num(reached).text(", unreachable ")
            .num(g_kept_count).text(", root bytes ").num(g_counters.scan_roots_bytes.load())
            .text(", paused threads ").num(paused).print();
      ok = true;
    }
  }
  resume_other_threads();
  return ok;
}

}  // namespace libleak
