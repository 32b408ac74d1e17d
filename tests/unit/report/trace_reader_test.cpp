// Reader tests: every section round-trips exactly, and every kind of damage is an Error, never a
// crash (run under ASan+UBSan, so out-of-bounds reads fail the test too).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string_view>
#include <fstream>

#include "report/error.h"
#include "report/trace_reader.h"
#include "trace_builder.h"

namespace libleak {
namespace {

using test::basic_spec;
using test::build_trace;
using test::callsite;

test::TraceSpec full_spec() {
  auto s = basic_spec();
  test::ModuleSpec m;
  m.record = {0x400000, 0x401000, 0x402000, 0, UINT32_MAX, 0, 0};
  m.path = "/usr/bin/prog";
  m.build_id = {0xde, 0xad, 0xbe, 0xef, 0x01};
  s.modules.push_back(m);
  m.record.load_bias = 0x7f0000000000;
  m.path = "/lib/libx.so";
  m.build_id = {};
  s.modules.push_back(m);
  auto c = callsite(0xabc, 3, 48, {0x401010, 0x401020, 0x401030});
  c.record.born[5] = 2;
  c.record.unreachable_blocks = 1;
  c.record.unreachable_bytes = 16;
  c.record.domain = trace::kDomainGmp;
  c.record.module_gen = 7;
  s.callsites.push_back(c);
  s.callsites.push_back(callsite(0xdef, 0, 0, {}));
  s.timeline = test::TimelineSpec{250, {1, 2, 3}, {{0xabc, {4, 5, 6}}, {0xdef, {7, 8, 9}}}};
  trace::StatsRecord st{};
  st.allocations = 10;
  st.dropped_blocks = 2;
  st.write_failures = 1;
  s.stats = st;
  s.marks = test::MarksSpec{{{1000, 3, "warm-up"}, {2000, 9, "phase two"}},
                            {{0xabc, 0, 0, 2, 32}, {0xabc, 1, 0, 1, 16}, {0x999, 0, 0, 1, 8}}};
  s.python = test::PythonSpec{{{0xabc,
                                {{2, 12, "/s/a.py", "f"},
                                 {2, 20, "/s/a.py", "Cls.g"},
                                 {UINT32_MAX, 30, "/s/main.py", "<module>"}}}}};
  return s;
}

Trace parse(const std::vector<std::byte>& b) { return parse_trace(b); }

// Stacks are views into the trace's StackStore: copied out here to compare them whole.
std::vector<uint64_t> frames_of(const Callsite& cs) { return {cs.frames.begin(), cs.frames.end()}; }
std::vector<PythonFrameInfo> python_of(const Callsite& cs) { return {cs.python.begin(), cs.python.end()}; }

std::string error_of(const std::vector<std::byte>& b) {
  try {
    parse_trace(b);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TraceReader, RoundTripsEverySection) {
  Trace t = parse(build_trace(full_spec()));
  EXPECT_EQ(t.process.pid, 1234u);
  EXPECT_EQ(t.process.ppid, 1u);
  EXPECT_EQ(t.process.exit_kind, trace::kExitNormal);
  EXPECT_EQ(t.process.epoch_count, 20u);
  EXPECT_EQ(t.command, (std::vector<std::string>{"./prog", "--flag"}));
  ASSERT_EQ(t.modules.size(), 2u);
  EXPECT_EQ(t.modules[0].path, "/usr/bin/prog");
  EXPECT_EQ(t.modules[0].build_id, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef, 0x01}));
  EXPECT_EQ(t.modules[0].record.start, 0x401000u);
  EXPECT_EQ(t.modules[0].record.unload_gen, UINT32_MAX);
  EXPECT_EQ(t.modules[1].path, "/lib/libx.so");
  EXPECT_EQ(t.modules[1].record.load_bias, 0x7f0000000000u);
  EXPECT_TRUE(t.modules[1].build_id.empty());
  ASSERT_EQ(t.callsites.size(), 2u);
  EXPECT_EQ(t.callsites[0].record.stack_hash, 0xabcu);
  EXPECT_EQ(frames_of(t.callsites[0]), (std::vector<uint64_t>{0x401010, 0x401020, 0x401030}));
  EXPECT_EQ(t.callsites[0].record.born[5], 2u);
  EXPECT_EQ(t.callsites[0].record.domain, trace::kDomainGmp);
  EXPECT_EQ(t.callsites[0].record.module_gen, 7u);
  EXPECT_EQ(t.callsites[0].record.unreachable_bytes, 16u);
  EXPECT_TRUE(t.callsites[1].frames.empty());
  ASSERT_TRUE(t.timeline);
  EXPECT_EQ(t.timeline->interval_ms, 250u);
  EXPECT_EQ(t.timeline->total, (std::vector<uint64_t>{1, 2, 3}));
  ASSERT_EQ(t.timeline->series.size(), 2u);
  EXPECT_EQ(t.timeline->series[1].stack_hash, 0xdefu);
  EXPECT_EQ(t.timeline->series[1].values, (std::vector<uint64_t>{7, 8, 9}));
  ASSERT_TRUE(t.stats);
  EXPECT_EQ(t.stats->allocations, 10u);
  EXPECT_EQ(t.stats->dropped_blocks, 2u);
  EXPECT_EQ(t.stats->write_failures, 1u);
  ASSERT_EQ(t.marks.size(), 2u);
  EXPECT_EQ(t.marks[1].label, "phase two");
  EXPECT_EQ(t.marks[1].time_ns, 2000u);
  EXPECT_EQ(t.marks[1].epoch, 9u);
  // The record of callsite 0x999, absent from the trace, has nothing to attach to.
  ASSERT_EQ(t.callsites[0].after_marks.size(), 2u);
  EXPECT_EQ(t.callsites[0].after_marks[0].blocks, 2u);
  EXPECT_EQ(t.callsites[0].after_marks[0].bytes, 32u);
  EXPECT_EQ(t.callsites[0].after_marks[1].mark, 1u);
  EXPECT_EQ(t.callsites[0].after_marks[1].bytes, 16u);
  EXPECT_TRUE(t.callsites[1].after_marks.empty());
  ASSERT_EQ(t.callsites[0].python.size(), 3u);
  EXPECT_EQ(python_of(t.callsites[0])[0].native_index, 2u);
  EXPECT_EQ(python_of(t.callsites[0])[0].file, "/s/a.py");
  EXPECT_EQ(python_of(t.callsites[0])[1].function, "Cls.g");
  EXPECT_EQ(python_of(t.callsites[0])[1].line, 20);
  EXPECT_EQ(python_of(t.callsites[0])[2].native_index, UINT32_MAX);
  EXPECT_EQ(python_of(t.callsites[0])[2].file, "/s/main.py");
  EXPECT_TRUE(t.callsites[1].python.empty());
}

// A kPython section from raw parts, for damage the builder would not produce.
std::vector<std::byte> python_section(std::string_view blob, uint32_t stack_count,
                                      std::vector<trace::PythonFrameRecord> frames, uint64_t hash = 1) {
  test::ByteWriter w;
  w.put(trace::PythonHeader{stack_count, static_cast<uint32_t>(blob.size())});
  w.raw(blob.data(), blob.size());
  w.pad8();
  w.put(trace::PythonStackRecord{hash, static_cast<uint32_t>(frames.size()), 0});
  for (const auto& f : frames) w.put(f);
  return w.bytes;
}

TEST(TraceReader, PythonSectionIsValidated) {
  auto with = [](std::vector<std::byte> section) {
    auto s = basic_spec();
    s.callsites.push_back(callsite(1, 1, 8, {0x1000, 0x2000}));
    s.extra_sections.push_back({trace::kPython, std::move(section)});
    return build_trace(s);
  };
  std::string_view blob("\0a.py\0f\0", 8);
  Trace t = parse(with(python_section(blob, 1, {{1, 5, 1, 6}})));
  ASSERT_EQ(t.callsites[0].python.size(), 1u);
  EXPECT_EQ(python_of(t.callsites[0])[0].file, "a.py");
  EXPECT_EQ(python_of(t.callsites[0])[0].function, "f");
  EXPECT_EQ(error_of(with(python_section(blob, 1, {{1, 5, 8, 6}}))),
            "python stack 0 has a file name at offset 8 outside the 8-byte string blob or not "
            "NUL-terminated");
  EXPECT_EQ(error_of(with(python_section(std::string_view("\0a.py\0fn", 8), 1, {{1, 5, 1, 6}}))),
            "python stack 0 has a function name at offset 6 outside the 8-byte string blob or not "
            "NUL-terminated");
  EXPECT_EQ(error_of(with(python_section(blob, 1, {{2, 5, 1, 6}}))),
            "python frame of callsite 0x1 refers to native frame 2 of 2");
  EXPECT_EQ(error_of(with(python_section(blob, 1000000, {{1, 5, 1, 6}}))),
            "python section is truncated: 1000000 stacks do not fit");
  auto many = python_section(blob, 1, {{1, 5, 1, 6}});
  uint32_t count = 2;  // one frame more than present
  std::memcpy(many.data() + 8 + 8 + offsetof(trace::PythonStackRecord, count), &count, 4);
  EXPECT_EQ(error_of(with(many)), "python section is truncated: stack 0 has 2 frames");
  // Two stacks for one callsite.
  auto twice = python_section(blob, 2, {{1, 5, 1, 6}});
  test::ByteWriter again;
  again.put(trace::PythonStackRecord{1, 1, 0});
  again.put(trace::PythonFrameRecord{0, 1, 1, 6});
  twice.insert(twice.end(), again.bytes.begin(), again.bytes.end());
  EXPECT_EQ(error_of(with(twice)), "two python stacks for callsite 0x1");
}

TEST(TraceReader, MarksSectionIsValidated) {
  auto s = basic_spec();
  s.callsites.push_back(callsite(1, 1, 8));
  s.marks = test::MarksSpec{{{5, 1, "m"}}, {{1, 1, 0, 1, 8}}};
  EXPECT_EQ(error_of(build_trace(s)), "mark live record 0 refers to mark 1 of 1");
  s.marks->live = {{1, 0, 0, 1, 8}, {1, 0, 0, 1, 8}};
  EXPECT_EQ(error_of(build_trace(s)), "callsite 0x1 has two records for mark 0");
  s.marks->live.clear();
  auto bytes = build_trace(s);
  // The label length lives right after the process section's header and payload.
  size_t pos = sizeof(trace::FileHeader);
  for (int section = 0; section < 2; ++section) {
    trace::SectionHeader sh;
    std::memcpy(&sh, bytes.data() + pos, sizeof sh);
    pos += sizeof sh + ((sh.size + 7) & ~7ull);
  }
  size_t label_len = pos + sizeof(trace::SectionHeader) + sizeof(trace::MarksHeader) +
                     offsetof(trace::MarkRecord, label_len);
  uint32_t len = 65;
  std::memcpy(bytes.data() + label_len, &len, 4);
  EXPECT_EQ(error_of(bytes), "mark 0 has label length 65 (more than 64)");
  uint32_t marks = 3;
  std::memcpy(bytes.data() + label_len - offsetof(trace::MarkRecord, label_len) - sizeof(trace::MarksHeader),
              &marks, 4);
  EXPECT_EQ(error_of(bytes), "marks section is truncated: 3 marks do not fit");
}

// The payload offset of the first section of `type` in an uncompressed trace, or SIZE_MAX.
size_t section_payload(const std::vector<std::byte>& bytes, uint32_t type) {
  size_t at = sizeof(trace::FileHeader);
  while (at + sizeof(trace::SectionHeader) <= bytes.size()) {
    trace::SectionHeader sh;
    std::memcpy(&sh, bytes.data() + at, sizeof sh);
    if (sh.type == type) return at + sizeof sh;
    at += sizeof sh + ((sh.size + 7) & ~7ull);
  }
  return SIZE_MAX;
}

void patch_u32(std::vector<std::byte>& bytes, size_t at, uint32_t value) {
  ASSERT_LE(at + 4, bytes.size());
  std::memcpy(bytes.data() + at, &value, 4);
}

// Callsites that share outer native and Python frames, so their stack tree paths share nodes.
test::TraceSpec shared_stacks_spec() {
  auto s = basic_spec();
  s.callsites = {callsite(0xa, 1, 8, {0x10, 0x20, 0x30}), callsite(0xb, 1, 8, {0x11, 0x20, 0x30}),
                 callsite(0xc, 1, 8, {0x30}), callsite(0xd, 0, 0, {})};
  s.python = test::PythonSpec{{{0xa, {{1, 7, "/s/a.py", "f"}, {UINT32_MAX, 30, "/s/main.py", "<module>"}}},
                               {0xb, {{1, 9, "/s/b.py", "g"}, {UINT32_MAX, 30, "/s/main.py", "<module>"}}}}};
  s.stack_tree = true;
  return s;
}

TEST(TraceReader, StackTreeRoundTrips) {
  auto bytes = build_trace(shared_stacks_spec());
  size_t tree = section_payload(bytes, trace::kStackTree);
  ASSERT_NE(tree, SIZE_MAX);
  trace::StackTreeHeader h;
  std::memcpy(&h, bytes.data() + tree, sizeof h);
  EXPECT_EQ(h.native_nodes, 4u);  // 0x30, 0x20, 0x10, 0x11
  EXPECT_EQ(h.python_nodes, 3u);  // <module>, f, g
  for (bool compress : {false, true}) {
    auto s = shared_stacks_spec();
    s.compress = compress;
    Trace t = parse(build_trace(s));
    ASSERT_EQ(t.callsites.size(), 4u);
    EXPECT_EQ(frames_of(t.callsites[0]), (std::vector<uint64_t>{0x10, 0x20, 0x30}));
    EXPECT_EQ(frames_of(t.callsites[1]), (std::vector<uint64_t>{0x11, 0x20, 0x30}));
    EXPECT_EQ(frames_of(t.callsites[2]), (std::vector<uint64_t>{0x30}));
    EXPECT_TRUE(t.callsites[3].frames.empty());
    ASSERT_EQ(t.callsites[0].python.size(), 2u);
    EXPECT_EQ(python_of(t.callsites[0])[0].native_index, 1u);
    EXPECT_EQ(python_of(t.callsites[0])[0].line, 7);
    EXPECT_EQ(python_of(t.callsites[0])[0].file, "/s/a.py");
    EXPECT_EQ(python_of(t.callsites[0])[0].function, "f");
    EXPECT_EQ(python_of(t.callsites[0])[1].native_index, UINT32_MAX);
    EXPECT_EQ(python_of(t.callsites[0])[1].line, 30);
    EXPECT_EQ(python_of(t.callsites[0])[1].file, "/s/main.py");
    EXPECT_EQ(python_of(t.callsites[0])[1].function, "<module>");
    ASSERT_EQ(t.callsites[1].python.size(), 2u);
    EXPECT_EQ(python_of(t.callsites[1])[0].function, "g");
    EXPECT_EQ(python_of(t.callsites[1])[0].file, "/s/b.py");
    EXPECT_EQ(python_of(t.callsites[1])[0].line, 9);
    EXPECT_EQ(python_of(t.callsites[1])[1].function, "<module>");
    EXPECT_TRUE(t.callsites[2].python.empty());
  }
  for (size_t n = sizeof(trace::FileHeader); n < bytes.size(); ++n) {
    std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    uint64_t size = n;
    std::memcpy(cut.data() + offsetof(trace::FileHeader, file_size), &size, 8);
    try {
      parse_trace(cut);
      EXPECT_GE(n, bytes.size() - 7) << "length " << n;
    } catch (const Error&) {
    }
  }
}

// Callsite 0x1 takes its frames from raw native stack tree nodes.
test::TraceSpec native_tree_spec(std::vector<trace::NativeNode> nodes, uint64_t leaf, uint32_t depth) {
  auto s = basic_spec();
  auto c = callsite(0x1, 1, 8, {});
  c.tree_leaf = leaf;
  c.record.depth = depth;
  s.callsites = {c};
  s.tree = test::StackTreeSpec{std::move(nodes), {}};
  return s;
}

TEST(TraceReader, NativeStackTreeIsValidated) {
  const std::vector<trace::NativeNode> two = {{0x30, 0, 0}, {0x20, 1, 0}};
  EXPECT_EQ(frames_of(parse(build_trace(native_tree_spec(two, 2, 2))).callsites[0]),
            (std::vector<uint64_t>{0x20, 0x30}));
  EXPECT_EQ(frames_of(parse(build_trace(native_tree_spec(two, 1, 1))).callsites[0]),
            (std::vector<uint64_t>{0x30}));
  EXPECT_EQ(error_of(build_trace(native_tree_spec({{0x30, 0, 0}, {0x20, 2, 0}}, 2, 2))),
            "native stack tree node 2 has parent 2, not an earlier node");
  EXPECT_EQ(error_of(build_trace(native_tree_spec({{0x30, 2, 0}, {0x20, 0, 0}}, 1, 2))),
            "native stack tree node 1 has parent 2, not an earlier node");
  EXPECT_EQ(error_of(build_trace(native_tree_spec(two, 2, 1))),
            "callsite 0x1 has more native frames in the stack tree than the 1 its record says");
  EXPECT_EQ(error_of(build_trace(native_tree_spec(two, 2, 3))),
            "callsite 0x1 has 2 native frames in the stack tree, its record says 3");
  EXPECT_EQ(error_of(build_trace(native_tree_spec(two, 0, 1))),
            "callsite 0x1 has 0 native frames in the stack tree, its record says 1");
  EXPECT_EQ(error_of(build_trace(native_tree_spec(two, 3, 1))),
            "callsite 0x1 starts at native stack tree node 3 of 2");
  EXPECT_EQ(error_of(build_trace(native_tree_spec(two, uint64_t{1} << 40, 1))),
            "callsite 0x1 starts at native stack tree node 1099511627776 of 2");
  auto no_tree = native_tree_spec({}, 1, 1);
  no_tree.tree.reset();
  EXPECT_EQ(error_of(build_trace(no_tree)), "callsite 0x1 starts at native stack tree node 1 of 0");
  EXPECT_EQ(error_of(build_trace(native_tree_spec(two, 2, kMaxDepth + 1))),
            "callsite 0 has depth 1025 (more than 1024)");

  auto bytes = build_trace(native_tree_spec(two, 2, 2));
  size_t tree = section_payload(bytes, trace::kStackTree);
  auto more = bytes;
  patch_u32(more, tree + offsetof(trace::StackTreeHeader, native_nodes), 3);
  EXPECT_EQ(error_of(more), "stack tree section is truncated: 3 native nodes do not fit");
  patch_u32(more, tree + offsetof(trace::StackTreeHeader, native_nodes), UINT32_MAX);
  EXPECT_EQ(error_of(more), "stack tree section is truncated: 4294967295 native nodes do not fit");
  auto python = bytes;
  patch_u32(python, tree + offsetof(trace::StackTreeHeader, python_nodes), 1);
  EXPECT_EQ(error_of(python), "stack tree section is truncated: 1 python nodes do not fit");
  // The leaf of a tree callsite cut off by the end of the callsites section.
  size_t callsites = section_payload(bytes, trace::kCallsites);
  uint64_t short_size = sizeof(trace::CallsiteRecord) + 4;
  std::memcpy(bytes.data() + callsites - 8, &short_size, 8);
  EXPECT_EQ(error_of(bytes), "callsites section is truncated: needs 8 bytes at offset 160, has 4");
}

// Callsite 0x1 (two native frames) takes its Python stack from raw Python stack tree nodes.
test::TraceSpec python_tree_spec(std::vector<std::pair<test::PythonFrameSpec, uint32_t>> nodes, uint32_t leaf,
                                 uint32_t count) {
  auto s = basic_spec();
  s.callsites = {callsite(0x1, 1, 8, {0x10, 0x20})};
  s.tree = test::StackTreeSpec{{}, std::move(nodes)};
  s.python = test::PythonSpec{{}, {{0x1, count, leaf}}};
  return s;
}

TEST(TraceReader, PythonStackTreeIsValidated) {
  const test::PythonFrameSpec main{UINT32_MAX, 30, "/s/main.py", "<module>"};
  const test::PythonFrameSpec f{1, 7, "/s/a.py", "f"};
  Trace t = parse(build_trace(python_tree_spec({{main, 0}, {f, 1}}, 2, 2)));
  ASSERT_EQ(t.callsites[0].python.size(), 2u);
  EXPECT_EQ(python_of(t.callsites[0])[0].native_index, 1u);
  EXPECT_EQ(python_of(t.callsites[0])[0].line, 7);
  EXPECT_EQ(python_of(t.callsites[0])[0].file, "/s/a.py");
  EXPECT_EQ(python_of(t.callsites[0])[0].function, "f");
  EXPECT_EQ(python_of(t.callsites[0])[1].native_index, UINT32_MAX);
  EXPECT_EQ(python_of(t.callsites[0])[1].function, "<module>");
  EXPECT_EQ(error_of(build_trace(python_tree_spec({{main, 2}, {f, 1}}, 1, 1))),
            "python stack tree node 1 has parent 2, not an earlier node");
  EXPECT_EQ(error_of(build_trace(python_tree_spec({{main, 0}, {f, 1}}, 2, 1))),
            "callsite 0x1 has more python frames in the stack tree than the 1 its record says");
  EXPECT_EQ(error_of(build_trace(python_tree_spec({{main, 0}, {f, 1}}, 2, 3))),
            "callsite 0x1 has 2 python frames in the stack tree, its record says 3");
  EXPECT_EQ(error_of(build_trace(python_tree_spec({{main, 0}, {f, 1}}, 3, 1))),
            "callsite 0x1 starts at python stack tree node 3 of 2");
  EXPECT_EQ(error_of(build_trace(python_tree_spec({{main, 0}, {f, 1}}, 2, kMaxDepth + 1))),
            "python stack 0 has 1025 frames (more than 1024)");
  auto far = f;
  far.native_index = 2;
  EXPECT_EQ(error_of(build_trace(python_tree_spec({{main, 0}, {far, 1}}, 2, 2))),
            "python frame of callsite 0x1 refers to native frame 2 of 2");
  // Node 2's file name pointing past the string blob ("\0/s/main.py\0<module>\0/s/a.py\0f\0").
  auto bytes = build_trace(python_tree_spec({{main, 0}, {f, 1}}, 2, 2));
  size_t node2 = section_payload(bytes, trace::kStackTree) + sizeof(trace::StackTreeHeader) +
                 sizeof(trace::PythonNode);
  patch_u32(bytes, node2 + offsetof(trace::PythonNode, frame) + offsetof(trace::PythonFrameRecord, file), 31);
  EXPECT_EQ(error_of(bytes), "python stack tree node 2 has a file name at offset 31 outside the 31-byte "
                             "string blob or not NUL-terminated");
  patch_u32(bytes, section_payload(bytes, trace::kStackTree) + offsetof(trace::StackTreeHeader, python_nodes), 3);
  EXPECT_EQ(error_of(bytes), "stack tree section is truncated: 3 python nodes do not fit");
}

TEST(TraceReader, CompressedSectionsRoundTrip) {
  auto s = full_spec();
  s.compress = true;
  Trace t = parse(build_trace(s));
  EXPECT_EQ(t.command, (std::vector<std::string>{"./prog", "--flag"}));
  ASSERT_EQ(t.callsites.size(), 2u);
  EXPECT_EQ(frames_of(t.callsites[0]), (std::vector<uint64_t>{0x401010, 0x401020, 0x401030}));
  EXPECT_EQ(t.timeline->series[1].values, (std::vector<uint64_t>{7, 8, 9}));
  EXPECT_EQ(t.stats->write_failures, 1u);
  EXPECT_EQ(t.marks[0].label, "warm-up");
  ASSERT_EQ(t.callsites[0].python.size(), 3u);
  EXPECT_EQ(python_of(t.callsites[0])[1].function, "Cls.g");
  EXPECT_EQ(t.callsites[0].after_marks.size(), 2u);
  auto bytes = build_trace(s);
  for (size_t n = sizeof(trace::FileHeader); n < bytes.size(); ++n) {
    auto damaged = bytes;
    damaged[n] ^= std::byte{0x5a};
    try {
      parse_trace(damaged);
    } catch (const Error&) {
    }
  }
}

TEST(TraceReader, CompressedSizeCannotForceHugeAllocation) {
  auto s = basic_spec();
  s.compress = true;
  auto bytes = build_trace(s);
  uint64_t huge = uint64_t{1} << 40;
  std::memcpy(bytes.data() + sizeof(trace::FileHeader) + sizeof(trace::SectionHeader), &huge, 8);
  EXPECT_NE(error_of(bytes).find("claims 1099511627776 bytes uncompressed"), std::string::npos);
}

TEST(TraceReader, UnknownSectionFlags) {
  auto bytes = build_trace(basic_spec());
  uint32_t flags = 6;
  std::memcpy(bytes.data() + sizeof(trace::FileHeader) + 4, &flags, 4);
  EXPECT_EQ(error_of(bytes), "section 0 (type 1) has unknown flags 0x6");
}

TEST(TraceReader, MinimalTraceHasOnlyProcess) {
  Trace t = parse(build_trace(basic_spec()));
  EXPECT_TRUE(t.modules.empty());
  EXPECT_TRUE(t.callsites.empty());
  EXPECT_FALSE(t.timeline);
  EXPECT_FALSE(t.stats);
}

TEST(TraceReader, SkipsUnknownSections) {
  auto s = full_spec();
  s.extra_sections.push_back({99, std::vector<std::byte>(13, std::byte{0x55})});
  Trace t = parse(build_trace(s));
  EXPECT_EQ(t.callsites.size(), 2u);
}

TEST(TraceReader, EveryTruncationIsAnErrorNotACrash) {
  auto bytes = build_trace(full_spec());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    EXPECT_THROW(parse_trace(cut), Error) << "length " << n;
  }
}

// Truncation with a file_size patched to match: the section parsers themselves must catch it.
TEST(TraceReader, EveryTruncationWithConsistentFileSizeIsAnError) {
  auto bytes = build_trace(full_spec());
  for (size_t n = sizeof(trace::FileHeader); n < bytes.size(); ++n) {
    std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    uint64_t size = n;
    std::memcpy(cut.data() + offsetof(trace::FileHeader, file_size), &size, 8);
    try {
      parse_trace(cut);
      // Cutting only trailing padding of the last section is harmless.
      EXPECT_GE(n, bytes.size() - 7) << "length " << n;
    } catch (const Error&) {
    }
  }
}

TEST(TraceReader, BadMagic) {
  auto bytes = build_trace(basic_spec());
  bytes[0] = std::byte{'X'};
  EXPECT_EQ(error_of(bytes), "not a libleak trace (bad magic)");
}

TEST(TraceReader, NewerVersion) {
  auto s = basic_spec();
  s.version = 2;
  EXPECT_EQ(error_of(build_trace(s)), "trace version 2 is newer than this leakreport supports (1)");
}

TEST(TraceReader, FileSizeMismatchIsTruncation) {
  auto bytes = build_trace(basic_spec());
  bytes.push_back(std::byte{0});
  EXPECT_NE(error_of(bytes).find("truncated"), std::string::npos);
  bytes.erase(bytes.end() - 9, bytes.end());
  EXPECT_NE(error_of(bytes).find("truncated"), std::string::npos);
}

TEST(TraceReader, SmallHeaderSize) {
  auto bytes = build_trace(basic_spec());
  uint32_t hs = 32;
  std::memcpy(bytes.data() + offsetof(trace::FileHeader, header_size), &hs, 4);
  EXPECT_EQ(error_of(bytes), "bad header size 32");
}

TEST(TraceReader, SectionSizeOverflow) {
  auto bytes = build_trace(basic_spec());
  uint64_t huge = UINT64_MAX - 3;  // rounding up to 8 would wrap
  std::memcpy(bytes.data() + sizeof(trace::FileHeader) + offsetof(trace::SectionHeader, size),
              &huge, 8);
  EXPECT_NE(error_of(bytes).find("claims 18446744073709551612 bytes"), std::string::npos);
}

TEST(TraceReader, TooManySections) {
  auto bytes = build_trace(basic_spec());
  uint32_t count = 1000000;
  std::memcpy(bytes.data() + offsetof(trace::FileHeader, section_count), &count, 4);
  EXPECT_NE(error_of(bytes).find("section table is truncated"), std::string::npos);
}

TEST(TraceReader, DepthTooLarge) {
  auto s = basic_spec();
  s.callsites.push_back(callsite(1, 1, 8, std::vector<uint64_t>(1025, 0x1000)));
  EXPECT_EQ(error_of(build_trace(s)), "callsite 0 has depth 1025 (more than 1024)");
  s.callsites[0].frames.resize(1024);
  EXPECT_EQ(parse(build_trace(s)).callsites[0].frames.size(), 1024u);
}

TEST(TraceReader, DepthBeyondSection) {
  auto s = basic_spec();
  s.fill_derived = false;
  s.process.cmdline_bytes = 0;
  s.command.clear();
  s.callsites.push_back(callsite(1, 1, 8, {0x1000}));
  s.callsites[0].record.depth = 2;
  EXPECT_NE(error_of(build_trace(s)).find("callsites section is truncated"), std::string::npos);
}

TEST(TraceReader, ModulePathLengthOutOfBounds) {
  auto s = basic_spec();
  test::ModuleSpec m;
  m.record = {0, 0x1000, 0x2000, 0, UINT32_MAX, 0, 0};
  m.path = "/a";
  s.modules.push_back(m);
  s.fill_derived = false;
  s.process.cmdline_bytes = 14;
  s.modules[0].record.path_len = 0xffffffff;
  EXPECT_NE(error_of(build_trace(s)).find("modules section is truncated"), std::string::npos);
}

TEST(TraceReader, CmdlineBeyondSection) {
  auto s = basic_spec();
  s.fill_derived = false;
  s.process.cmdline_bytes = 1000;
  EXPECT_NE(error_of(build_trace(s)).find("process section is truncated"), std::string::npos);
}

TEST(TraceReader, TimelineSeriesCountCannotForceHugeAllocation) {
  auto s = basic_spec();
  s.timeline = test::TimelineSpec{100, {1}, {{1, {2}}}};
  auto bytes = build_trace(s);
  // Find the timeline header: it follows the process section.
  size_t pos = sizeof(trace::FileHeader);
  trace::SectionHeader sh;
  std::memcpy(&sh, bytes.data() + pos, sizeof sh);
  pos += sizeof sh + ((sh.size + 7) & ~7ull) + sizeof sh;
  uint32_t many = 0xffffffff;
  std::memcpy(bytes.data() + pos + offsetof(trace::TimelineHeader, series_count), &many, 4);
  EXPECT_NE(error_of(bytes).find("timeline section is truncated"), std::string::npos);
}

TEST(TraceReader, UnreachableAboveLiveIsRejected) {
  auto s = basic_spec();
  auto c = callsite(1, 1, 8);
  c.record.unreachable_blocks = 1;
  c.record.indirect_blocks = 1;
  s.callsites.push_back(c);
  EXPECT_EQ(error_of(build_trace(s)), "callsite 0 has more unreachable than live blocks or bytes");
}

TEST(TraceReader, UnknownDomainAndExitKind) {
  auto s = basic_spec();
  s.callsites.push_back(callsite(1, 1, 8));
  s.callsites[0].record.domain = 9;
  EXPECT_EQ(error_of(build_trace(s)), "callsite 0 has unknown domain 9");
  s = basic_spec();
  s.process.exit_kind = 17;
  EXPECT_EQ(error_of(build_trace(s)), "unknown exit kind 17");
}

TEST(TraceReader, DuplicateAndMissingSections) {
  auto s = basic_spec();
  s.stats = trace::StatsRecord{};
  s.extra_sections.push_back({trace::kStats, std::vector<std::byte>(sizeof(trace::StatsRecord))});
  EXPECT_EQ(error_of(build_trace(s)), "duplicate section of type 5");
  s = basic_spec();
  s.with_process = false;
  EXPECT_EQ(error_of(build_trace(s)), "no process section");
}

TEST(TraceReader, ReadsFilesAndExpandsDirectories) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "libleak_reader_dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "sub");
  auto write = [&](const std::string& name, const std::vector<std::byte>& b) {
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  auto s = basic_spec();
  write("b.trace", build_trace(s));
  s.process.pid = 7;
  write("a.bin", build_trace(s));
  write("notes.txt", {std::byte{'h'}, std::byte{'i'}});
  auto paths = expand_inputs({dir});
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0].filename(), "a.bin");
  EXPECT_EQ(paths[1].filename(), "b.trace");
  EXPECT_EQ(read_trace_file(paths[0]).process.pid, 7u);
  try {
    read_trace_file(dir / "notes.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.source(), (dir / "notes.txt").string());
    EXPECT_STREQ(e.what(), "not a libleak trace (bad magic)");
  }
  EXPECT_THROW(read_trace_file(dir / "missing"), Error);
  EXPECT_THROW(expand_inputs({dir / "sub"}), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace libleak
