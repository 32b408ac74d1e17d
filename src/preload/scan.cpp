// Reachability scan; see scan.h. Runs once, at exit or on request, on the exiting thread.
// Other threads are paused for the duration (scan_pause.h), so their registers land on their own
// stacks and no block is freed while it is read. Memory is read only where /proc/self/maps says
// it is readable, so a stale entry can never fault the program at exit.
//
// Classification follows valgrind and LSan: marked from roots = reachable. Of the rest, each
// block not yet reached from another unreachable block leads a flood through what it points to;
// everything the flood reaches is indirect. A leader later reached by another flood becomes
// indirect too, so a lost tree reports only its root as direct, and a lost cycle one member.
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "modules.h"
#include "recorder.h"
#include "scan_pause.h"

namespace libleak {

namespace {

// A block's scan state: two bits, plus kPending while it is marked but its contents still wait
// to be scanned (the mark stack was full when it was reached).
enum : uint8_t { kUnreached = 0, kReachable = 1, kLeader = 2, kIndirect = 3, kStateMask = 3, kPending = 4 };

// Blocks of the hashed tables (over 256 bytes, and the few small ones whose granule was taken)
// are copied into a sorted array with their state. Small blocks are not copied: the address index
// finds them by address, and their states live in nibble arrays beside its leaves, touched only
// where blocks are (one byte per 64 bytes of small-block heap). Copying every block (32 bytes
// each) doubled the profiler's memory during the scan.
struct Big {
  uintptr_t start;
  uintptr_t end;
  uint32_t callsite;
  uint8_t state;
  uint8_t own;  // allocated by this process (not inherited through fork)
};

struct Mapping {
  uintptr_t start, end;
  bool readable;
};

template <class T>
struct Scratch {  // an mmap'd array: the scan must not use the program's heap
  T* data = nullptr;
  uint64_t cap = 0, size = 0;
  bool reserve(uint64_t n) {
    cap = n ? n : 1;
    data = static_cast<T*>(sys_map(cap * sizeof(T)));
    return data != nullptr;
  }
  void push(const T& v) {
    if (size < cap) data[size++] = v;
  }
  ~Scratch() { sys_unmap(data, cap * sizeof(T)); }
};

// ---- memory map ----------------------------------------------------------------------------------
uintptr_t parse_hex(const char*& p) {
  uintptr_t v = 0;
  for (;; ++p) {
    char c = *p;
    if (c >= '0' && c <= '9') v = v * 16 + uintptr_t(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + uintptr_t(c - 'a' + 10);
    else return v;
  }
}

bool read_maps(Scratch<Mapping>& maps) {
  constexpr uint64_t kBuf = 16u << 20;
  char* buf = static_cast<char*>(sys_map(kBuf));
  if (!buf) return false;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  uint64_t len = 0;
  if (fd >= 0) {
    ssize_t n;
    while (len < kBuf - 1 && (n = read(fd, buf + len, kBuf - 1 - len)) > 0) len += uint64_t(n);
    close(fd);
  }
  buf[len] = 0;
  uint64_t lines = 0;
  for (uint64_t i = 0; i < len; ++i) lines += buf[i] == '\n';
  bool ok = maps.reserve(lines + 1);
  for (const char* p = buf; ok && *p;) {
    Mapping m;
    m.start = parse_hex(p);
    ++p;  // '-'
    m.end = parse_hex(p);
    ++p;  // ' '
    m.readable = *p == 'r';
    maps.push(m);
    while (*p && *p != '\n') ++p;
    if (*p) ++p;
  }
  sys_unmap(buf, kBuf);
  return ok;
}

const Mapping* mapping_of(const Scratch<Mapping>& maps, uintptr_t a) {
  uint64_t lo = 0, hi = maps.size;
  while (lo < hi) {
    uint64_t mid = (lo + hi) / 2;
    if (maps.data[mid].end <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo < maps.size && maps.data[lo].start <= a ? &maps.data[lo] : nullptr;
}

// True when [start, end) lies inside readable mappings (adjacent mappings allowed).
bool readable(const Scratch<Mapping>& maps, uintptr_t start, uintptr_t end) {
  while (start < end) {
    const Mapping* m = mapping_of(maps, start);
    if (!m || !m->readable) return false;
    start = m->end;
  }
  return true;
}

// ---- marking ---------------------------------------------------------------------------------------
constexpr uint64_t kBigBit = uint64_t(1) << 63;  // a handle: a small block's address, or this | Big index
constexpr uint64_t kStackCap = 1 << 16;          // mark stack entries; beyond, blocks wait as kPending

struct Marker {
  const AddressIndex& index;
  Scratch<Big>& big;
  uint8_t* nibbles;  // 4 bits per index slot, leaves [0, leaves) one after another
  uint32_t leaves;
  Scratch<uint64_t>& stack;
  const Scratch<Mapping>& maps;
  uint32_t callsites;
  uintptr_t lo, hi;  // address range of all blocks, for a cheap first test
  bool overflowed = false;

  // One block found: its handle, extent and where its state is.
  struct Ref {
    uint64_t handle;
    uintptr_t start, end;
    uint8_t* state;  // a nibble's byte (small blocks) or Big::state
    int shift;
    uint8_t get() const { return uint8_t((*state >> shift) & 0xf); }
    void set(uint8_t v) const { *state = uint8_t((*state & ~(0xf << shift)) | (v << shift)); }
  };
  Ref small_ref(const LiveBlock& b, AddressIndex::Position at) const {
    uint8_t* byte = nibbles + ((uint64_t(at.leaf) * AddressIndex::kLeafSlots + at.slot) >> 1);
    return Ref{b.address, b.address, b.address + (b.size ? b.size : 1), byte, int(at.slot & 1) * 4};
  }
  Ref big_ref(uint64_t i) const {
    Big& b = big.data[i];
    return Ref{kBigBit | i, b.start, b.end, &b.state, 0};
  }
  // glibc-style chunks: the next chunk's header sits 16 bytes before the end of this chunk's
  // usable size + 8, inside this block's last bytes. The allocator's own bins and top pointer
  // point there, so such a pointer is the allocator's, not the program's, and must not keep this
  // block alive. Only asked of the C allocator's blocks (GMP arenas are not glibc chunks).
  bool is_next_chunk(uintptr_t v, uintptr_t start, uint32_t callsite) const {
    if (v - start < 16 || callsite >= callsites || !trace::kDomains[g_callsites.entry(callsite).domain].heap_chunks)
      return false;
    uintptr_t usable = real_usable_size(reinterpret_cast<void*>(start));
    return usable >= 24 && v == start + usable + 8 - 16;
  }
  bool find(uintptr_t v, Ref* r) const {
    if (v < lo || v >= hi) return false;
    LiveBlock b;
    AddressIndex::Position at;
    if (index.containing(v, LiveBlocks::kDirectMaxSize, &b, &at)) {
      if (at.leaf >= leaves || is_next_chunk(v, b.address, b.callsite)) return false;
      *r = small_ref(b, at);
      return true;
    }
    uint64_t x = 0, y = big.size;
    while (x < y) {
      uint64_t mid = (x + y) / 2;
      if (big.data[mid].end <= v) x = mid + 1;
      else y = mid;
    }
    if (x == big.size || big.data[x].start > v || is_next_chunk(v, big.data[x].start, big.data[x].callsite))
      return false;
    *r = big_ref(x);
    return true;
  }
  // The block behind a handle on the mark stack (a small one is looked up again by its address).
  bool resolve(uint64_t handle, Ref* r) const {
    if (handle & kBigBit) {
      *r = big_ref(handle & ~kBigBit);
      return true;
    }
    LiveBlock b;
    AddressIndex::Position at;
    if (!index.containing(handle, 0, &b, &at) || at.leaf >= leaves) return false;
    *r = small_ref(b, at);
    return true;
  }

  // Scans words in [start, end); blocks found in state `from` move to `to` and are queued.
  void scan_range(uintptr_t start, uintptr_t end, uint8_t from, uint8_t to, uint64_t self) {
    start = (start + 7) & ~uintptr_t(7);
    for (uintptr_t a = start; a + 8 <= end; a += 8) {
      Ref r;
      if (!find(*reinterpret_cast<const uintptr_t*>(a), &r) || r.handle == self) continue;
      uint8_t state = r.get() & kStateMask;
      if (state == from || (to == kIndirect && state == kLeader)) {
        if (stack.size < stack.cap) {
          r.set(to);
          stack.push(r.handle);
        } else {
          r.set(to | kPending);
          overflowed = true;
        }
      }
    }
  }
  void scan_block(const Ref& r, uint8_t from, uint8_t to, uint64_t self) {
    if (readable(maps, r.start, r.end)) scan_range(r.start, r.end, from, to, self);
  }
  void drain(uint8_t from, uint8_t to, uint64_t self) {
    while (stack.size) {
      Ref r;
      if (resolve(stack.data[--stack.size], &r)) scan_block(r, from, to, self);
    }
  }
  // Scans the blocks left pending by a full stack, until none is left.
  void finish(uint8_t from, uint8_t to, uint64_t self) {
    drain(from, to, self);
    while (overflowed) {
      overflowed = false;
      each_block([&](const Ref& r, uint32_t, bool) {
        if (!(r.get() & kPending)) return;
        r.set(r.get() & kStateMask);
        scan_block(r, from, to, self);
        drain(from, to, self);
      });
    }
  }
  void scan_root(uintptr_t start, uintptr_t end) {
    if (end <= start || !readable(maps, start, end)) return;
    g_counters.scan_roots_bytes.fetch_add(end - start, std::memory_order_relaxed);
    scan_range(start, end, kUnreached, kReachable, 0);
    drain(kUnreached, kReachable, 0);
  }
  // Every block once, small ones first: fn(const Ref&, callsite, own).
  template <class Fn>
  void each_block(Fn&& fn) {
    index.for_each_at([&](const LiveBlock& b, AddressIndex::Position at) {
      if (at.leaf < leaves) fn(small_ref(b, at), b.callsite, b.fork_gen >= g_fork_gen);
    });
    for (uint64_t i = 0; i < big.size; ++i) fn(big_ref(i), big.data[i].callsite, big.data[i].own != 0);
  }
};

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
  if (const Mapping* s = mapping_of(m.maps, sp - 128)) m.scan_root(sp - 128, s->end);
  if (const Mapping* t = mapping_of(m.maps, tp)) {
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

LIBLEAK_SCAN_FRAME bool scan_for_leaks() {
  if (!recorder_ready()) return false;
  uint32_t paused = 0;
  if (!pause_other_threads(&paused)) return false;

  bool ok = false;
  {
    Scratch<Mapping> maps;
    Scratch<Big> big;
    Scratch<uint64_t> stack;
    uint64_t count = 0;
    g_live.for_each_hashed([&](const LiveBlock&) { ++count; });
    const AddressIndex& index = g_live.index();
    uint32_t leaves = index.leaf_count();
    uint64_t nibble_bytes = (uint64_t(leaves) * AddressIndex::kLeafSlots + 1) / 2 + 1;
    auto* nibbles = static_cast<uint8_t*>(sys_map(nibble_bytes));
    if (nibbles && read_maps(maps) && big.reserve(count + 1024) && stack.reserve(kStackCap)) {
      uint32_t gen = g_fork_gen;
      g_live.for_each_hashed([&](const LiveBlock& b) {
        // A zero-sized block still has an address worth pointing at: give it one byte.
        big.push(Big{b.address, b.address + (b.size ? b.size : 1), b.callsite, kUnreached, b.fork_gen >= gen});
      });
      std::sort(big.data, big.data + big.size, [](const Big& a, const Big& b) { return a.start < b.start; });
      // The regions of the index's leaves bound its blocks (a block may reach past its region's
      // end by up to its size), then the big blocks'.
      uintptr_t lo, hi;
      index.span(&lo, &hi);
      if (hi) hi += LiveBlocks::kDirectMaxSize;
      for (uint64_t i = 0; i < big.size; ++i) {
        lo = big.data[i].start < lo ? big.data[i].start : lo;
        hi = big.data[i].end > hi ? big.data[i].end : hi;
      }
      Marker m{index, big, nibbles, leaves, stack, maps, g_callsites.count(), lo, hi};
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
      uint64_t reached = 0, blocks = 0;
      m.each_block([&](const Marker::Ref& r, uint32_t, bool) { reached += r.get() == kReachable, ++blocks; });
      classify(m);
      tally(m);
      if (env_get("LIBLEAK_DEBUG")) {
        char line[200];
        size_t k = fmt_str(line, sizeof line, 0, "scan: blocks ");
        k = fmt_u64(line, sizeof line, k, blocks);
        k = fmt_str(line, sizeof line, k, ", reachable ");
        k = fmt_u64(line, sizeof line, k, reached);
        k = fmt_str(line, sizeof line, k, ", unreachable ");
        k = fmt_u64(line, sizeof line, k, g_kept_count);
        k = fmt_str(line, sizeof line, k, ", root bytes ");
        k = fmt_u64(line, sizeof line, k, g_counters.scan_roots_bytes.load());
        k = fmt_str(line, sizeof line, k, ", paused threads ");
        fmt_u64(line, sizeof line, k, paused);
        log_line(line);
      }
      ok = true;
    }
    sys_unmap(nibbles, nibble_bytes);
  }
  resume_other_threads();
  return ok;
}

}  // namespace libleak
