// Pausing every other thread for the reachability scan; see pause.h. The handler runs in
// the paused threads: async-signal-safe, no allocation, errno kept.
#include "scan/pause.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/sys.h"

namespace libleak {

namespace {

constexpr int kMaxThreads = 4096;
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
uint32_t pause_threads(int sig, pid_t skip) {
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  pid_t self = pid_t(syscall(SYS_gettid)), pid = getpid();
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

struct sigaction g_old_action;
int g_signal = -1;

}  // namespace

bool pause_other_threads(pid_t skip_tid, uint32_t* paused) {
  *paused = 0;
  if (!g_paused) g_paused = static_cast<PausedThread*>(sys_map(sizeof(PausedThread) * kMaxThreads));
  if (!g_paused) return false;
  g_signal = pick_signal(&g_old_action);
  if (g_signal > 0) {
    struct sigaction sa {};
    sa.sa_sigaction = on_pause_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(g_signal, &sa, nullptr);
  }
  // Only slots handed out since the last reset can be set (a late handler of an earlier scan also
  // counts in g_next_slot): clearing all kMaxThreads would fault in ~200 pages nobody else uses.
  uint32_t dirty = g_next_slot.exchange(0);
  for (uint32_t i = 0; i < dirty && i < kMaxThreads; ++i) g_paused[i].acked.store(0, std::memory_order_relaxed);
  g_release.store(0);
  *paused = g_signal > 0 ? pause_threads(g_signal, skip_tid) : 0;
  if (*paused > kMaxThreads) *paused = kMaxThreads;
  return true;
}

const PausedThread* paused_thread(uint32_t i) {
  // Acquire: pairs with the handler's release, so its registers and stack pointer are visible.
  return i < kMaxThreads && g_paused[i].acked.load(std::memory_order_acquire) ? &g_paused[i] : nullptr;
}

void resume_other_threads() {
  resume_threads();
  if (g_signal > 0) sigaction(g_signal, &g_old_action, nullptr);
  g_signal = -1;
}

}  // namespace libleak
