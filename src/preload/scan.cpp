// Reachability scan; see scan.h. Runs once, at exit or on request, on the exiting thread.
// Other threads are paused with a signal for the duration, so their registers land on their own
// stacks and no block is freed while it is read. Memory is read only where /proc/self/maps says
// it is readable, so a stale entry can never fault the program at exit.
//
// Classification follows valgrind and LSan: marked from roots = reachable. Of the rest, each
// block not yet reached from another unreachable block leads a flood through what it points to;
// everything the flood reaches is indirect. A leader later reached by another flood becomes
// indirect too, so a lost tree reports only its root as direct, and a lost cycle one member.
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "modules.h"
#include "recorder.h"

namespace libleak {

pid_t background_thread_tid();

namespace {

struct Block {
  uintptr_t start;
  uintptr_t end;
  // The allocator's header of the chunk that follows this block, which lies inside this block's
  // last bytes: the allocator's own bins and top pointer point there, so such a pointer is the
  // allocator's, not the program's, and must not keep this block alive.
  uintptr_t next_chunk;
  uint32_t callsite;
  uint8_t state;  // kUnreached, kReachable, kLeader, kIndirect
  uint8_t own;    // allocated by this process (not inherited through fork)
};
enum : uint8_t { kUnreached = 0, kReachable = 1, kLeader = 2, kIndirect = 3 };

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

// ---- stopping the other threads ------------------------------------------------------------------
constexpr int kMaxThreads = 4096;
struct PausedThread {
  std::atomic<uint32_t> acked;
  uintptr_t sp;
  uintptr_t tp;
  greg_t regs[NGREG];
};
PausedThread* g_paused = nullptr;  // kMaxThreads entries, mmap'd
std::atomic<uint32_t> g_next_slot{0};
std::atomic<uint32_t> g_release{0};

void on_pause_signal(int, siginfo_t*, void* ctx) {
  int saved = errno;
  uint32_t slot = g_next_slot.fetch_add(1, std::memory_order_relaxed);
  if (slot < kMaxThreads) {
    PausedThread& t = g_paused[slot];
    auto* uc = static_cast<ucontext_t*>(ctx);
    for (int i = 0; i < NGREG; ++i) t.regs[i] = uc->uc_mcontext.gregs[i];
    t.sp = uintptr_t(uc->uc_mcontext.gregs[REG_RSP]);
    t.tp = reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
    // Release: the scanner must see the registers and stack pointer before the acknowledgement.
    t.acked.store(1, std::memory_order_release);
  }
  while (!g_release.load(std::memory_order_acquire))
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_release), FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
  errno = saved;
}

int pick_signal(struct sigaction* old) {
  for (int sig = SIGRTMAX - 1; sig > SIGRTMIN + 4; --sig) {
    if (sigaction(sig, nullptr, old) == 0 && old->sa_handler == SIG_DFL && !(old->sa_flags & SA_SIGINFO)) return sig;
  }
  return -1;
}

// Sends the pause signal to every other thread; returns how many acknowledged.
uint32_t pause_threads(int sig) {
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  pid_t self = pid_t(syscall(SYS_gettid)), pid = getpid(), skip = background_thread_tid();
  uint32_t sent = 0;
  char buf[4096];
  long n;
  while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      pid_t tid = 0;
      for (const char* c = d->d_name; *c; ++c) tid = tid * 10 + (*c - '0');
      if (tid == self || tid == skip) continue;
      if (syscall(SYS_tgkill, pid, tid, sig) == 0) ++sent;
    }
  }
  close(fd);
  // Bounded wait until `sent` handlers have finished writing their slot: a handler reserves its
  // slot before it records the registers, so counting reservations would let the scan start while
  // a thread's registers and stack pointer are still being written (and skip that thread). A
  // thread that blocks the signal is never paused; its stack is not scanned.
  auto acked = [] {
    uint32_t n = g_next_slot.load(std::memory_order_acquire), done = 0;
    for (uint32_t i = 0; i < n && i < kMaxThreads; ++i) done += g_paused[i].acked.load(std::memory_order_acquire);
    return done;
  };
  for (int spin = 0; spin < 5000 && acked() < sent; ++spin) usleep(100);
  return g_next_slot.load(std::memory_order_acquire);
}

void resume_threads() {
  g_release.store(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_release), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

// ---- marking ---------------------------------------------------------------------------------------
struct Marker {
  Scratch<Block>& blocks;
  Scratch<uint32_t>& stack;
  const Scratch<Mapping>& maps;
  uintptr_t lo, hi;  // address range of all blocks, for a cheap first test

  Block* find(uintptr_t v) {
    if (v < lo || v >= hi) return nullptr;
    uint64_t a = 0, b = blocks.size;
    while (a < b) {
      uint64_t mid = (a + b) / 2;
      if (blocks.data[mid].end <= v) a = mid + 1;
      else b = mid;
    }
    if (a < blocks.size && blocks.data[a].start <= v && v != blocks.data[a].next_chunk) return &blocks.data[a];
    return nullptr;
  }
  // Scans words in [start, end); blocks found in state `from` move to `to` and are queued.
  void scan_range(uintptr_t start, uintptr_t end, uint8_t from, uint8_t to, const Block* self = nullptr) {
    start = (start + 7) & ~uintptr_t(7);
    for (uintptr_t a = start; a + 8 <= end; a += 8) {
      Block* b = find(*reinterpret_cast<const uintptr_t*>(a));
      if (!b || b == self) continue;
      if (b->state == from || (to == kIndirect && b->state == kLeader)) {
        b->state = to;
        stack.push(uint32_t(b - blocks.data));
      }
    }
  }
  void scan_root(uintptr_t start, uintptr_t end) {
    if (end <= start || !readable(maps, start, end)) return;
    g_counters.scan_roots_bytes.fetch_add(end - start, std::memory_order_relaxed);
    scan_range(start, end, kUnreached, kReachable);
    drain(kUnreached, kReachable, nullptr);
  }
  void drain(uint8_t from, uint8_t to, const Block* self) {
    while (stack.size) {
      Block& b = blocks.data[stack.data[--stack.size]];
      if (readable(maps, b.start, b.end)) scan_range(b.start, b.end, from, to, self);
    }
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
LIBLEAK_NOINLINE void scan_current_thread(Marker& m, uint64_t tls_bytes) {
  unw_context_t context;
  unw_cursor_t cursor;
  uintptr_t sp = 0;
  unw_word_t regs[7] = {};
  if (unw_getcontext(&context) == 0 && unw_init_local(&cursor, &context) == 0) {
    do {
      unw_word_t ip = 0;
      unw_get_reg(&cursor, UNW_REG_IP, &ip);
      if (is_exit_runtime(uintptr_t(ip))) continue;
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
  for (uint64_t i = 0; i < m.blocks.size; ++i) {
    Block& b = m.blocks.data[i];
    if (b.state != kUnreached) continue;
    b.state = kLeader;
    if (readable(m.maps, b.start, b.end)) m.scan_range(b.start, b.end, kUnreached, kIndirect, &b);
    m.drain(kUnreached, kIndirect, &b);
  }
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

void tally(const Scratch<Block>& blocks) {
  clear_callsite_verdicts();
  uint32_t n = g_callsites.count();
  uint64_t lost = 0;
  for (uint64_t i = 0; i < blocks.size; ++i) {
    const Block& b = blocks.data[i];
    if (!b.own || b.callsite >= n || (b.state != kLeader && b.state != kIndirect)) continue;
    count_verdict(b.callsite, b.state, b.end - b.start);
    ++lost;
  }
  sys_unmap(g_kept, g_kept_bytes);
  g_kept_count = 0;
  g_kept_bytes = (lost + 1) * sizeof(Kept);
  g_kept = static_cast<Kept*>(sys_map(g_kept_bytes));
  for (uint64_t i = 0; g_kept && i < blocks.size; ++i) {
    const Block& b = blocks.data[i];
    if (!b.own || b.callsite >= n || (b.state != kLeader && b.state != kIndirect)) continue;
    g_kept[g_kept_count++] = Kept{b.start, b.end - b.start, b.callsite, b.state};
  }
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

bool scan_for_leaks() {
  if (!recorder_ready()) return false;
  if (!g_paused) g_paused = static_cast<PausedThread*>(sys_map(sizeof(PausedThread) * kMaxThreads));
  if (!g_paused) return false;
  struct sigaction old {};
  int sig = pick_signal(&old);
  if (sig > 0) {
    struct sigaction sa {};
    sa.sa_sigaction = on_pause_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
  // Only slots handed out since the last reset can be set (a late handler of an earlier scan also
  // counts in g_next_slot): clearing all kMaxThreads would fault in ~200 pages nobody else uses.
  uint32_t dirty = g_next_slot.exchange(0);
  for (uint32_t i = 0; i < dirty && i < kMaxThreads; ++i) g_paused[i].acked.store(0, std::memory_order_relaxed);
  g_release.store(0);
  uint32_t paused = sig > 0 ? pause_threads(sig) : 0;

  bool ok = false;
  {
    Scratch<Mapping> maps;
    Scratch<Block> blocks;
    Scratch<uint32_t> stack;
    uint64_t count = 0;
    g_live.for_each([&](const LiveBlock&) { ++count; });
    if (read_maps(maps) && blocks.reserve(count + 1024) && stack.reserve(count + 1024)) {
      uint32_t gen = g_fork_gen;
      uint32_t callsites = g_callsites.count();
      g_live.for_each([&](const LiveBlock& b) {
        // glibc-style chunks: the next chunk's header sits 16 bytes before the end of this
        // chunk's usable size + 8. Only asked of the C allocator's blocks (GMP arenas are not).
        bool c_heap = b.callsite < callsites && g_callsites.entry(b.callsite).domain == kDomainMalloc;
        uintptr_t usable = c_heap ? real_usable_size(reinterpret_cast<void*>(b.address)) : 0;
        uintptr_t next_chunk = usable >= 24 ? b.address + usable + 8 - 16 : 0;
        // A zero-sized block still has an address worth pointing at: give it one byte.
        blocks.push(Block{b.address, b.address + (b.size ? b.size : 1), next_chunk, b.callsite, kUnreached,
                          b.fork_gen >= gen});
      });
      std::sort(blocks.data, blocks.data + blocks.size, [](const Block& a, const Block& b) { return a.start < b.start; });
      uintptr_t lo = blocks.size ? blocks.data[0].start : 0, hi = 0;
      for (uint64_t i = 0; i < blocks.size; ++i) hi = blocks.data[i].end > hi ? blocks.data[i].end : hi;
      Marker m{blocks, stack, maps, lo, hi};
      uint64_t tls = static_tls_bytes();
      dl_iterate_phdr(on_writable_segment, &m);
      scan_current_thread(m, tls);
      for (uint32_t i = 0; i < paused && i < kMaxThreads; ++i) {
        const PausedThread& t = g_paused[i];
        if (!t.acked.load(std::memory_order_acquire)) continue;
        m.scan_root(reinterpret_cast<uintptr_t>(t.regs), reinterpret_cast<uintptr_t>(t.regs + NGREG));
        scan_thread(m, t.sp, t.tp, tls);
      }
      uint64_t reached = 0;
      for (uint64_t i = 0; i < blocks.size; ++i) reached += blocks.data[i].state == kReachable;
      classify(m);
      tally(blocks);
      if (env_get("LIBLEAK_DEBUG")) {
        char line[200];
        size_t k = fmt_str(line, sizeof line, 0, "scan: blocks ");
        k = fmt_u64(line, sizeof line, k, blocks.size);
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
  }
  resume_threads();
  if (sig > 0) sigaction(sig, &old, nullptr);
  return ok;
}

}  // namespace libleak
