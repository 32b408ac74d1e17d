// Shared by the *_output_test.cpp files: a small synthetic trace with known answers, the checked-in
// fixture traces (tests/fixtures, see regenerate.sh) and golden-file comparison.
// Everything is symbolized without debug info (module+offset), so results depend on the bytes
// of the trace alone, never on binaries on the test machine.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "report/analysis.h"
#include "report/builtin_suppressions.h"
#include "report/stack_weights.h"
#include "report/trace_reader.h"
#include "trace_builder.h"

namespace libleak::test {

// A trace with one process, one module /bin/app at 0x400000 (build id deadbeef), and callsites:
//   0x11  app+0x1100 <- app+0x1200 <- app+0x1300: 10 allocs, 1000 bytes; live 4 blocks, 400 bytes,
//         3 blocks / 300 bytes unreachable (the other is reachable); peak 600
//   0x22  app+0x1400 <- app+0x1300: 5 allocs, 5000 bytes, all freed; peak 2000
//   0x33  app+0x1500 <- app+0x1200 <- app+0x1300: 2 allocs, 64 bytes, all live and indirect
// `bias` moves the module (as ASLR would) without changing any offset.
inline TraceSpec synthetic_spec(uint64_t bias = 0x400000) {
  auto s = basic_spec();
  ModuleSpec app;
  app.record = {bias, bias, bias + 0x10000, 0, UINT32_MAX, 0, 0};
  app.path = "/bin/app";
  app.build_id = {0xde, 0xad, 0xbe, 0xef};
  s.modules = {app};
  auto a = callsite(0x11, 4, 400, {bias + 0x1100, bias + 0x1200, bias + 0x1300});
  a.record.total_allocs = 10, a.record.total_bytes = 1000, a.record.peak_live_bytes = 600;
  a.record.unreachable_blocks = 3, a.record.unreachable_bytes = 300;
  auto b = callsite(0x22, 0, 0, {bias + 0x1400, bias + 0x1300});
  b.record.total_allocs = 5, b.record.total_bytes = 5000, b.record.peak_live_bytes = 2000;
  auto c = callsite(0x33, 2, 64, {bias + 0x1500, bias + 0x1200, bias + 0x1300});
  c.record.indirect_blocks = 2, c.record.indirect_bytes = 64;
  s.callsites = {a, b, c};
  return s;
}

// Module and offset only: the frames come from the trace alone.
inline std::shared_ptr<Symbolizer> offline_symbolizer() {
  return std::make_shared<Symbolizer>(SymbolizerOptions{.read_debug_info = false, .warn = {}});
}

// The analysis every format reads, with the built-in suppressions as the CLI applies them.
inline ProcessReport analyze_trace(Trace trace, std::string source = "t.bin") {
  AnalysisOptions options;
  options.suppressions = builtin_suppressions();
  return analyze(std::move(trace), offline_symbolizer(), options, std::move(source));
}

inline ProcessReport analyze_spec(const TraceSpec& spec) { return analyze_trace(parse_trace(build_trace(spec))); }

inline std::string fixture_path(const std::string& name) {
  return std::string(LIBLEAK_FIXTURES_DIR) + "/" + name;
}

// The fixture as the CLI would read it, with the source named as in the goldens.
inline ProcessReport analyze_fixture(const std::string& name) {
  return analyze_trace(read_trace_file(fixture_path(name)), name);
}

// Compares with tests/fixtures/golden/<name>; LIBLEAK_UPDATE_GOLDEN=1 rewrites it instead.
inline void expect_golden(const std::string& name, const std::string& actual) {
  std::string path = fixture_path("golden/" + name);
  if (std::getenv("LIBLEAK_UPDATE_GOLDEN")) std::ofstream(path, std::ios::binary) << actual;
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden file " << path << " (tests/fixtures/regenerate.sh)";
}

}  // namespace libleak::test
