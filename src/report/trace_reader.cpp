// Trace parsing: a bounds-checked cursor over the file bytes, one function per section.
// Invariant: no allocation is sized by a count from the file until that count has been checked
// against the bytes that remain, so a hostile trace cannot make us allocate more than its size.
#include "report/trace_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>
#include <zlib.h>

#include "report/error.h"

namespace libleak {
namespace {

// Reads fixed-width records from a byte range; throws Error instead of reading past the end.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const char* what) : bytes_(bytes), what_(what) {}

  size_t remaining() const { return bytes_.size() - pos_; }
  bool empty() const { return remaining() == 0; }

  template <typename T>
  T take() {
    T value;
    std::memcpy(&value, need(sizeof(T)).data(), sizeof(T));
    return value;
  }

  std::span<const std::byte> need(uint64_t n) {
    if (n > remaining()) {
      throw Error(fmt::format("{} is truncated: needs {} bytes at offset {}, has {}", what_, n,
                              pos_, remaining()));
    }
    auto out = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }

  // Skips padding to the next multiple of 8 (relative to the range start), clipped to the end.
  void align8() { pos_ = std::min(bytes_.size(), (pos_ + 7) & ~size_t{7}); }

 private:
  std::span<const std::byte> bytes_;
  const char* what_;
  size_t pos_ = 0;
};

std::string to_string(std::span<const std::byte> bytes) {
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!s.empty() && s.back() == '\0') s.pop_back();  // tolerate NUL-terminated paths
  return s;
}

void parse_process(std::span<const std::byte> payload, Trace& out) {
  Cursor c(payload, "process section");
  out.process = c.take<trace::ProcessRecord>();
  if (out.process.exit_kind > trace::kExitFast) {
    throw Error(fmt::format("unknown exit kind {}", out.process.exit_kind));
  }
  auto cmdline = c.need(out.process.cmdline_bytes);
  // argc is informational only: a writer may cut a long command line, the bytes are the truth.
  std::string all = to_string(cmdline);
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    out.command.push_back(all.substr(start, end - start));
    start = end + 1;
  }
}

void parse_modules(std::span<const std::byte> payload, Trace& out) {
  Cursor c(payload, "modules section");
  while (!c.empty()) {
    Module m;
    m.record = c.take<trace::ModuleRecord>();
    if (m.record.start > m.record.end) {
      throw Error(fmt::format("module {} has start 0x{:x} above end 0x{:x}", out.modules.size(),
                              m.record.start, m.record.end));
    }
    m.path = to_string(c.need(m.record.path_len));
    auto id = c.need(m.record.build_id_len);
    auto* first = reinterpret_cast<const uint8_t*>(id.data());
    m.build_id.assign(first, first + id.size());
    c.align8();
    out.modules.push_back(std::move(m));
  }
}

// Sections that refer to callsites by stack hash, or to the stack tree; attached once every
// section is read, so the reader does not depend on the order in which the writer emitted them.
struct PythonTreeStack {
  uint64_t stack_hash;
  uint32_t count;
  uint32_t leaf;
};
struct Pending {
  std::vector<std::pair<uint64_t, std::vector<PythonFrameInfo>>> python;
  std::vector<trace::MarkLiveRecord> mark_live;
  std::vector<std::pair<size_t, uint64_t>> native_leaves;  // callsite index, leaf node + 1
  std::vector<PythonTreeStack> python_leaves;
  std::shared_ptr<const std::string> python_blob;  // also kept in Trace::python_strings
  std::vector<trace::NativeNode> native_nodes;
  std::vector<trace::PythonNode> python_nodes;
};

void parse_callsites(std::span<const std::byte> payload, Trace& out, Pending& pending) {
  Cursor c(payload, "callsites section");
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
      pending.native_leaves.emplace_back(out.callsites.size(), c.take<uint64_t>());
    } else {
      auto raw = c.need(uint64_t{r.depth} * 8);
      cs.frames.resize(r.depth);
      if (!raw.empty()) std::memcpy(cs.frames.data(), raw.data(), raw.size());
    }
    out.callsites.push_back(std::move(cs));
  }
}

std::vector<uint64_t> take_u64s(Cursor& c, uint32_t n) {
  auto raw = c.need(uint64_t{n} * 8);
  std::vector<uint64_t> v(n);
  if (!raw.empty()) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

void parse_timeline(std::span<const std::byte> payload, Trace& out) {
  Cursor c(payload, "timeline section");
  auto h = c.take<trace::TimelineHeader>();
  Timeline t;
  t.interval_ms = h.interval_ms;
  t.total = take_u64s(c, h.samples);
  // Check the whole series block up front so series_count cannot drive a huge reserve().
  uint64_t per_series = 8 + uint64_t{h.samples} * 8;
  if (h.series_count > c.remaining() / per_series) {
    throw Error(fmt::format("timeline section is truncated: {} series of {} samples do not fit",
                            h.series_count, h.samples));
  }
  t.series.reserve(h.series_count);
  for (uint32_t i = 0; i < h.series_count; ++i) {
    TimelineSeries s;
    s.stack_hash = c.take<trace::SeriesRecord>().stack_hash;
    s.values = take_u64s(c, h.samples);
    t.series.push_back(std::move(s));
  }
  out.timeline = std::move(t);
}

void parse_stack_tree(std::span<const std::byte> payload, Pending& pending) {
  Cursor c(payload, "stack tree section");
  auto h = c.take<trace::StackTreeHeader>();
  if (h.native_nodes > c.remaining() / sizeof(trace::NativeNode)) {
    throw Error(fmt::format("stack tree section is truncated: {} native nodes do not fit", h.native_nodes));
  }
  pending.native_nodes.resize(h.native_nodes);
  for (auto& n : pending.native_nodes) n = c.take<trace::NativeNode>();
  if (h.python_nodes > c.remaining() / sizeof(trace::PythonNode)) {
    throw Error(fmt::format("stack tree section is truncated: {} python nodes do not fit", h.python_nodes));
  }
  pending.python_nodes.resize(h.python_nodes);
  for (auto& n : pending.python_nodes) n = c.take<trace::PythonNode>();
}

// The path from node `leaf` (index + 1) to its root: a stack, innermost first. A parent must be an
// earlier node, so every path ends, and its length must be the count the record promised.
// `kind` is "native" or "python", naming the node array in errors.
template <typename Node, typename Fn>
void walk_tree(const std::vector<Node>& nodes, const char* kind, uint64_t leaf, uint32_t count,
               uint64_t hash, Fn&& visit) {
  if (leaf > nodes.size()) {
    throw Error(fmt::format("callsite 0x{:x} starts at {} stack tree node {} of {}", hash, kind, leaf,
                            nodes.size()));
  }
  uint32_t seen = 0;
  for (uint64_t node = leaf; node; node = nodes[node - 1].parent) {
    if (seen == count) {
      throw Error(fmt::format("callsite 0x{:x} has more {} frames in the stack tree than the {} its "
                              "record says", hash, kind, count));
    }
    if (nodes[node - 1].parent >= node) {
      throw Error(fmt::format("{} stack tree node {} has parent {}, not an earlier node", kind, node,
                              nodes[node - 1].parent));
    }
    visit(node, nodes[node - 1]);
    ++seen;
  }
  if (seen != count) {
    throw Error(fmt::format("callsite 0x{:x} has {} {} frames in the stack tree, its record says {}",
                            hash, seen, kind, count));
  }
}

void parse_marks(std::span<const std::byte> payload, Trace& out, Pending& pending) {
  Cursor c(payload, "marks section");
  auto h = c.take<trace::MarksHeader>();
  if (h.mark_count > c.remaining() / sizeof(trace::MarkRecord)) {
    throw Error(fmt::format("marks section is truncated: {} marks do not fit", h.mark_count));
  }
  for (uint32_t i = 0; i < h.mark_count; ++i) {
    auto r = c.take<trace::MarkRecord>();
    if (r.label_len > sizeof r.label) {
      throw Error(fmt::format("mark {} has label length {} (more than {})", i, r.label_len, sizeof r.label));
    }
    Mark m;
    m.time_ns = r.time_ns;
    m.epoch = r.epoch;
    m.label.assign(r.label, strnlen(r.label, r.label_len));
    out.marks.push_back(std::move(m));
  }
  if (h.live_count > c.remaining() / sizeof(trace::MarkLiveRecord)) {
    throw Error(fmt::format("marks section is truncated: {} live records do not fit", h.live_count));
  }
  for (uint32_t i = 0; i < h.live_count; ++i) {
    auto r = c.take<trace::MarkLiveRecord>();
    if (r.mark >= h.mark_count) {
      throw Error(fmt::format("mark live record {} refers to mark {} of {}", i, r.mark, h.mark_count));
    }
    pending.mark_live.push_back(r);
  }
}

// A NUL-terminated string at `offset` of the Python string blob; the record that refers to it is
// `owner` `index` ("python stack 3") in errors.
std::string_view blob_string(std::string_view blob, uint32_t offset, const char* owner, uint64_t index,
                             const char* what) {
  size_t end = offset < blob.size() ? blob.find('\0', offset) : std::string_view::npos;
  if (end == std::string_view::npos) {
    throw Error(fmt::format("{} {} has a {} at offset {} outside the {}-byte string blob "
                            "or not NUL-terminated", owner, index, what, offset, blob.size()));
  }
  return blob.substr(offset, end - offset);
}

void parse_python(std::span<const std::byte> payload, Trace& out, Pending& pending) {
  Cursor c(payload, "python section");
  auto h = c.take<trace::PythonHeader>();
  auto raw = c.need(h.strings_bytes);
  pending.python_blob = std::make_shared<const std::string>(reinterpret_cast<const char*>(raw.data()), raw.size());
  out.python_strings.push_back(pending.python_blob);
  std::string_view blob = *pending.python_blob;
  c.align8();
  if (h.stack_count > c.remaining() / sizeof(trace::PythonStackRecord)) {
    throw Error(fmt::format("python section is truncated: {} stacks do not fit", h.stack_count));
  }
  for (uint32_t i = 0; i < h.stack_count; ++i) {
    auto r = c.take<trace::PythonStackRecord>();
    if (r.count > kMaxDepth) {
      throw Error(fmt::format("python stack {} has {} frames (more than {})", i, r.count, kMaxDepth));
    }
    if (r.tree_leaf) {
      pending.python_leaves.push_back({r.stack_hash, r.count, r.tree_leaf});
      continue;
    }
    if (r.count > c.remaining() / sizeof(trace::PythonFrameRecord)) {
      throw Error(fmt::format("python section is truncated: stack {} has {} frames", i, r.count));
    }
    std::vector<PythonFrameInfo> frames(r.count);
    for (auto& f : frames) {
      auto fr = c.take<trace::PythonFrameRecord>();
      f.native_index = fr.native_index;
      f.line = fr.line;
      f.file = blob_string(blob, fr.file, "python stack", i, "file name");
      f.function = blob_string(blob, fr.function, "python stack", i, "function name");
    }
    pending.python.emplace_back(r.stack_hash, std::move(frames));
  }
}

void attach_pending(Pending& pending, Trace& out) {
  for (const auto& [index, leaf] : pending.native_leaves) {
    Callsite& cs = out.callsites[index];
    cs.frames.reserve(cs.record.depth);
    walk_tree(pending.native_nodes, "native", leaf, cs.record.depth, cs.record.stack_hash,
              [&](uint64_t, const trace::NativeNode& n) { cs.frames.push_back(n.ip); });
  }
  std::string_view blob = pending.python_blob ? std::string_view(*pending.python_blob) : std::string_view();
  pending.python.reserve(pending.python.size() + pending.python_leaves.size());
  for (const auto& s : pending.python_leaves) {
    if (s.count > kMaxDepth) {
      throw Error(fmt::format("python stack 0x{:x} has {} frames (more than {})", s.stack_hash, s.count, kMaxDepth));
    }
    std::vector<PythonFrameInfo> frames;
    frames.reserve(s.count);
    walk_tree(pending.python_nodes, "python", s.leaf, s.count, s.stack_hash,
              [&](uint64_t node, const trace::PythonNode& n) {
                const char* owner = "python stack tree node";
                frames.push_back({n.frame.native_index, n.frame.line,
                                  blob_string(blob, n.frame.file, owner, node, "file name"),
                                  blob_string(blob, n.frame.function, owner, node, "function name")});
              });
    pending.python.emplace_back(s.stack_hash, std::move(frames));
  }
  std::unordered_map<uint64_t, Callsite*> by_hash;
  for (auto& cs : out.callsites) by_hash.emplace(cs.record.stack_hash, &cs);
  // Records of callsites the trace does not list are dropped: they could only come from a writer
  // that skipped the callsite (no data), and have nothing to attach to.
  for (auto& [hash, frames] : pending.python) {
    auto it = by_hash.find(hash);
    if (it == by_hash.end()) continue;
    Callsite& cs = *it->second;
    if (!cs.python.empty()) throw Error(fmt::format("two python stacks for callsite 0x{:x}", hash));
    for (const auto& f : frames) {
      if (f.native_index != UINT32_MAX && f.native_index >= cs.frames.size()) {
        throw Error(fmt::format("python frame of callsite 0x{:x} refers to native frame {} of {}",
                                hash, f.native_index, cs.frames.size()));
      }
    }
    cs.python = std::move(frames);
  }
  for (const auto& r : pending.mark_live) {
    auto it = by_hash.find(r.stack_hash);
    if (it == by_hash.end()) continue;
    // Not checked against live_blocks: a snapshot of a running process counts the two at
    // slightly different moments, so they may disagree by a few blocks.
    it->second->after_marks.push_back({r.mark, r.blocks, r.bytes});
  }
  for (auto& cs : out.callsites) {
    std::sort(cs.after_marks.begin(), cs.after_marks.end(),
              [](const MarkLive& a, const MarkLive& b) { return a.mark < b.mark; });
    for (size_t i = 1; i < cs.after_marks.size(); ++i) {
      if (cs.after_marks[i].mark == cs.after_marks[i - 1].mark) {
        throw Error(fmt::format("callsite 0x{:x} has two records for mark {}", cs.record.stack_hash,
                                cs.after_marks[i].mark));
      }
    }
  }
}

// A compressed section: uint64 uncompressed size, then a zlib stream. The size is checked
// against zlib's best possible ratio (about 1032:1) before allocating, so a small hostile file
// cannot ask for gigabytes.
std::vector<std::byte> inflate_section(std::span<const std::byte> stored, uint32_t index) {
  Cursor c(stored, "compressed section");
  auto size = c.take<uint64_t>();
  auto stream = c.need(c.remaining());
  constexpr uint64_t kMaxRatio = 1032;
  if (size > (stream.size() + 64) * kMaxRatio) {
    throw Error(fmt::format("section {} claims {} bytes uncompressed from {} compressed", index, size,
                            stream.size()));
  }
  std::vector<std::byte> out(size);
  uLongf out_len = static_cast<uLongf>(size);
  int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &out_len,
                      reinterpret_cast<const Bytef*>(stream.data()), static_cast<uLong>(stream.size()));
  if (rc != Z_OK || out_len != size) {
    throw Error(fmt::format("section {} is damaged: zlib error {} ({} of {} bytes)", index, rc,
                            out_len, size));
  }
  return out;
}

}  // namespace

Trace parse_trace(std::span<const std::byte> bytes) {
  Cursor file(bytes, "file");
  if (bytes.size() < sizeof(trace::kMagic) ||
      std::memcmp(bytes.data(), trace::kMagic, sizeof(trace::kMagic)) != 0) {
    throw Error("not a libleak trace (bad magic)");
  }
  if (bytes.size() < sizeof(trace::FileHeader)) {
    throw Error(fmt::format("truncated: {} bytes, the header alone needs {}", bytes.size(),
                            sizeof(trace::FileHeader)));
  }
  auto header = file.take<trace::FileHeader>();
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

  Cursor sections(bytes.subspan(header.header_size), "section table");
  Trace out;
  std::vector<std::vector<std::byte>> inflated;  // keeps decompressed payloads alive while parsing
  Pending pending;
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
    if (sh.flags & trace::kSectionZlib) {
      inflated.push_back(inflate_section(payload, i));
      payload = inflated.back();
    }
    if (seen & (1u << sh.type)) throw Error(fmt::format("duplicate section of type {}", sh.type));
    seen |= 1u << sh.type;
    switch (sh.type) {
      case trace::kProcess: parse_process(payload, out); break;
      case trace::kModules: parse_modules(payload, out); break;
      case trace::kCallsites: parse_callsites(payload, out, pending); break;
      case trace::kTimeline: parse_timeline(payload, out); break;
      case trace::kStats: {
        Cursor c(payload, "stats section");
        out.stats = c.take<trace::StatsRecord>();
        break;
      }
      case trace::kMarks: parse_marks(payload, out, pending); break;
      case trace::kPython: parse_python(payload, out, pending); break;
      case trace::kStackTree: parse_stack_tree(payload, pending); break;
    }
  }
  if (!(seen & (1u << trace::kProcess))) throw Error("no process section");
  attach_pending(pending, out);
  return out;
}

}  // namespace libleak
