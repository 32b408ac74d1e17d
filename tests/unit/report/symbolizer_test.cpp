// Symbolizes return addresses taken in this test binary itself, so the expected function, file
// and line are known exactly; and checks the degraded paths (missing module, build-id mismatch).
#include <gtest/gtest.h>
#include <link.h>

#include <chrono>
#include <climits>
#include <string>

#include "report/symbolizer.h"
#include "trace_builder.h"

namespace libleak {
namespace {

volatile uint64_t g_sink;

__attribute__((noinline)) uint64_t caller_address() {
  return reinterpret_cast<uint64_t>(__builtin_return_address(0));
}

const int kKnownLine = __LINE__ + 3;
__attribute__((noinline)) uint64_t known_call_site() {
  g_sink = 1;
  uint64_t ra = caller_address();
  g_sink = ra;  // keeps the call out of tail position, so the return address is in this function
  return ra;
}

const int kInlinedLine = __LINE__ + 3;
__attribute__((always_inline)) inline uint64_t inlined_helper() {
  g_sink = 2;
  uint64_t ra = caller_address();
  g_sink = ra;
  return ra;
}

const int kInlineCallLine = __LINE__ + 3;
__attribute__((noinline)) uint64_t calls_inlined_helper() {
  g_sink = 3;
  uint64_t ra = inlined_helper();
  g_sink = ra;
  return ra;
}

// The module record libleak.so would write for the main executable.
test::ModuleSpec self_module() {
  test::ModuleSpec m;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* m = static_cast<test::ModuleSpec*>(data);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          lo = std::min<uint64_t>(lo, info->dlpi_addr + ph.p_vaddr);
          hi = std::max<uint64_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        m->record = {info->dlpi_addr, lo, hi, 0, UINT32_MAX, 0, 0};
        return 1;  // the first entry is the main program
      },
      &m);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
  m.path.assign(exe, n > 0 ? static_cast<size_t>(n) : 0);
  return m;
}

Trace self_trace(std::vector<uint64_t> frames, std::vector<uint8_t> build_id = {}) {
  auto s = test::basic_spec();
  auto m = self_module();
  m.build_id = std::move(build_id);
  s.modules = {m};
  s.callsites = {test::callsite(1, 1, 8, std::move(frames))};
  return parse_trace(test::build_trace(s));
}

std::string basename(const Text& p) {
  return p ? p->substr(p->rfind('/') + 1) : "(null)";
}

TEST(Symbolizer, KnownFunctionFileAndLine) {
  uint64_t ra = known_call_site();
  Trace t = self_trace({ra});
  Symbolizer sym;
  auto frames = sym.symbolize(t, t.callsites[0]);
  ASSERT_EQ(frames.size(), 1u);
  ASSERT_TRUE(frames[0].function);
  EXPECT_EQ(frames[0].address, ra);
  EXPECT_EQ(frames[0].module_path(), t.modules[0].path);
  EXPECT_EQ(frames[0].module_offset, ra - t.modules[0].record.load_bias);
  EXPECT_EQ(*frames[0].function, "libleak::(anonymous namespace)::known_call_site()");
  EXPECT_EQ(basename(frames[0].file), "symbolizer_test.cpp");
  EXPECT_EQ(frames[0].line, kKnownLine);
  EXPECT_FALSE(frames[0].inlined);
}

TEST(Symbolizer, ExpandsInlinedCalls) {
  uint64_t ra = calls_inlined_helper();
  Trace t = self_trace({ra});
  Symbolizer sym;
  auto frames = sym.symbolize(t, t.callsites[0]);
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_TRUE(frames[0].function && frames[1].function);
  EXPECT_TRUE(frames[0].inlined);
  // Inlined instances without DW_AT_linkage_name only have their bare DW_AT_name.
  EXPECT_EQ(*frames[0].function, "inlined_helper");
  EXPECT_EQ(frames[0].line, kInlinedLine);
  EXPECT_EQ(basename(frames[0].file), "symbolizer_test.cpp");
  EXPECT_FALSE(frames[1].inlined);
  EXPECT_EQ(*frames[1].function, "libleak::(anonymous namespace)::calls_inlined_helper()");
  EXPECT_EQ(frames[1].line, kInlineCallLine);
  EXPECT_EQ(basename(frames[1].file), "symbolizer_test.cpp");
}

TEST(Symbolizer, MissingModuleGivesPathAndOffset) {
  auto s = test::basic_spec();
  test::ModuleSpec m;
  m.record = {0x10000, 0x11000, 0x20000, 0, UINT32_MAX, 0, 0};
  m.path = "/nonexistent/libgone.so";
  s.modules = {m};
  s.callsites = {test::callsite(1, 1, 8, {0x11234, 0x90000})};
  Trace t = parse_trace(test::build_trace(s));
  Symbolizer sym;
  auto frames = sym.symbolize(t, t.callsites[0]);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].module_path(), "/nonexistent/libgone.so");
  EXPECT_EQ(frames[0].module_offset, 0x1234u);
  EXPECT_FALSE(frames[0].function);
  EXPECT_FALSE(frames[0].file);
  EXPECT_FALSE(frames[0].line);
  EXPECT_EQ(frames[1].module_path(), "");  // no module contains it
  EXPECT_EQ(frames[1].module_offset, 0x90000u);
  EXPECT_FALSE(frames[1].function);
}

TEST(Symbolizer, BuildIdMismatchWarnsOnceAndStillSymbolizes) {
  uint64_t ra = known_call_site();
  Trace t = self_trace({ra, ra}, {1, 2, 3, 4});
  std::vector<std::string> warnings;
  Symbolizer sym(SymbolizerOptions{.read_debug_info = true,
                                   .warn = [&](const std::string& w) { warnings.push_back(w); }});
  auto frames = sym.symbolize(t, t.callsites[0]);
  sym.symbolize(t, t.callsites[0]);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("build-id mismatch"), std::string::npos);
  EXPECT_EQ(frames[0].line, kKnownLine);
}

TEST(Symbolizer, NoDebugInfoModeNeverReadsFiles) {
  uint64_t ra = known_call_site();
  Trace t = self_trace({ra});
  Symbolizer sym(SymbolizerOptions{.read_debug_info = false, .warn = {}});
  auto frames = sym.symbolize(t, t.callsites[0]);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(frames[0].function);
  EXPECT_EQ(frames[0].module_path(), t.modules[0].path);
}

// 5,000 callsites x 32 frames over this binary's text: the cache must make this fast.
TEST(Symbolizer, ManyCallsitesAreFast) {
  auto s = test::basic_spec();
  auto m = self_module();
  s.modules = {m};
  uint64_t base = known_call_site();
  for (uint64_t i = 0; i < 5000; ++i) {
    std::vector<uint64_t> frames;
    for (uint64_t d = 0; d < 32; ++d) frames.push_back(base + ((i * 7 + d * 131) % 4096));
    s.callsites.push_back(test::callsite(i, 1, 8, frames));
  }
  Trace t = parse_trace(test::build_trace(s));
  Symbolizer sym;
  auto start = std::chrono::steady_clock::now();
  size_t n = 0;
  for (const auto& c : t.callsites) n += sym.symbolize(t, c).size();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(n, 5000u * 32);
  RecordProperty("seconds", std::to_string(secs));
  EXPECT_LT(secs, 5.0);  // generous under ASan; the release CLI budget (0.5 s) is checked by hand
}

}  // namespace
}  // namespace libleak
