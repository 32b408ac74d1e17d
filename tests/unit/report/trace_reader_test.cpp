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
  EXPECT_EQ(t.callsites[0].frames, (std::vector<uint64_t>{0x401010, 0x401020, 0x401030}));
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
  EXPECT_EQ(t.callsites[0].python[0].native_index, 2u);
  EXPECT_EQ(t.callsites[0].python[0].file, "/s/a.py");
  EXPECT_EQ(t.callsites[0].python[1].function, "Cls.g");
  EXPECT_EQ(t.callsites[0].python[1].line, 20);
  EXPECT_EQ(t.callsites[0].python[2].native_index, UINT32_MAX);
  EXPECT_EQ(t.callsites[0].python[2].file, "/s/main.py");
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
  EXPECT_EQ(t.callsites[0].python[0].file, "a.py");
  EXPECT_EQ(t.callsites[0].python[0].function, "f");
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

TEST(TraceReader, CompressedSectionsRoundTrip) {
  auto s = full_spec();
  s.compress = true;
  Trace t = parse(build_trace(s));
  EXPECT_EQ(t.command, (std::vector<std::string>{"./prog", "--flag"}));
  ASSERT_EQ(t.callsites.size(), 2u);
  EXPECT_EQ(t.callsites[0].frames, (std::vector<uint64_t>{0x401010, 0x401020, 0x401030}));
  EXPECT_EQ(t.timeline->series[1].values, (std::vector<uint64_t>{7, 8, 9}));
  EXPECT_EQ(t.stats->write_failures, 1u);
  EXPECT_EQ(t.marks[0].label, "warm-up");
  ASSERT_EQ(t.callsites[0].python.size(), 3u);
  EXPECT_EQ(t.callsites[0].python[1].function, "Cls.g");
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
