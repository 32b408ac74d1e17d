// Trace serialisation. Builds the file through a small mmap'd buffer with write(2), back-patches
// section sizes with pwrite(2), then renames the temporary file over the final name.
// The writer's memory (stack trees, per-callsite arrays, buffers) stays mapped from one write to
// the next, and the stack trees grow by the callsites that are new since the last write.
#include "trace_writer.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "file_sink.h"
#include "libleak/trace_format.h"
#include "marks.h"
#include "modules.h"
#include "python_frames.h"
#include "recorder.h"
#include "stack_tree.h"
#include "timeline.h"
#include "writer_scratch.h"

namespace libleak {

namespace t = trace;

namespace {

std::atomic<bool> g_writing{false};
// Set by a writer that must wait (exit, signal, snapshot): the periodic write in progress gives
// up at its next check instead of finishing a trace the waiting write replaces anyway.
std::atomic<bool> g_interrupt{false};
std::atomic<uint32_t> g_flags{0};
uint64_t g_start_realtime_ns = 0;

// Everything below is touched only by the thread holding g_writing.
struct WriterState {
  FileSink sink;
  StackTree native{1}, python{2};
  WriterScratch native_leaf, python_leaf;  // tree leaf per callsite, kept from write to write
  WriterScratch included, born, marks;     // per-write arrays, zeroed by the write that uses them
  bool periodic = false;                   // the write in progress may give up
  bool gave_up = false;

  // Drops the trees and leaves: the next write rebuilds them.
  void reset_trees() {
    native.reset();
    python.reset();
    if (native_leaf.bytes) __builtin_memset(native_leaf.data, 0, native_leaf.bytes);
    if (python_leaf.bytes) __builtin_memset(python_leaf.data, 0, python_leaf.bytes);
  }
  template <class Fn>
  void each_scratch(Fn&& fn) {
    for (WriterScratch* w : {&native_leaf, &python_leaf, &included, &born, &marks}) fn(*w);
  }
};
constinit WriterState g_state;

// Checked between sections and every few thousand callsites: a periodic write interrupted by a
// waiting writer stops within a few milliseconds, its temporary file never renamed.
bool give_up() {
  if (g_state.periodic && !g_state.gave_up && g_interrupt.load(std::memory_order_relaxed)) g_state.gave_up = true;
  return g_state.gave_up;
}

void write_process(FileSink& out, const WriteRequest& req) {
  char cmdline[8192];
  uint32_t len = 0, argc = 0;
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n;
    while (len < sizeof cmdline && (n = ::read(fd, cmdline + len, sizeof cmdline - len)) > 0) len += uint32_t(n);
    ::close(fd);
  }
  if (len && cmdline[len - 1] != 0) cmdline[len - 1] = 0;  // truncated: keep it NUL-terminated
  for (uint32_t i = 0; i < len; ++i) argc += cmdline[i] == 0;
  t::ProcessRecord p{};
  p.pid = uint64_t(getpid());
  p.ppid = uint64_t(getppid());
  p.start_time_ns = g_start_realtime_ns;
  p.write_time_ns = now_realtime_ns();
  p.exit_kind = req.exit_kind;
  p.exit_code = req.exit_code;
  p.flags = g_flags.load(std::memory_order_relaxed);
  p.max_depth = g_config.depth;
  p.epoch_ms = g_config.epoch_ms;
  p.epoch_count = epochs_recorded();
  p.argc = argc;
  p.cmdline_bytes = len;
  uint64_t at = out.begin(t::kProcess);
  out.put(&p, sizeof p);
  out.put(cmdline, len);
  out.end(at, t::kProcess);
}

void write_modules(FileSink& out) {
  uint64_t at = out.begin(t::kModules);
  uint32_t n = modules_count();
  for (uint32_t i = 0; i < n; ++i) {
    const ModuleEntry& m = module_at(i);
    t::ModuleRecord r{m.load_bias, m.start, m.end, m.load_gen, m.unload_gen.load(std::memory_order_acquire),
                      m.path_len, m.build_id_len};
    out.put(&r, sizeof r);
    out.put(m.path, m.path_len);
    out.put(m.build_id, m.build_id_len);
    out.pad8();
  }
  out.end(at, t::kModules);
}

// Live blocks by birth bucket for every callsite, in one pass over the live table.
uint32_t* born_histograms(uint32_t callsites, uint32_t epoch_count) {
  auto* born = g_state.born.zeroed<uint32_t>(uint64_t(callsites) * t::kBornBuckets * sizeof(uint32_t));
  if (!born) return nullptr;
  g_live.for_each([&](const LiveBlock& b) {
    if (b.callsite >= callsites || b.fork_gen < g_fork_gen) return;  // inherited: the parent reports it
    uint64_t e = b.epoch < epoch_count ? b.epoch : epoch_count - 1;
    born[b.callsite * t::kBornBuckets + e * t::kBornBuckets / epoch_count]++;
  });
  return born;
}

bool has_data(const Callsite& c) {
  return c.published.load(std::memory_order_acquire) && c.shards_used.load(std::memory_order_relaxed);
}

// What one write covers, fixed when it starts: a callsite published, or first allocated from,
// while the write runs waits for the next write, so that every section lists the same callsites
// (a callsite counted in a section's header but missing from its records would make the trace
// unreadable). Leaves are indexed by callsite id (0: no frames, or frames written inline).
struct Plan {
  uint32_t n = 0;  // callsites [0, n)
  const uint8_t* included = nullptr;
  const uint32_t* native_leaf = nullptr;
  const uint32_t* python_leaf = nullptr;
  bool tree = false;  // every included callsite's frames are in the stack trees
};

// Adds the stacks of the callsites that are new since the last write to the trees: callsites never
// change their frames and, once they have data, keep it (until a fork resets the trees).
bool plan_write(Plan& p) {
  WriterState& s = g_state;
  uint32_t n = g_callsites.count();
  if (!s.included.reserve(n)) return false;
  auto* included = s.included.as<uint8_t>();
  bool tree = s.native_leaf.reserve(uint64_t(n) * sizeof(uint32_t)) && s.python_leaf.reserve(uint64_t(n) * sizeof(uint32_t));
  auto* native_leaf = s.native_leaf.as<uint32_t>();
  auto* python_leaf = s.python_leaf.as<uint32_t>();
  static_assert(sizeof(PythonFrame) == 2 * sizeof(uint64_t));
  for (uint32_t i = 0; i < n; ++i) {
    if (i % 4096 == 0 && give_up()) return false;
    const Callsite& c = g_callsites.entry(i);
    included[i] = has_data(c);
    if (!included[i] || !tree) continue;
    if (!native_leaf[i] && c.depth) native_leaf[i] = s.native.add_stack(g_callsites.frames(c), c.depth);
    const PythonFrame* py = python_frames_of(c);
    if (py && !python_leaf[i]) python_leaf[i] = s.python.add_stack(reinterpret_cast<const uint64_t*>(py), c.py_count);
    tree = (native_leaf[i] || !c.depth) && (python_leaf[i] || !py);
  }
  if (!tree) s.reset_trees();  // out of memory: this write stores frames inline, the next one retries
  p = Plan{n, included, native_leaf, python_leaf, tree};
  return true;
}

void write_tree(FileSink& out, const Plan& p) {
  if (!p.tree) return;
  const StackTree& native = g_state.native;
  const StackTree& python = g_state.python;
  uint64_t at = out.begin_zlib(t::kStackTree);
  t::StackTreeHeader h{native.size(), python.size()};
  out.put(&h, sizeof h);
  for (uint32_t i = 0; i < native.size(); ++i) {
    t::NativeNode node{native.frame(i)[0], native.parent(i), 0};
    out.put(&node, sizeof node);
  }
  for (uint32_t i = 0; i < python.size(); ++i) {
    t::PythonNode node{};
    static_assert(sizeof node.frame == sizeof(PythonFrame));
    __builtin_memcpy(&node.frame, python.frame(i), sizeof node.frame);
    node.parent = python.parent(i);
    out.put(&node, sizeof node);
  }
  out.end_zlib(at, t::kStackTree);
}

void write_callsites(FileSink& out, const Plan& p) {
  uint32_t n = p.n;
  uint32_t epoch_count = epochs_recorded();
  uint32_t* born = born_histograms(n, epoch_count);
  uint64_t at = out.begin_zlib(t::kCallsites);
  for (uint32_t i = 0; i < n; ++i) {
    if (i % 4096 == 0 && give_up()) break;
    const Callsite& c = g_callsites.entry(i);
    if (!p.included[i]) continue;
    t::CallsiteRecord r{};
    r.stack_hash = c.hash;
    r.total_allocs = c.allocations();
    r.total_bytes = c.allocated_bytes();
    int64_t live_blocks = c.live_blocks();
    int64_t live_bytes = c.live_bytes();
    r.live_blocks = live_blocks > 0 ? uint64_t(live_blocks) : 0;
    r.live_bytes = live_bytes > 0 ? uint64_t(live_bytes) : 0;
    r.peak_live_bytes = uint64_t(c.peak());
    r.unreachable_blocks = c.unreachable_blocks;
    r.unreachable_bytes = c.unreachable_bytes;
    r.indirect_blocks = c.indirect_blocks;
    r.indirect_bytes = c.indirect_bytes;
    if (born)
      for (uint32_t b = 0; b < t::kBornBuckets; ++b) r.born[b] = born[i * t::kBornBuckets + b];
    r.depth = c.depth;
    r.domain = c.domain;
    r.module_gen = c.module_gen;
    r.flags = p.tree ? uint32_t(t::kCallsiteTreeFrames) : 0u;
    out.put(&r, sizeof r);
    if (p.tree) {
      uint64_t leaf = p.native_leaf[i];
      out.put(&leaf, sizeof leaf);
    } else {
      out.put(g_callsites.frames(c), uint64_t(c.depth) * sizeof(uint64_t));
    }
  }
  out.end_zlib(at, t::kCallsites);
}

void write_timeline(FileSink& out, const Plan& p) {
  uint32_t samples = timeline_samples();
  if (!samples) return;
  // Series for the callsites holding the most live bytes now: enough to plot what grows.
  constexpr uint32_t kTop = 32;
  uint32_t top[kTop];
  uint64_t top_bytes[kTop];
  uint32_t ntop = 0;
  for (uint32_t i = 0; i < p.n; ++i) {
    if (!p.included[i]) continue;
    int64_t v = g_callsites.entry(i).live_bytes();
    if (v <= 0 || !timeline_series(i)) continue;
    uint32_t pos = ntop < kTop ? ntop++ : kTop;
    if (pos == kTop) {
      if (uint64_t(v) <= top_bytes[kTop - 1]) continue;
      pos = kTop - 1;
    }
    while (pos > 0 && top_bytes[pos - 1] < uint64_t(v)) {
      top[pos] = top[pos - 1];
      top_bytes[pos] = top_bytes[pos - 1];
      --pos;
    }
    top[pos] = i;
    top_bytes[pos] = uint64_t(v);
  }
  uint64_t at = out.begin(t::kTimeline);
  t::TimelineHeader h{timeline_interval_ms(), samples, ntop};
  out.put(&h, sizeof h);
  out.put(timeline_total(), uint64_t(samples) * sizeof(uint64_t));
  for (uint32_t k = 0; k < ntop; ++k) {
    t::SeriesRecord s{g_callsites.entry(top[k]).hash};
    out.put(&s, sizeof s);
    out.put(timeline_series(top[k]), uint64_t(samples) * sizeof(uint64_t));
  }
  out.end(at, t::kTimeline);
}

void write_python(FileSink& out, const Plan& p) {
  if (!python_frames_enabled()) return;
  uint32_t stacks = 0;
  for (uint32_t i = 0; i < p.n; ++i) stacks += p.included[i] && python_frames_of(g_callsites.entry(i));
  uint32_t blob_bytes;
  const char* blob = python_strings(&blob_bytes);
  uint64_t at = out.begin_zlib(t::kPython);
  t::PythonHeader h{stacks, blob_bytes};
  out.put(&h, sizeof h);
  out.put(blob, blob_bytes);
  out.pad8();
  for (uint32_t i = 0; i < p.n; ++i) {
    const Callsite& c = g_callsites.entry(i);
    const PythonFrame* frames = python_frames_of(c);
    if (!p.included[i] || !frames) continue;
    t::PythonStackRecord r{c.hash, c.py_count, p.tree ? p.python_leaf[i] : 0};
    out.put(&r, sizeof r);
    static_assert(sizeof(PythonFrame) == sizeof(t::PythonFrameRecord));
    if (!r.tree_leaf) out.put(frames, uint64_t(c.py_count) * sizeof(PythonFrame));
  }
  out.end_zlib(at, t::kPython);
}

void write_stats(FileSink& out) {
  t::StatsRecord s{};
  recorder_publish_live();  // the writing thread's batched change counts toward the peak
  uint32_t n = g_callsites.count();
  int64_t live_blocks = 0, live_bytes = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Callsite& c = g_callsites.entry(i);
    if (!c.published.load(std::memory_order_acquire)) continue;
    s.allocations += c.allocations();
    s.frees += c.frees();
    live_blocks += c.live_blocks();
    live_bytes += c.live_bytes();
  }
  s.unknown_frees = g_counters.unknown_frees.load(std::memory_order_relaxed);
  s.dropped_callsites = g_counters.dropped_callsites.load(std::memory_order_relaxed);
  s.dropped_blocks = g_counters.dropped_blocks.load(std::memory_order_relaxed);
  s.reentrant = g_counters.reentrant.load(std::memory_order_relaxed);
  s.peak_live_bytes = uint64_t(g_counters.peak_live_bytes.load(std::memory_order_relaxed));
  s.live_bytes = live_bytes > 0 ? uint64_t(live_bytes) : 0;
  s.live_blocks = live_blocks > 0 ? uint64_t(live_blocks) : 0;
  s.scan_roots_bytes = g_counters.scan_roots_bytes.load(std::memory_order_relaxed);
  s.write_failures = g_counters.write_failures.load(std::memory_order_relaxed);
  uint64_t at = out.begin(t::kStats);
  out.put(&s, sizeof s);
  out.end(at, t::kStats);
}

void write_marks(FileSink& out) {
  uint32_t marks = marks_count();
  if (!marks) return;
  // Per callsite and mark: live blocks born at or after the mark's epoch, in one table pass.
  uint32_t n = g_callsites.count();
  auto* acc = g_state.marks.zeroed<uint64_t>(uint64_t(n) * marks * 2 * sizeof(uint64_t));
  if (!acc) return;
  g_live.for_each([&](const LiveBlock& b) {
    if (b.callsite >= n || b.fork_gen < g_fork_gen) return;
    for (uint32_t m = 0; m < marks; ++m) {
      if (b.epoch < mark_at(m).epoch) continue;
      uint64_t* slot = acc + (uint64_t(b.callsite) * marks + m) * 2;
      slot[0] += 1;
      slot[1] += b.size;
    }
  });
  uint32_t live = 0;
  for (uint64_t i = 0; i < uint64_t(n) * marks; ++i) live += acc[2 * i] != 0;
  uint64_t at = out.begin(t::kMarks);
  t::MarksHeader h{marks, live};
  out.put(&h, sizeof h);
  for (uint32_t m = 0; m < marks; ++m) {
    const Mark& mk = mark_at(m);
    t::MarkRecord r{};
    r.time_ns = mk.time_ns;
    r.epoch = mk.epoch;
    r.label_len = mk.label_len;
    for (uint32_t k = 0; k < mk.label_len && k < sizeof r.label; ++k) r.label[k] = mk.label[k];
    out.put(&r, sizeof r);
  }
  for (uint32_t c = 0; c < n; ++c) {
    for (uint32_t m = 0; m < marks; ++m) {
      const uint64_t* slot = acc + (uint64_t(c) * marks + m) * 2;
      if (!slot[0]) continue;
      t::MarkLiveRecord r{g_callsites.entry(c).hash, m, 0, slot[0], slot[1]};
      out.put(&r, sizeof r);
    }
  }
  out.end(at, t::kMarks);
}

}  // namespace

void trace_output_path(char* out, uint64_t cap) {
  // "%p" expands to the pid; descendants of the first traced process that share a fixed name
  // get ".<pid>" appended so no process overwrites another's trace.
  uint64_t pid = uint64_t(getpid());
  size_t n = 0;
  bool has_pid = false;
  for (const char* s = g_config.output; *s && n + 24 < cap; ++s) {
    if (s[0] == '%' && s[1] == 'p') {
      n = fmt_u64(out, cap, n, pid);
      has_pid = true;
      ++s;
    } else {
      out[n++] = *s;
    }
  }
  out[n] = 0;
  if (!has_pid && !trace_is_root_process()) {
    n = fmt_str(out, cap, n, ".");
    fmt_u64(out, cap, n, pid);
  }
}

void trace_set_flags(uint32_t flags) { g_flags.fetch_or(flags, std::memory_order_relaxed); }

void trace_reset_after_fork() {
  // The child writes its own trace of the callsites it uses itself: the trees start over. A write
  // the parent had in progress may have left the writer's memory half updated: dropped unread.
  WriterState& s = g_state;
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
  g_interrupt.store(false, std::memory_order_relaxed);
  g_writing.store(false, std::memory_order_relaxed);
  trace_set_flags(t::kFlagForkChild);
}

// Python's atexit, on the background thread: the trees take in the callsites that are new since
// the last write, and the writer's memory is mapped and touched, while the interpreter finalizes
// on the main thread. The final write then only adds what finalization itself allocated.
void trace_prepare() {
  if (!recorder_ready() || g_writing.exchange(true, std::memory_order_acquire)) return;
  WriterState& s = g_state;
  s.periodic = true;  // the final write interrupts it like a periodic write
  s.gave_up = false;
  Plan plan;
  if (plan_write(plan) && !give_up() && s.sink.warm())
    s.born.zeroed<uint32_t>(uint64_t(plan.n) * t::kBornBuckets * sizeof(uint32_t));
  s.periodic = false;
  g_writing.store(false, std::memory_order_release);
}

void trace_interrupt_periodic() { g_interrupt.store(true, std::memory_order_relaxed); }

bool trace_write(const WriteRequest& req) {
  if (!recorder_ready()) return false;
  if (!g_start_realtime_ns) g_start_realtime_ns = now_realtime_ns();
  // One writer at a time; never taken on the malloc path.
  // Waiting is bounded: a fatal signal may land on the thread that holds the writer.
  for (int spins = 0; g_writing.exchange(true, std::memory_order_acquire); ++spins) {
    if (!req.wait || spins > 20000) return false;
    trace_interrupt_periodic();
    usleep(100);
  }
  WriterState& s = g_state;
  if (req.wait) g_interrupt.store(false, std::memory_order_relaxed);
  s.periodic = !req.wait;
  s.gave_up = false;
  char path[600], tmp[640];
  trace_output_path(path, sizeof path);
  size_t n = fmt_str(tmp, sizeof tmp, 0, path);
  n = fmt_str(tmp, sizeof tmp, n, ".tmp.");
  fmt_u64(tmp, sizeof tmp, n, uint64_t(getpid()));
  unlink(tmp);  // a stale temporary from an earlier write of this pid
  FileSink& out = s.sink;
  bool ok = out.open(tmp);
  if (ok) {
    t::FileHeader h{};
    for (int i = 0; i < 8; ++i) h.magic[i] = t::kMagic[i];
    h.version = t::kVersion;
    h.header_size = sizeof h;
    out.put(&h, sizeof h);
    write_process(out, req);
    if (req.exit_kind != t::kExitSignal) modules_refresh();  // the loader lock is not safe in a handler
    write_modules(out);
    Plan plan;
    ok = plan_write(plan);
    if (ok) write_tree(out, plan);
    if (ok && !give_up()) write_callsites(out, plan);
    if (ok && !give_up()) {
      write_timeline(out, plan);
      write_stats(out);
      write_marks(out);
      write_python(out, plan);
    }
    ok = ok && !give_up();  // the last check: past it the trace is completed and renamed
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
    if (!s.gave_up && g_counters.write_failures.fetch_add(1, std::memory_order_relaxed) == 0)
      log_line("cannot write the trace to ", path, " (the program continues; later writes will retry)");
    if (s.gave_up && env_get("LIBLEAK_DEBUG")) log_line("periodic write interrupted: a waiting write follows");
  }
  s.periodic = false;
  g_writing.store(false, std::memory_order_release);
  return ok;
}

void trace_writer_init() { g_start_realtime_ns = now_realtime_ns(); }

}  // namespace libleak
