// The reader's bounds: zlib bombs, counts beyond the bytes that hold them, memory that grows
// faster than the file and stacks that expand past it each meet an exact Error, before the
// reader allocates or works past its limits (trace_reader.h, trace_input.h).
#include <gtest/gtest.h>

#include <cstring>

#include <fmt/format.h>

#include "report/error.h"
#include "report/trace_input.h"
#include "report/trace_reader.h"
#include "trace_builder.h"

namespace libleak {
namespace {

using test::basic_spec;
using test::build_trace;
using test::callsite;

std::string error_of(const std::vector<std::byte>& b) {
  try {
    parse_trace(b);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Where the first section of `type` starts (its SectionHeader), and that header.
std::pair<size_t, trace::SectionHeader> find_section(const std::vector<std::byte>& bytes, uint32_t type) {
  size_t at = sizeof(trace::FileHeader);
  trace::SectionHeader sh{};
  while (at + sizeof sh <= bytes.size()) {
    std::memcpy(&sh, bytes.data() + at, sizeof sh);
    if (sh.type == type) return {at, sh};
    at += sizeof sh + ((sh.size + 7) & ~7ull);
  }
  ADD_FAILURE() << "no section of type " << type;
  return {0, sh};
}

std::string memory_error(const char* what, size_t file_size) {
  return fmt::format("{} needs more memory than a {}-byte trace may take ({} bytes): the file is "
                     "damaged or hostile", what, file_size, file_size * kReaderMemoryPerByte + kReaderMemorySlack);
}

// A modules section of 1 MiB of zeros (valid, empty module records) stores at about 1000:1, as
// zlib allows: the old reader allocated whatever such a section claimed, up to 1032 times its size.
TEST(TraceBounds, ZlibBombIsRefusedBeforeInflating) {
  auto s = basic_spec();
  s.extra_sections.push_back({trace::kModules, std::vector<std::byte>(1 << 20)});
  s.compress = true;
  auto bytes = build_trace(s);
  uint64_t stream = find_section(bytes, trace::kModules).second.size - 8;
  uint64_t allowed = stream * kMaxInflateRatio + kInflateSlack;
  ASSERT_LT(allowed, uint64_t{1} << 20);
  EXPECT_EQ(error_of(bytes), fmt::format("section 1 claims 1048576 bytes uncompressed from {} compressed "
                                         "(at most {} allowed)", stream, allowed));
}

// A stream that says 40 bytes (one module) but goes on for a mebibyte: the reader stops at 41.
TEST(TraceBounds, StreamLongerThanItsStatedSizeIsNotInflatedFurther) {
  auto s = basic_spec();
  s.extra_sections.push_back({trace::kModules, std::vector<std::byte>(1 << 20)});
  s.compress = true;
  auto bytes = build_trace(s);
  uint64_t size = sizeof(trace::ModuleRecord);
  std::memcpy(bytes.data() + find_section(bytes, trace::kModules).first + sizeof(trace::SectionHeader), &size, 8);
  EXPECT_EQ(error_of(bytes), "section 1 is damaged: its zlib stream does not end after 40 bytes");
}

TEST(TraceBounds, StreamShorterThanItsStatedSize) {
  auto s = basic_spec();
  s.modules.push_back({{0, 0x1000, 0x2000, 0, UINT32_MAX, 0, 0}, "/a", {}});
  s.compress = true;
  auto bytes = build_trace(s);
  auto [at, sh] = find_section(bytes, trace::kModules);
  uint64_t size = (sh.size - 8) * kMaxInflateRatio;  // inflated, yet within the ratio
  std::memcpy(bytes.data() + at + sizeof sh, &size, 8);
  // Modules are read up to the end of what the stream holds (one 40-byte record and "/a" padded to 8).
  EXPECT_EQ(error_of(bytes), fmt::format("section 1 is damaged: its zlib stream ends after 48 of {} bytes", size));
}

// Counts in a compressed section are checked against its stated size before anything is
// allocated: the stated size is bounded by the ratio, and the count by the stated size.
TEST(TraceBounds, InflatedCountsInCompressedSections) {
  auto with = [](uint32_t type, std::vector<std::byte> payload) {
    auto s = basic_spec();
    s.callsites.push_back(callsite(1, 1, 8));
    s.extra_sections.push_back({type, std::move(payload)});
    s.compress = true;
    return build_trace(s);
  };
  auto header_and_zeros = [](uint32_t first, uint32_t second, size_t zeros) {
    test::ByteWriter w;
    w.put(first);
    w.put(second);
    w.raw(std::vector<std::byte>(zeros).data(), zeros);
    return w.bytes;
  };
  EXPECT_EQ(error_of(with(trace::kStackTree, header_and_zeros(UINT32_MAX, 0, 64))),
            "stack tree section is truncated: 4294967295 native nodes do not fit");
  EXPECT_EQ(error_of(with(trace::kStackTree, header_and_zeros(4, 0xffffff, 64))),
            "stack tree section is truncated: 16777215 python nodes do not fit");
  EXPECT_EQ(error_of(with(trace::kMarks, header_and_zeros(0x10000, 0, 800))),
            "marks section is truncated: 65536 marks do not fit");
  EXPECT_EQ(error_of(with(trace::kPython, header_and_zeros(UINT32_MAX, 0, 160))),
            "python section is truncated: 4294967295 stacks do not fit");
  EXPECT_EQ(error_of(with(trace::kPython, header_and_zeros(1, UINT32_MAX, 160))),
            "python section is truncated: needs 4294967295 bytes at offset 8, has 160");
}

// One million series of no samples: 8 bytes each in the file, where a random byte in every other
// keeps zlib near 8:1, inside the ratio; 32 bytes each in memory, about 34 per byte of the file.
TEST(TraceBounds, MemoryGrowingFasterThanTheFileIsRefused) {
  auto s = basic_spec();
  s.timeline = test::TimelineSpec{100, {}, {}};
  uint32_t state = 1;
  for (int i = 0; i < 1000000; ++i) {
    state = state * 1103515245 + 12345;
    s.timeline->series.push_back({i % 2 ? 0 : state >> 24, {}});
  }
  auto stored = build_trace(s);
  EXPECT_EQ(parse_trace(stored).timeline->series.size(), 1000000u);  // 4 per byte: fine
  s.compress = true;
  auto bytes = build_trace(s);
  EXPECT_EQ(error_of(bytes), memory_error("timeline section", bytes.size()));
}

// Callsites that all end at one path of 1024 native and 1024 Python frames: a few hundred bytes
// each in the file, 2048 frames each in any report.
TEST(TraceBounds, StacksExpandingPastTheFileAreRefused) {
  auto s = basic_spec();
  test::StackTreeSpec tree;
  for (uint32_t i = 0; i < kMaxDepth; ++i) {
    tree.native.push_back({0x1000 + i, i, 0});
    tree.python.push_back({{0, static_cast<int32_t>(i), "f.py", "f"}, i});
  }
  s.tree = tree;
  s.python = test::PythonSpec{};
  for (uint64_t i = 1; i <= 5000; ++i) {
    auto c = callsite(i, 1, 8, {});
    c.tree_leaf = kMaxDepth;
    c.record.depth = kMaxDepth;
    s.callsites.push_back(c);
    s.python->tree_stacks.push_back({i, kMaxDepth, kMaxDepth});
  }
  auto bytes = build_trace(s);
  EXPECT_EQ(error_of(bytes), fmt::format("the callsites' stacks expand to 10240000 frames, more than {} per "
                                         "byte of a {}-byte trace: the file is damaged or hostile",
                                         kMaxFramesPerByte, bytes.size()));
  s.callsites.resize(50);
  s.python->tree_stacks.resize(50);
  Trace t = parse_trace(build_trace(s));
  EXPECT_EQ(t.callsites[49].frames.size(), kMaxDepth);
  EXPECT_EQ(t.callsites[49].python.size(), kMaxDepth);
  EXPECT_EQ(*t.callsites[49].frames.begin(), 0x1000u + kMaxDepth - 1);
}

// One 60000-byte file name on every frame of a 64-frame Python path that 100 callsites end at:
// 80 KB of trace, 384 MB of names for a report to hash.
TEST(TraceBounds, PythonNamesExpandingPastTheFileAreRefused) {
  const std::string name(60000, 'a');
  auto s = basic_spec();
  test::StackTreeSpec tree;
  for (uint32_t i = 0; i < 64; ++i) tree.python.push_back({{UINT32_MAX, 1, name, ""}, i});
  s.tree = tree;
  s.python = test::PythonSpec{};
  for (uint64_t i = 1; i <= 100; ++i) {
    s.callsites.push_back(callsite(i, 1, 8));
    s.python->tree_stacks.push_back({i, 64, 64});
  }
  auto bytes = build_trace(s);
  EXPECT_EQ(error_of(bytes), fmt::format("the callsites' Python frames name 384000000 bytes, more than {} "
                                         "per byte of a {}-byte trace: the file is damaged or hostile",
                                         kMaxNameBytesPerByte, bytes.size()));
  s.callsites.resize(2);
  s.python->tree_stacks.resize(2);
  Trace t = parse_trace(build_trace(s));
  ASSERT_EQ(t.callsites[1].python.size(), 64u);
  EXPECT_EQ((*t.callsites[1].python.begin()).file.size(), 60000u);
}

}  // namespace
}  // namespace libleak
