// The trace's section encoders; see sections.h. Writer thread only, allocation-free.
#include "trace/sections.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/config.h"
#include "libleak/trace_format.h"
#include "python/frames.h"
#include "recorder/marks.h"
#include "recorder/state.h"
#include "recorder/timeline.h"
#include "stacks/modules.h"
#include "trace/aggregate.h"

namespace libleak {

namespace t = trace;

void write_process(FileSink& out, const WriteRequest& req, const ProcessInfo& info) {
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
  p.start_time_ns = info.start_realtime_ns;
  p.write_time_ns = now_realtime_ns();
  p.exit_kind = req.exit_kind;
  p.exit_code = req.exit_code;
  p.flags = info.flags;
  p.max_depth = config().depth;
  p.epoch_ms = config().epoch_ms;
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

void write_tree(FileSink& out, const Plan& p) {
  if (!p.tree) return;
  const StackTree& native = writer_state().native;
  const StackTree& python = writer_state().python;
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
    if (i % 4096 == 0 && writer_state().give_up()) break;
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
  uint32_t top[kTopSeries];
  uint32_t ntop = top_series(p, top);
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
  uint32_t n = g_callsites.count();
  const uint64_t* acc = live_after_marks(n, marks);
  if (!acc) return;
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

}  // namespace libleak
