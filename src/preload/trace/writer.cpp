// The trace writer's protocol: one writer at a time (never taken on the malloc path), periodic
// writes that give up when a waiting writer arrives, and a file that appears only complete: it is
// built under a temporary name (sections.cpp encodes it) and renamed over the final one. May run
// on the background thread, at exit, in a fatal-signal handler or from the public snapshot API.
#include "trace/writer.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "base/config.h"
#include "libleak/trace_format.h"
#include "recorder/state.h"
#include "stacks/modules.h"
#include "trace/path.h"
#include "trace/sections.h"

namespace libleak {

namespace t = trace;

namespace {

std::atomic<bool> g_writing{false};
std::atomic<uint32_t> g_flags{0};
uint64_t g_start_realtime_ns = 0;

// Takes the writer. Waiting is bounded: a fatal signal may land on the thread that holds it.
bool acquire(bool wait) {
  for (int spins = 0; g_writing.exchange(true, std::memory_order_acquire); ++spins) {
    if (!wait || spins > 20000) return false;
    trace_interrupt_periodic();
    usleep(100);
  }
  return true;
}

void release() { g_writing.store(false, std::memory_order_release); }

// Every section, in order; false when the write gave up or ran out of memory.
bool write_sections(FileSink& out, const WriteRequest& req) {
  WriterState& s = writer_state();
  write_process(out, req, ProcessInfo{g_start_realtime_ns, g_flags.load(std::memory_order_relaxed)});
  if (req.exit_kind != t::kExitSignal) modules_refresh();  // the loader lock is not safe in a handler
  write_modules(out);
  Plan plan;
  if (!plan_write(plan)) return false;
  write_tree(out, plan);
  if (s.give_up()) return false;
  write_callsites(out, plan);
  if (s.give_up()) return false;
  write_timeline(out, plan);
  write_stats(out);
  write_marks(out);
  write_python(out, plan);
  return !s.give_up();  // the last check: past it the trace is completed and renamed
}

void report_failure(const char* path) {
  WriterState& s = writer_state();
  if (!s.gave_up && g_counters.write_failures.fetch_add(1, std::memory_order_relaxed) == 0)
    log_line("cannot write the trace to ", path, " (the program continues; later writes will retry)");
  if (s.gave_up && config().debug) log_line("periodic write interrupted: a waiting write follows");
}

}  // namespace

void trace_set_flags(uint32_t flags) { g_flags.fetch_or(flags, std::memory_order_relaxed); }

void trace_reset_after_fork() {
  // The child writes its own trace of the callsites it uses itself: the trees start over. A write
  // the parent had in progress may have left the writer's memory half updated: dropped unread.
  WriterState& s = writer_state();
  if (g_writing.load(std::memory_order_relaxed)) {
    s.sink.forget();
    s.native.forget();
    s.python.forget();
    s.each_scratch([](WriterScratch& w) { w.forget(); });
  } else {
    s.native.release();
    s.python.release();
    s.native_leaf.release();
    s.python_leaf.release();
  }
  s.interrupt.store(false, std::memory_order_relaxed);
  g_writing.store(false, std::memory_order_relaxed);
  trace_path_set_root(false);
  trace_set_flags(t::kFlagForkChild);
}

// Python's atexit, on the background thread: the trees take in the callsites that are new since
// the last write, and the writer's memory is mapped and touched, while the interpreter finalizes
// on the main thread. The final write then only adds what finalization itself allocated.
void trace_prepare() {
  if (!recorder_ready() || g_writing.exchange(true, std::memory_order_acquire)) return;
  WriterState& s = writer_state();
  s.periodic = true;  // the final write interrupts it like a periodic write
  s.gave_up = false;
  Plan plan;
  if (plan_write(plan) && !s.give_up() && s.sink.warm())
    s.born.zeroed<uint32_t>(uint64_t(plan.n) * t::kBornBuckets * sizeof(uint32_t));
  s.periodic = false;
  release();
}

void trace_interrupt_periodic() { writer_state().interrupt.store(true, std::memory_order_relaxed); }

bool trace_write(const WriteRequest& req) {
  if (!recorder_ready()) return false;
  if (!g_start_realtime_ns) g_start_realtime_ns = now_realtime_ns();
  if (!acquire(req.wait)) return false;
  WriterState& s = writer_state();
  if (req.wait) s.interrupt.store(false, std::memory_order_relaxed);
  s.periodic = !req.wait;
  s.gave_up = false;
  char path[PATH_MAX + 32], tmp[PATH_MAX + 64];
  trace_output_path(path, sizeof path);
  trace_temporary_path(path, tmp, sizeof tmp);
  unlink(tmp);  // a stale temporary from an earlier write of this pid
  FileSink& out = s.sink;
  bool ok = out.open(tmp);
  if (ok) {
    t::FileHeader h{};
    for (int i = 0; i < 8; ++i) h.magic[i] = t::kMagic[i];
    h.version = t::kVersion;
    h.header_size = sizeof h;
    out.put(&h, sizeof h);
    ok = write_sections(out, req);
    if (ok) {
      h.file_size = out.offset();
      h.section_count = out.sections();
      out.patch(0, &h, sizeof h);
      ok = out.close() && rename(tmp, path) == 0;
    }
  }
  if (!ok) {
    out.discard();
    unlink(tmp);
    report_failure(path);
  }
  s.periodic = false;
  release();
  return ok;
}

void trace_writer_init(bool root) {
  g_start_realtime_ns = now_realtime_ns();
  trace_path_set_root(root);
}

}  // namespace libleak
