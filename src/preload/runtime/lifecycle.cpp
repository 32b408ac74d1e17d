// Start-up, the background thread, fork, and the final write at exit.
// The constructor runs before the program's own initialisers; the final write runs after the
// program's exit handlers and destructors, so what is still live then was never freed.
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/lifecycle.h"

#include "base/config.h"
#include "base/guard.h"
#include "base/sys.h"
#include "hooks/hooks.h"
#include "libleak/trace_format.h"
#include "python/finalize.h"
#include "python/frames.h"
#include "recorder/state.h"
#include "recorder/timeline.h"
#include "scan/scan.h"
#include "stacks/modules.h"
#include "trace/writer.h"

namespace libleak {

namespace {

pid_t g_pid = 0;         // getpid() as of start-up or the last fork: differs in a vfork child
bool g_root = true;      // started by the user, not an exec'd descendant
bool g_active = false;   // this process records and writes a trace
std::atomic<uint32_t> g_thread_wake{0};
std::atomic<bool> g_thread_stop{false};
std::atomic<bool> g_thread_running{false};
std::atomic<bool> g_snapshot_requested{false};
std::atomic<bool> g_prepare_requested{false};
std::atomic<bool> g_finished{false};
std::atomic<pid_t> g_background_tid{0};

long futex(std::atomic<uint32_t>* addr, int op, uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), op, val, timeout, nullptr, 0);
}

uint32_t tick_ms() { return config().epoch_ms < 1000 ? config().epoch_ms : 1000; }

void* background_main(void*) {
  HookGuard guard;  // this thread's own allocations (none expected) are never recorded
  prctl(PR_SET_NAME, "libleak", 0, 0, 0);
  g_background_tid.store(pid_t(syscall(SYS_gettid)), std::memory_order_relaxed);
  uint64_t last_write = now_monotonic_ns();
  uint64_t interval_ns = uint64_t(config().interval_ms) * 1000000u;
  while (!g_thread_stop.load(std::memory_order_acquire)) {
    uint32_t ms = tick_ms();
    timespec ts{time_t(ms / 1000), long(ms % 1000) * 1000000L};
    uint32_t seen = g_thread_wake.load(std::memory_order_acquire);
    futex(&g_thread_wake, FUTEX_WAIT_PRIVATE, seen, &ts);
    if (g_thread_stop.load(std::memory_order_acquire)) break;
    if (g_prepare_requested.exchange(false)) {  // not a tick: no sample, no periodic write
      trace_prepare();
      continue;
    }
    modules_refresh();
    timeline_sample();
    uint64_t now = now_monotonic_ns();
    // A periodic write of a large trace costs CPU: space writes at least 20x their own duration
    // apart, so crash safety never takes more than ~5% of a core.
    bool periodic = config().interval_ms && now - last_write >= interval_ns;
    if (g_snapshot_requested.exchange(false) || periodic) {
      trace_write({trace::kExitRunning, 0, false});
      uint64_t took = now_monotonic_ns() - now;
      interval_ns = uint64_t(config().interval_ms) * 1000000u;
      if (took * 20 > interval_ns) interval_ns = took * 20;
      last_write = now_monotonic_ns();
    }
  }
  g_thread_running.store(false, std::memory_order_release);
  return nullptr;
}

void start_background_thread() {
  HookGuard guard;  // the thread's stack and TLS are libleak's, not the program's
  if (!g_active || (!config().interval_ms && !config().snapshot_signal && config().epoch_ms == 0)) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  // The thread must never run the program's signal handlers: block everything while creating it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t tid;
  g_thread_stop.store(false);
  g_thread_running.store(true);
  if (pthread_create(&tid, &attr, background_main, nullptr) != 0) g_thread_running.store(false);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
}

void wake_background_thread() {
  g_thread_wake.fetch_add(1, std::memory_order_release);
  futex(&g_thread_wake, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

void stop_background_thread() {
  if (!g_thread_running.load(std::memory_order_acquire)) return;
  g_thread_stop.store(true, std::memory_order_release);
  trace_interrupt_periodic();  // a periodic write in progress gives up: the final write follows
  wake_background_thread();
  // Wait (bounded) for its last iteration, so the final write does not race a timeline sample.
  for (int i = 0; i < 2000 && g_thread_running.load(std::memory_order_acquire); ++i) usleep(100);
}

void on_snapshot_signal(int) {
  g_snapshot_requested.store(true, std::memory_order_relaxed);
  wake_background_thread();
}

void after_fork_child() {
  if (!g_active) return;
  if (config().follow == kFollowNone) {
    g_active = false;
    return;
  }
  g_pid = getpid();
  modules_after_fork_child();
  recorder_after_fork_child();
  trace_reset_after_fork();
  g_thread_running.store(false);
  start_background_thread();
}

// Python objects come from pymalloc arenas unless PYTHONMALLOC=malloc: make them visible.
bool is_python_interpreter() {
  char exe[512];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = 0;
  return str_starts_with(path_basename(exe), "python");
}

void decide_root() {
  // The first traced process names itself in the environment; descendants see another pid.
  const char* root = env_get("LIBLEAK_ROOT_PID");
  char self[24];
  fmt_u64(self, sizeof self, 0, uint64_t(getpid()));
  g_root = !root || str_eq(root, self);  // same pid: a wrapper that exec'd the real program
  g_active = g_root || config().follow == kFollowAll;
}

// After the recorder is ready, so the environment's blocks are tracked like the program's: an
// untracked block that points at tracked ones would hide them from the exit scan.
// A relative output path is exported made absolute, so descendants started in another directory
// write next to the root's trace.
void export_root_pid() {
  if (!g_root || env_get("LIBLEAK_ROOT_PID")) return;
  char self[24];
  fmt_u64(self, sizeof self, 0, uint64_t(getpid()));
  setenv("LIBLEAK_ROOT_PID", self, 1);
  if (config().output_relative) setenv("LIBLEAK_OUTPUT", config().output, 1);
}

// Fatal signals whose default action ends the process: libleak writes the trace, restores the
// default action and lets the signal take its course. Only installed where the program has not
// installed a handler of its own (a later handler of the program simply replaces ours).
constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGHUP, SIGQUIT};

void on_fatal_signal(int sig, siginfo_t*, void*) {
  int saved = errno;
  write_final(trace::kExitSignal, sig, false);
  signal(sig, SIG_DFL);
  errno = saved;
  // Faults re-execute the faulting instruction and die with the default action; signals sent by
  // kill or raise are delivered again once this handler returns (the signal is unblocked then).
  if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE) raise(sig);
}

void install_fatal_handlers() {
  for (int sig : kFatalSignals) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
    struct sigaction sa {};
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
}

// The scan pauses every thread but this one: libleak's own neither holds program pointers nor
// runs program code.
pid_t background_thread_tid() {
  return g_thread_running.load(std::memory_order_acquire) ? g_background_tid.load(std::memory_order_relaxed) : 0;
}

// Called from Python's atexit (python/finalize.h): the interpreter still holds all its state.
void python_exit_scan() {
  if (!g_active || !config().scan || getpid() != g_pid) return;
  HookGuard guard;
  scan_for_leaks(background_thread_tid());
  // The interpreter now finalizes for a while on this thread: the background thread meanwhile
  // gets the final write's stack trees and memory ready.
  if (g_thread_running.load(std::memory_order_acquire)) {
    g_prepare_requested.store(true, std::memory_order_relaxed);
    wake_background_thread();
  }
}

}  // namespace

bool libleak_active() { return g_active; }

void write_final(uint32_t exit_kind, int32_t code, bool scan) {
  // A vfork child shares the parent's memory and runs no fork handlers: it must not touch state.
  if (!g_active || getpid() != g_pid || g_finished.exchange(true)) return;
  recorder_freeze_epochs();
  stop_background_thread();
  HookGuard guard;
  timeline_sample();
  if (scan_recount_kept() || (scan && config().scan && scan_for_leaks(background_thread_tid())))
    trace_set_flags(trace::kFlagScanDone);
  trace_write({exit_kind, code, true});
}

// The final write happens in an on_exit handler: it receives the exit status (also when main
// returns), and, registered by a preloaded constructor before libc registers _dl_fini, it runs
// after every atexit handler and every destructor of the program and its libraries.
bool g_on_exit_registered = false;
void on_process_exit(int status, void*) { write_final(trace::kExitNormal, status, true); }

__attribute__((constructor(101))) void libleak_start() {
  config_load();
  hooks_init();
  g_pid = getpid();
  decide_root();
  if (!g_active) return;
  recorder_init();
  if (!recorder_ready()) {
    g_active = false;
    return;
  }
  trace_writer_init(g_root);
  timeline_init(g_callsites.capacity(), tick_ms());
  export_root_pid();
  if (config().python_malloc && is_python_interpreter() && !env_get("PYTHONMALLOC")) {
    setenv("PYTHONMALLOC", "malloc", 1);
    trace_set_flags(trace::kFlagPythonMallocForced);
  }
  // dlsym's error strings for absent Python symbols stay tracked (an untracked block freed later
  // would count as an unknown free); their stacks pass through libleak.so, which the built-in
  // suppression "libleak.so$" hides from reports.
  python_watch_finalize(python_exit_scan);
  if (config().python_frames) python_frames_init();
  pthread_atfork(nullptr, nullptr, after_fork_child);
  g_on_exit_registered = on_exit(on_process_exit, nullptr) == 0;
  if (config().snapshot_signal) {
    struct sigaction sa {};
    sa.sa_handler = on_snapshot_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(config().snapshot_signal, &sa, nullptr);
  }
  if (config().crash_handlers) install_fatal_handlers();
  start_background_thread();
}

__attribute__((destructor(101))) void libleak_finish() {
  if (!g_on_exit_registered) write_final(trace::kExitNormal, 0, true);
}

}  // namespace libleak
