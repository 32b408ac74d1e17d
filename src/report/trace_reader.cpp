// Trace parsing: one function per section over a bounds-checked Cursor (trace_input.h).
// Invariants: no allocation is sized by a count from the file until that count has been checked
// against the bytes that remain, and every such allocation is charged to the trace's Budget, so
// a hostile trace meets an Error before it costs more than kReaderMemoryPerByte per file byte.
#include "report/trace_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "report/error.h"
#include "report/trace_input.h"
#include "report/trace_stacks.h"

namespace libleak {
namespace {

std::string to_string(std::span<const std::byte> bytes) {
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!s.empty() && s.back() == '\0') s.pop_back();  // tolerate NUL-terminated paths
  return s;
}

// What a std::string of `size` characters allocates beyond its own object (none up to the
// small-string capacity of libstdc++).
uint64_t string_heap(uint64_t size) { return size > 15 ? size + 1 : 0; }

void parse_process(Cursor& c, Budget& budget, Trace& out) {
  out.process = c.take<trace::ProcessRecord>();
  if (out.process.exit_kind > trace::kExitFast) {
    throw Error(fmt::format("unknown exit kind {}", out.process.exit_kind));
  }
  // argc is informational only: a writer may cut a long command line, the bytes are the truth.
  auto raw = c.need(out.process.cmdline_bytes);
  budget.charge(string_heap(raw.size()), "process section");
  std::string all = to_string(raw);
  size_t start = 0;
  while (start < all.size()) {
    size_t end = std::min(all.find('\0', start), all.size());
    budget.charge(string_heap(end - start), "process section");
    push_charged(out.command, all.substr(start, end - start), budget, "process section");
    start = end + 1;
  }
  budget.release(string_heap(raw.size()));
}

void parse_modules(Cursor& c, Budget& budget, Trace& out) {
  while (!c.empty()) {
    Module m;
    m.record = c.take<trace::ModuleRecord>();
    if (m.record.start > m.record.end) {
      throw Error(fmt::format("module {} has start 0x{:x} above end 0x{:x}", out.modules.size(),
                              m.record.start, m.record.end));
    }
    auto path = c.need(m.record.path_len);
    budget.charge(string_heap(path.size()), "modules section");
    m.path = to_string(path);
    auto id = c.need(m.record.build_id_len);
    budget.charge(id.size(), "modules section");
    auto* first = reinterpret_cast<const uint8_t*>(id.data());
    m.build_id.assign(first, first + id.size());
    c.align8();
    push_charged(out.modules, std::move(m), budget, "modules section");
  }
}

// A section as stored: read through a fresh Cursor each time it is opened.
struct Section {
  std::span<const std::byte> payload;
  bool zlib;
  uint32_t index;
  const char* what;

  Cursor open(Budget& budget) const {
    return zlib ? Cursor(payload, what, index, budget) : Cursor(payload, what);
  }
};

// The callsites section states no count: a first pass counts the records (and inline frames) so
// that the callsites, 208 bytes each, are allocated once at their exact size.
void parse_callsites(const Section& section, Budget& budget, Trace& out, PendingStacks& pending) {
  uint64_t count = 0, inline_frames = 0;
  {
    Cursor c = section.open(budget);
    while (!c.empty()) {
      auto r = c.take<trace::CallsiteRecord>();
      bool tree = r.flags & trace::kCallsiteTreeFrames;
      if (!tree) inline_frames += r.depth;
      c.skip(tree ? 8 : uint64_t{r.depth} * 8);
      ++count;
    }
  }
  reserve_charged(out.callsites, count, budget, "callsites section");
  reserve_charged(pending.callsite_leaf, count, budget, "callsites section");
  reserve_charged(pending.inline_native, inline_frames, budget, "callsites section");
  Cursor c = section.open(budget);
  while (!c.empty()) {
    Callsite cs;
    cs.record = c.take<trace::CallsiteRecord>();
    const auto& r = cs.record;
    if (r.depth > kMaxDepth) {
      throw Error(fmt::format("callsite {} has depth {} (more than {})", out.callsites.size(),
                              r.depth, kMaxDepth));
    }
    if (r.domain >= trace::kDomainCount) {
      throw Error(fmt::format("callsite {} has unknown domain {}", out.callsites.size(), r.domain));
    }
    if (r.unreachable_blocks + r.indirect_blocks > r.live_blocks ||
        r.unreachable_blocks > r.live_blocks || r.indirect_blocks > r.live_blocks ||
        r.unreachable_bytes > r.live_bytes || r.indirect_bytes > r.live_bytes ||
        r.unreachable_bytes + r.indirect_bytes > r.live_bytes) {
      throw Error(fmt::format("callsite {} has more unreachable than live blocks or bytes",
                              out.callsites.size()));
    }
    if (r.flags & ~uint32_t{trace::kCallsiteTreeFrames}) {
      throw Error(fmt::format("callsite {} has unknown flags 0x{:x}", out.callsites.size(), r.flags));
    }
    if (r.flags & trace::kCallsiteTreeFrames) {
      pending.callsite_leaf.push_back(c.take<uint64_t>());
    } else {
      // Reserved by the first pass: no reallocation here.
      size_t at = pending.inline_native.size();
      pending.callsite_leaf.push_back(at);
      auto raw = c.need(uint64_t{r.depth} * 8);
      pending.inline_native.resize(at + r.depth);
      if (!raw.empty()) std::memcpy(pending.inline_native.data() + at, raw.data(), raw.size());
    }
    out.callsites.push_back(cs);
  }
  c.finish();
}

std::vector<uint64_t> take_u64s(Cursor& c, uint32_t n, Budget& budget) {
  auto raw = c.need(uint64_t{n} * 8);
  budget.charge(raw.size(), "timeline section");
  std::vector<uint64_t> v(n);
  if (!raw.empty()) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

void parse_timeline(Cursor& c, Budget& budget, Trace& out) {
  auto h = c.take<trace::TimelineHeader>();
  Timeline t;
  t.interval_ms = h.interval_ms;
  t.total = take_u64s(c, h.samples, budget);
  // Check the whole series block up front so series_count cannot drive a huge reserve().
  uint64_t per_series = 8 + uint64_t{h.samples} * 8;
  if (h.series_count > c.remaining() / per_series) {
    throw Error(fmt::format("timeline section is truncated: {} series of {} samples do not fit",
                            h.series_count, h.samples));
  }
  reserve_charged(t.series, h.series_count, budget, "timeline section");
  for (uint32_t i = 0; i < h.series_count; ++i) {
    TimelineSeries s;
    s.stack_hash = c.take<trace::SeriesRecord>().stack_hash;
    s.values = take_u64s(c, h.samples, budget);
    t.series.push_back(std::move(s));
  }
  out.timeline = std::move(t);
}

// Nodes go straight into the trace's StackStore; trace_stacks.cpp checks their parents.
void parse_stack_tree(Cursor& c, Budget& budget, PendingStacks& pending) {
  auto h = c.take<trace::StackTreeHeader>();
  StackStore& store = *pending.store;
  if (h.native_nodes > c.remaining() / sizeof(trace::NativeNode)) {
    throw Error(fmt::format("stack tree section is truncated: {} native nodes do not fit", h.native_nodes));
  }
  reserve_charged(store.native_ip, h.native_nodes, budget, "stack tree section");
  reserve_charged(store.native_parent, h.native_nodes, budget, "stack tree section");
  for (uint32_t i = 0; i < h.native_nodes; ++i) {
    auto n = c.take<trace::NativeNode>();
    store.native_ip.push_back(n.ip);
    store.native_parent.push_back(n.parent);
  }
  if (h.python_nodes > c.remaining() / sizeof(trace::PythonNode)) {
    throw Error(fmt::format("stack tree section is truncated: {} python nodes do not fit", h.python_nodes));
  }
  reserve_charged(store.python, h.python_nodes, budget, "stack tree section");
  for (uint32_t i = 0; i < h.python_nodes; ++i) {
    auto n = c.take<trace::PythonNode>();
    store.python.push_back({n.frame.native_index, n.frame.line, n.frame.file, n.frame.function, n.parent});
  }
}

void parse_marks(Cursor& c, Budget& budget, Trace& out, PendingStacks& pending) {
  auto h = c.take<trace::MarksHeader>();
  if (h.mark_count > c.remaining() / sizeof(trace::MarkRecord)) {
    throw Error(fmt::format("marks section is truncated: {} marks do not fit", h.mark_count));
  }
  reserve_charged(out.marks, h.mark_count, budget, "marks section");
  for (uint32_t i = 0; i < h.mark_count; ++i) {
    auto r = c.take<trace::MarkRecord>();
    if (r.label_len > sizeof r.label) {
      throw Error(fmt::format("mark {} has label length {} (more than {})", i, r.label_len, sizeof r.label));
    }
    Mark m;
    m.time_ns = r.time_ns;
    m.epoch = r.epoch;
    m.label.assign(r.label, strnlen(r.label, r.label_len));
    budget.charge(string_heap(m.label.size()), "marks section");
    out.marks.push_back(std::move(m));
  }
  if (h.live_count > c.remaining() / sizeof(trace::MarkLiveRecord)) {
    throw Error(fmt::format("marks section is truncated: {} live records do not fit", h.live_count));
  }
  reserve_charged(pending.mark_live, h.live_count, budget, "marks section");
  for (uint32_t i = 0; i < h.live_count; ++i) {
    auto r = c.take<trace::MarkLiveRecord>();
    if (r.mark >= h.mark_count) {
      throw Error(fmt::format("mark live record {} refers to mark {} of {}", i, r.mark, h.mark_count));
    }
    pending.mark_live.push_back(r);
  }
}

void parse_python(Cursor& c, Budget& budget, PendingStacks& pending) {
  auto h = c.take<trace::PythonHeader>();
  std::string& blob = pending.store->python_strings;
  auto raw = c.need(h.strings_bytes);
  budget.charge(string_heap(raw.size()), "python section");
  blob.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
  size_t last_nul = blob.rfind('\0');
  c.align8();
  if (h.stack_count > c.remaining() / sizeof(trace::PythonStackRecord)) {
    throw Error(fmt::format("python section is truncated: {} stacks do not fit", h.stack_count));
  }
  reserve_charged(pending.python_stacks, h.stack_count, budget, "python section");
  for (uint32_t i = 0; i < h.stack_count; ++i) {
    auto r = c.take<trace::PythonStackRecord>();
    if (r.count > kMaxDepth) {
      throw Error(fmt::format("python stack {} has {} frames (more than {})", i, r.count, kMaxDepth));
    }
    auto first = static_cast<uint32_t>(pending.inline_python.size());
    PendingPythonStack stack{r.stack_hash, r.count, r.tree_leaf, first, 0};
    if (!r.tree_leaf && r.count > c.remaining() / sizeof(trace::PythonFrameRecord)) {
      throw Error(fmt::format("python section is truncated: stack {} has {} frames", i, r.count));
    }
    for (uint32_t f = 0; !r.tree_leaf && f < r.count; ++f) {
      auto fr = c.take<trace::PythonFrameRecord>();
      check_blob_offset(blob, last_nul, fr.file, "python stack", i, "file name");
      check_blob_offset(blob, last_nul, fr.function, "python stack", i, "function name");
      if (fr.native_index != UINT32_MAX) stack.max_native = std::max(stack.max_native, fr.native_index + 1);
      push_charged(pending.inline_python, PythonNodeInfo{fr.native_index, fr.line, fr.file, fr.function, 0},
                   budget, "python section");
    }
    pending.python_stacks.push_back(stack);
  }
}

// The file header, checked against the bytes: magic, version, sizes.
trace::FileHeader check_header(std::span<const std::byte> bytes) {
  if (bytes.size() < sizeof(trace::kMagic) ||
      std::memcmp(bytes.data(), trace::kMagic, sizeof(trace::kMagic)) != 0) {
    throw Error("not a libleak trace (bad magic)");
  }
  if (bytes.size() < sizeof(trace::FileHeader)) {
    throw Error(fmt::format("truncated: {} bytes, the header alone needs {}", bytes.size(),
                            sizeof(trace::FileHeader)));
  }
  auto header = Cursor(bytes, "file").take<trace::FileHeader>();
  if (header.version > trace::kVersion) {
    throw Error(fmt::format("trace version {} is newer than this leakreport supports ({})",
                            header.version, trace::kVersion));
  }
  if (header.version < 1) throw Error(fmt::format("unsupported trace version {}", header.version));
  if (header.file_size != bytes.size()) {
    throw Error(fmt::format("truncated or damaged: header says {} bytes, file has {}",
                            header.file_size, bytes.size()));
  }
  if (header.header_size < sizeof(trace::FileHeader) || header.header_size > bytes.size()) {
    throw Error(fmt::format("bad header size {}", header.header_size));
  }
  return header;
}

}  // namespace

Trace parse_trace(std::span<const std::byte> bytes) {
  auto header = check_header(bytes);
  static constexpr const char* kNames[] = {"", "process section", "modules section", "callsites section",
                                           "timeline section", "stats section", "marks section",
                                           "python section", "stack tree section"};
  Budget budget(bytes.size());
  Cursor sections(bytes.subspan(header.header_size), "section table");
  Trace out;
  PendingStacks pending;
  uint32_t seen = 0;  // bit per known section type: at most one of each
  for (uint32_t i = 0; i < header.section_count; ++i) {
    auto sh = sections.take<trace::SectionHeader>();
    if (sh.size > sections.remaining()) {
      throw Error(fmt::format("section {} (type {}) claims {} bytes but only {} remain", i, sh.type,
                              sh.size, sections.remaining()));
    }
    auto payload = sections.need(sh.size);
    sections.align8();
    if (sh.type < trace::kProcess || sh.type > trace::kStackTree) continue;  // newer section: skip
    if (sh.flags & ~uint32_t{trace::kSectionZlib}) {
      throw Error(fmt::format("section {} (type {}) has unknown flags 0x{:x}", i, sh.type, sh.flags));
    }
    // Before inflating: each type is inflated at most once, which bounds inflating in all.
    if (seen & (1u << sh.type)) throw Error(fmt::format("duplicate section of type {}", sh.type));
    seen |= 1u << sh.type;
    Section section{payload, (sh.flags & trace::kSectionZlib) != 0, i, kNames[sh.type]};
    if (sh.type == trace::kCallsites) {
      parse_callsites(section, budget, out, pending);
      continue;
    }
    Cursor c = section.open(budget);
    switch (sh.type) {
      case trace::kProcess: parse_process(c, budget, out); break;
      case trace::kModules: parse_modules(c, budget, out); break;
      case trace::kTimeline: parse_timeline(c, budget, out); break;
      case trace::kStats: out.stats = c.take<trace::StatsRecord>(); break;
      case trace::kMarks: parse_marks(c, budget, out, pending); break;
      case trace::kPython: parse_python(c, budget, pending); break;
      case trace::kStackTree: parse_stack_tree(c, budget, pending); break;
    }
    c.finish();
  }
  if (!(seen & (1u << trace::kProcess))) throw Error("no process section");
  attach_stacks(pending, out, budget, bytes.size());
  return out;
}

}  // namespace libleak
