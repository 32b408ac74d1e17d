// pprof output: decoded with libprotobuf's parser (not the writer's code path) and checked value by
// value; the gzip layer is checked with zlib's inflate.
#include "report/format_pprof.h"

#include <zlib.h>

#include "output_test_support.h"
#include "profile.pb.h"

namespace libleak {
namespace {

namespace pb = perftools::profiles;

pb::Profile decode(const std::string& bytes) {
  pb::Profile p;
  EXPECT_TRUE(p.ParseFromString(bytes));
  return p;
}

std::string label(const pb::Profile& p, const pb::Sample& s, const std::string& key) {
  for (const auto& l : s.label()) {
    if (p.string_table(static_cast<int>(l.key())) == key) return p.string_table(static_cast<int>(l.str()));
  }
  return "";
}

TEST(PprofOutput, SampleTypesValuesAndVerdicts) {
  auto a = test::analyze_spec(test::synthetic_spec());
  pb::Profile p = decode(build_pprof({a}));
  ASSERT_EQ(p.string_table(0), "");
  std::vector<std::string> types;
  for (const auto& t : p.sample_type()) {
    types.push_back(p.string_table(static_cast<int>(t.type())) + "/" + p.string_table(static_cast<int>(t.unit())));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                                             "inuse_space/bytes"}));
  EXPECT_EQ(p.string_table(static_cast<int>(p.default_sample_type())), "inuse_space");

  struct Row {
    std::vector<int64_t> values;
    std::string verdict, indirect;
    std::vector<uint64_t> locations;
    bool operator==(const Row&) const = default;
  };
  std::vector<Row> rows;
  for (const auto& s : p.sample()) {
    rows.push_back({{s.value().begin(), s.value().end()}, label(p, s, "verdict"), label(p, s, "indirect"),
                    {s.location_id().begin(), s.location_id().end()}});
  }
  std::vector<Row> expected = {
      {{3, 300, 3, 300}, "unreachable", "", {1, 2, 3}},
      {{1, 100, 1, 100}, "reachable", "", {1, 2, 3}},
      {{6, 600, 0, 0}, "freed", "", {1, 2, 3}},
      {{5, 5000, 0, 0}, "freed", "", {4, 3}},
      {{2, 64, 2, 64}, "unreachable", "true", {5, 2, 3}},
  };
  EXPECT_EQ(rows, expected);
}

TEST(PprofOutput, MappingAndLocations) {
  auto a = test::analyze_spec(test::synthetic_spec());
  pb::Profile p = decode(build_pprof({a}));
  ASSERT_EQ(p.mapping_size(), 1);
  const auto& m = p.mapping(0);
  EXPECT_EQ(m.id(), 1u);
  EXPECT_EQ(m.memory_start(), 0x400000u);
  EXPECT_EQ(m.memory_limit(), 0x410000u);
  EXPECT_EQ(m.file_offset(), 0u);
  EXPECT_EQ(p.string_table(static_cast<int>(m.filename())), "/bin/app");
  EXPECT_EQ(p.string_table(static_cast<int>(m.build_id())), "deadbeef");
  EXPECT_FALSE(m.has_functions());  // no debug info read: pprof may symbolize by build id
  std::vector<uint64_t> addresses;
  for (const auto& l : p.location()) {
    EXPECT_EQ(l.mapping_id(), 1u);
    EXPECT_EQ(l.line_size(), 0);
    addresses.push_back(l.address());
  }
  // The call instruction: one byte before each recorded return address.
  EXPECT_EQ(addresses, (std::vector<uint64_t>{0x4010ff, 0x4011ff, 0x4012ff, 0x4013ff, 0x4014ff}));
  EXPECT_EQ(p.function_size(), 0);
}

TEST(PprofOutput, InlinedFramesBecomeLinesOfOneLocation) {
  // Symbolized frames as the symbolizer returns them: `inner` inlined into `outer` at one address.
  auto a = test::analyze_spec(test::synthetic_spec());
  auto stack = std::make_shared<std::vector<Frame>>(2);
  (*stack)[0].address = (*stack)[1].address = 0x401100;
  (*stack)[0].function = make_text("inner"), (*stack)[0].file = make_text("a.h"), (*stack)[0].line = 3;
  (*stack)[0].inlined = true;
  (*stack)[1].function = make_text("outer"), (*stack)[1].file = make_text("a.c"), (*stack)[1].line = 10;
  ASSERT_EQ(a.callsites[0].stack_hash, 0x11u);
  a.stacks.set(0, stack);
  for (auto& l : a.leaks) {
    if (l.stack_hash == 0x11) l.stack = stack;
  }
  pb::Profile p = decode(build_pprof({a}));
  const auto& loc = p.location(0);
  EXPECT_EQ(loc.address(), 0x4010ffu);
  ASSERT_EQ(loc.line_size(), 2);
  auto fn = [&](uint64_t id) { return p.function(static_cast<int>(id - 1)); };
  EXPECT_EQ(p.string_table(static_cast<int>(fn(loc.line(0).function_id()).name())), "inner");
  EXPECT_EQ(loc.line(0).line(), 3);
  EXPECT_EQ(p.string_table(static_cast<int>(fn(loc.line(1).function_id()).name())), "outer");
  EXPECT_EQ(p.string_table(static_cast<int>(fn(loc.line(1).function_id()).filename())), "a.c");
  EXPECT_EQ(loc.line(1).line(), 10);
  EXPECT_EQ(fn(loc.line(1).function_id()).start_line(), 0);
}

TEST(PprofOutput, PythonFramesAreLocationsOfTheirOwn) {
  // app+0x1200 is the interpreter loop running two Python frames in callsites 0x11 and 0x33; their
  // innermost frames are two lines of one function, their outer frames the same line.
  auto spec = test::synthetic_spec();
  spec.python = test::PythonSpec{
      {{0x11, {{1, 12, "/app/cache.py", "Cache.fill"}, {1, 40, "/app/main.py", "<module>"}}},
       {0x33, {{1, 14, "/app/cache.py", "Cache.fill"}, {1, 40, "/app/main.py", "<module>"}}},
       {0x22, {{UINT32_MAX, 0, "", ""}}}}};
  auto a = test::analyze_spec(spec);
  pb::Profile p = decode(build_pprof({a}));
  std::vector<std::vector<uint64_t>> stacks;
  for (const auto& s : p.sample()) stacks.push_back({s.location_id().begin(), s.location_id().end()});
  EXPECT_EQ(stacks, (std::vector<std::vector<uint64_t>>{
                        {1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}, {5, 4, 6}, {7, 8, 3, 4}}));
  struct Loc {
    uint64_t mapping, address;
    std::string function, file;
    int64_t line;
    bool operator==(const Loc&) const = default;
  };
  std::vector<Loc> python;
  for (const auto& l : p.location()) {
    if (l.address() != 0) {
      EXPECT_EQ(l.mapping_id(), 1u);
      EXPECT_EQ(l.line_size(), 0);
      continue;
    }
    ASSERT_EQ(l.line_size(), 1);
    const auto& fn = p.function(static_cast<int>(l.line(0).function_id() - 1));
    EXPECT_EQ(fn.id(), l.line(0).function_id());
    EXPECT_EQ(fn.system_name(), fn.name());
    python.push_back({l.mapping_id(), l.address(), p.string_table(static_cast<int>(fn.name())),
                      p.string_table(static_cast<int>(fn.filename())), l.line(0).line()});
  }
  EXPECT_EQ(python, (std::vector<Loc>{{0, 0, "Cache.fill", "/app/cache.py", 12},
                                      {0, 0, "<module>", "/app/main.py", 40},
                                      {0, 0, "??", "", 0},
                                      {0, 0, "Cache.fill", "/app/cache.py", 14}}));
  EXPECT_EQ(p.location_size(), 8);
  EXPECT_EQ(p.function_size(), 3);  // Cache.fill, <module>, ??: one each however many lines
  EXPECT_FALSE(p.mapping(0).has_functions());  // Python frames do not vouch for /bin/app
}

TEST(PprofOutput, SeveralProcessesCarryAPidLabel) {
  auto a = test::analyze_spec(test::synthetic_spec());
  auto spec = test::synthetic_spec(0x500000);
  spec.process.pid = 99;
  auto b = test::analyze_spec(spec);
  pb::Profile p = decode(build_pprof({a, b}));
  EXPECT_EQ(p.mapping_size(), 2);
  ASSERT_EQ(p.sample_size(), 10);
  auto pid = [&](const pb::Sample& s) {
    for (const auto& l : s.label()) {
      if (p.string_table(static_cast<int>(l.key())) == "pid") return l.num();
    }
    return int64_t{-1};
  };
  EXPECT_EQ(pid(p.sample(0)), 1234);
  EXPECT_EQ(pid(p.sample(9)), 99);
  EXPECT_EQ(p.location(p.sample(9).location_id(0) - 1).mapping_id(), 2u);
}

TEST(PprofOutput, GzipRoundTrip) {
  const std::string raw("profile bytes \0 with a nul", 26);
  std::string gz = gzip_bytes(raw);
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  std::string out(raw.size() + 16, '\0');
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(gz.data());
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(out, raw);
}

TEST(PprofOutput, GoldenFixture) {
  auto a = test::analyze_fixture("outputs_n2.bin");
  test::expect_golden("pprof.txt", decode(build_pprof({a})).DebugString());
}

}  // namespace
}  // namespace libleak
