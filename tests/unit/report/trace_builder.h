// Test-only trace writer: builds trace bytes from plain structs so reader tests can state exact
// inputs. Fills the derived fields (sizes, counts, depth, cmdline_bytes) unless told not to, so a
// test can also produce deliberately inconsistent traces.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <zlib.h>

#include "libleak/trace_format.h"

namespace libleak::test {

struct ModuleSpec {
  trace::ModuleRecord record{};
  std::string path;
  std::vector<uint8_t> build_id;
};

struct CallsiteSpec {
  trace::CallsiteRecord record{};
  std::vector<uint64_t> frames;
  // Raw kCallsiteTreeFrames: this leaf (node index + 1) is written as is, with record.depth as
  // given and `frames` ignored; for damage that TraceSpec::stack_tree would not produce.
  std::optional<uint64_t> tree_leaf;
};

struct TimelineSpec {
  uint64_t interval_ms = 100;
  std::vector<uint64_t> total;
  std::vector<std::pair<uint64_t, std::vector<uint64_t>>> series;  // stack hash, samples
};

struct PythonFrameSpec {
  uint32_t native_index = UINT32_MAX;
  int32_t line = 0;
  std::string file;
  std::string function;
};

// The kPython section: strings are pooled into the blob (offset 0 is the empty string).
struct PythonSpec {
  std::vector<std::pair<uint64_t, std::vector<PythonFrameSpec>>> stacks;  // stack hash, frames
  std::vector<trace::PythonStackRecord> tree_stacks{};  // raw records written after `stacks`
};

// Raw kStackTree nodes (parent = index + 1, 0 for a root). Nodes that TraceSpec::stack_tree adds
// come after these.
struct StackTreeSpec {
  std::vector<trace::NativeNode> native;
  std::vector<std::pair<PythonFrameSpec, uint32_t>> python;  // frame, parent
};

struct MarkSpec {
  uint64_t time_ns = 0;
  uint32_t epoch = 0;
  std::string label;
};

struct MarksSpec {
  std::vector<MarkSpec> marks;
  std::vector<trace::MarkLiveRecord> live;
};

struct TraceSpec {
  uint32_t version = trace::kVersion;
  trace::ProcessRecord process{};
  std::vector<std::string> command;
  std::vector<ModuleSpec> modules;
  std::vector<CallsiteSpec> callsites;
  std::optional<TimelineSpec> timeline;
  std::optional<trace::StatsRecord> stats;
  std::optional<MarksSpec> marks;
  std::optional<PythonSpec> python;
  std::optional<StackTreeSpec> tree;
  bool stack_tree = false;  // store callsite frames and Python stacks in kStackTree, as libleak.so does
  std::vector<std::pair<uint32_t, std::vector<std::byte>>> extra_sections;  // e.g. unknown types
  bool fill_derived = true;  // compute depth, path_len, argc, cmdline_bytes from the vectors
  bool with_process = true;
  bool compress = false;  // store every section zlib-compressed (kSectionZlib)
};

inline TraceSpec basic_spec() {
  TraceSpec s;
  s.process.pid = 1234;
  s.process.ppid = 1;
  s.process.exit_kind = trace::kExitNormal;
  s.process.flags = trace::kFlagScanDone;
  s.process.max_depth = 64;
  s.process.epoch_ms = 100;
  s.process.epoch_count = 20;
  s.command = {"./prog", "--flag"};
  return s;
}

inline CallsiteSpec callsite(uint64_t hash, uint64_t live_blocks, uint64_t live_bytes,
                             std::vector<uint64_t> frames = {0x1000}) {
  CallsiteSpec c;
  c.record.stack_hash = hash;
  c.record.total_allocs = live_blocks;
  c.record.total_bytes = live_bytes;
  c.record.live_blocks = live_blocks;
  c.record.live_bytes = live_bytes;
  c.record.peak_live_bytes = live_bytes;
  c.frames = std::move(frames);
  return c;
}

class ByteWriter {
 public:
  template <typename T>
  void put(const T& v) {
    raw(&v, sizeof v);
  }
  void raw(const void* p, size_t n) {
    auto* b = static_cast<const std::byte*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
  void pad8() {
    while (bytes.size() % 8) bytes.push_back(std::byte{0});
  }
  std::vector<std::byte> bytes;
};

// Builds a stack tree the way the writer does: each distinct (parent, frame) is one node, added
// outermost first, so a parent always precedes its children.
class TreeBuilder {
 public:
  explicit TreeBuilder(StackTreeSpec raw) : tree(std::move(raw)) {}

  uint64_t add_native(const std::vector<uint64_t>& frames) {
    uint32_t parent = 0;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      auto [at, fresh] = native_.try_emplace({parent, *it}, static_cast<uint32_t>(tree.native.size() + 1));
      if (fresh) tree.native.push_back({*it, parent, 0});
      parent = at->second;
    }
    return parent;
  }

  uint32_t add_python(const std::vector<PythonFrameSpec>& frames) {
    uint32_t parent = 0;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      auto [at, fresh] = python_.try_emplace({parent, it->native_index, it->line, it->file, it->function},
                                             static_cast<uint32_t>(tree.python.size() + 1));
      if (fresh) tree.python.emplace_back(*it, parent);
      parent = at->second;
    }
    return parent;
  }

  StackTreeSpec tree;

 private:
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> native_;
  std::map<std::tuple<uint32_t, uint32_t, int32_t, std::string, std::string>, uint32_t> python_;
};

inline std::vector<std::byte> build_trace(TraceSpec s) {
  std::vector<std::pair<uint32_t, std::vector<std::byte>>> sections;
  TreeBuilder tree(s.tree.value_or(StackTreeSpec{}));
  // Python strings, shared by the kPython stacks and the tree's Python nodes.
  std::string blob(1, '\0');
  auto offset = [&blob](const std::string& text) -> uint32_t {
    if (text.empty()) return 0;
    size_t at = blob.find(text + '\0');
    if (at != std::string::npos) return static_cast<uint32_t>(at);
    at = blob.size();
    blob += text + '\0';
    return static_cast<uint32_t>(at);
  };
  if (s.with_process) {
    std::string cmdline;
    for (const auto& a : s.command) cmdline += a + '\0';
    if (s.fill_derived) {
      s.process.argc = static_cast<uint32_t>(s.command.size());
      s.process.cmdline_bytes = static_cast<uint32_t>(cmdline.size());
    }
    ByteWriter w;
    w.put(s.process);
    w.raw(cmdline.data(), cmdline.size());
    sections.emplace_back(trace::kProcess, std::move(w.bytes));
  }
  if (!s.modules.empty()) {
    ByteWriter w;
    for (auto& m : s.modules) {
      if (s.fill_derived) {
        m.record.path_len = static_cast<uint32_t>(m.path.size());
        m.record.build_id_len = static_cast<uint32_t>(m.build_id.size());
      }
      w.put(m.record);
      w.raw(m.path.data(), m.path.size());
      w.raw(m.build_id.data(), m.build_id.size());
      w.pad8();
    }
    sections.emplace_back(trace::kModules, std::move(w.bytes));
  }
  ByteWriter callsites;
  for (auto& c : s.callsites) {
    if (c.tree_leaf) {
      c.record.flags |= trace::kCallsiteTreeFrames;
      callsites.put(c.record);
      callsites.put(*c.tree_leaf);
      continue;
    }
    if (s.fill_derived) c.record.depth = static_cast<uint32_t>(c.frames.size());
    if (s.stack_tree) {
      c.record.flags |= trace::kCallsiteTreeFrames;
      callsites.put(c.record);
      callsites.put(tree.add_native(c.frames));
    } else {
      callsites.put(c.record);
      callsites.raw(c.frames.data(), c.frames.size() * 8);
    }
  }
  ByteWriter python_stacks;
  if (s.python) {
    for (const auto& [hash, stack] : s.python->stacks) {
      uint32_t leaf = s.stack_tree ? tree.add_python(stack) : 0;
      python_stacks.put(trace::PythonStackRecord{hash, static_cast<uint32_t>(stack.size()), leaf});
      if (leaf) continue;
      for (const auto& f : stack) {
        python_stacks.put(trace::PythonFrameRecord{f.native_index, f.line, offset(f.file), offset(f.function)});
      }
    }
    for (const auto& r : s.python->tree_stacks) python_stacks.put(r);
  }
  if (s.tree || s.stack_tree) {
    ByteWriter w;
    w.put(trace::StackTreeHeader{static_cast<uint32_t>(tree.tree.native.size()),
                                 static_cast<uint32_t>(tree.tree.python.size())});
    for (const auto& n : tree.tree.native) w.put(n);
    for (const auto& [f, parent] : tree.tree.python) {
      w.put(trace::PythonNode{{f.native_index, f.line, offset(f.file), offset(f.function)}, parent, 0});
    }
    sections.emplace_back(trace::kStackTree, std::move(w.bytes));
  }
  if (!s.callsites.empty()) sections.emplace_back(trace::kCallsites, std::move(callsites.bytes));
  if (s.timeline) {
    ByteWriter w;
    trace::TimelineHeader h{s.timeline->interval_ms, static_cast<uint32_t>(s.timeline->total.size()),
                            static_cast<uint32_t>(s.timeline->series.size())};
    w.put(h);
    w.raw(s.timeline->total.data(), s.timeline->total.size() * 8);
    for (const auto& [hash, values] : s.timeline->series) {
      w.put(trace::SeriesRecord{hash});
      w.raw(values.data(), values.size() * 8);
    }
    sections.emplace_back(trace::kTimeline, std::move(w.bytes));
  }
  if (s.stats) {
    ByteWriter w;
    w.put(*s.stats);
    sections.emplace_back(trace::kStats, std::move(w.bytes));
  }
  if (s.marks) {
    ByteWriter w;
    w.put(trace::MarksHeader{static_cast<uint32_t>(s.marks->marks.size()),
                             static_cast<uint32_t>(s.marks->live.size())});
    for (const auto& m : s.marks->marks) {
      trace::MarkRecord r{};
      r.time_ns = m.time_ns;
      r.epoch = m.epoch;
      r.label_len = static_cast<uint32_t>(std::min(m.label.size(), sizeof r.label));
      std::memcpy(r.label, m.label.data(), r.label_len);
      w.put(r);
    }
    for (const auto& l : s.marks->live) w.put(l);
    sections.emplace_back(trace::kMarks, std::move(w.bytes));
  }
  if (s.python) {
    ByteWriter w;
    w.put(trace::PythonHeader{static_cast<uint32_t>(s.python->stacks.size() + s.python->tree_stacks.size()),
                              static_cast<uint32_t>(blob.size())});
    w.raw(blob.data(), blob.size());
    w.pad8();
    w.raw(python_stacks.bytes.data(), python_stacks.bytes.size());
    sections.emplace_back(trace::kPython, std::move(w.bytes));
  }
  for (auto& e : s.extra_sections) sections.push_back(e);

  ByteWriter out;
  trace::FileHeader h{};
  std::memcpy(h.magic, trace::kMagic, sizeof h.magic);
  h.version = s.version;
  h.header_size = sizeof h;
  h.section_count = static_cast<uint32_t>(sections.size());
  out.put(h);
  for (const auto& [type, payload] : sections) {
    if (s.compress) {
      uLongf len = compressBound(payload.size());
      std::vector<std::byte> z(8 + len);
      uint64_t raw_size = payload.size();
      std::memcpy(z.data(), &raw_size, 8);
      compress(reinterpret_cast<Bytef*>(z.data() + 8), &len,
               reinterpret_cast<const Bytef*>(payload.data()), payload.size());
      z.resize(8 + len);
      out.put(trace::SectionHeader{type, trace::kSectionZlib, z.size()});
      out.raw(z.data(), z.size());
    } else {
      out.put(trace::SectionHeader{type, 0, payload.size()});
      out.raw(payload.data(), payload.size());
    }
    out.pad8();
  }
  uint64_t size = out.bytes.size();
  std::memcpy(out.bytes.data() + offsetof(trace::FileHeader, file_size), &size, sizeof size);
  return out.bytes;
}

}  // namespace libleak::test
