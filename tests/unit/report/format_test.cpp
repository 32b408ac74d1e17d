// Golden output of both report formats for a small trace (symbolization off, so the output does
// not depend on the machine). After a deliberate format change, regenerate with
// LIBLEAK_UPDATE_GOLDEN=1 ./report_unit_tests --gtest_filter='Format*' and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "report/format_json.h"
#include "report/format_text.h"
#include "trace_builder.h"

namespace libleak {
namespace {

std::vector<ProcessReport> sample() {
  auto s = test::basic_spec();
  test::ModuleSpec app;
  app.record = {0x400000, 0x401000, 0x402000, 0, UINT32_MAX, 0, 0};
  app.path = "/home/u/ext";
  s.modules = {app};
  auto a = test::callsite(0x11, 20000, 160000, {0x401100, 0x401200});
  a.record.unreachable_blocks = 20000, a.record.unreachable_bytes = 160000;
  auto b = test::callsite(0x22, 3, 96, {0x401300});
  b.record.indirect_blocks = 1, b.record.indirect_bytes = 32;
  b.record.domain = trace::kDomainGmp;
  s.callsites = {a, b};
  trace::StatsRecord st{};
  st.allocations = 30000;
  st.peak_live_bytes = 240000;
  st.dropped_blocks = 5;
  s.stats = st;
  s.process.flags |= trace::kFlagPythonMallocForced;
  s.command = {"./ext", "a \"b\""};
  Symbolizer sym(SymbolizerOptions{.read_debug_info = false, .warn = {}});
  AnalysisOptions o;
  o.suppressions = {{"nothing", SuppressionSource::kFile}};
  return {analyze(parse_trace(test::build_trace(s)), sym, o, "t.bin")};
}

void expect_golden(const std::string& name, const std::string& actual) {
  std::string path = std::string(LIBLEAK_GOLDEN_DIR) + "/" + name;
  if (std::getenv("LIBLEAK_UPDATE_GOLDEN")) std::ofstream(path, std::ios::binary) << actual;
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden file " << path;
}

TEST(FormatText, Golden) { expect_golden("sample.txt", format_text(sample(), TextOptions{})); }

TEST(FormatText, ReachableAndTop) {
  auto text = format_text(sample(), TextOptions{.top = 1, .show_reachable = true});
  EXPECT_NE(text.find("#1 unreachable: 160000 bytes"), std::string::npos);
  EXPECT_EQ(text.find("#2 "), std::string::npos);
  EXPECT_NE(text.find("... 2 more (use --top to list them)"), std::string::npos);
}

TEST(FormatJson, Golden) { expect_golden("sample.json", format_json(sample(), false)); }

TEST(FormatJson, MultiProcessShape) {
  auto reports = sample();
  reports.push_back(reports[0]);
  auto json = format_json(reports, true);
  EXPECT_EQ(json.rfind(R"({"libleak_report": 1, "processes": [)", 0), 0u);
  EXPECT_NE(json.find(R"("totals": {"leaked_bytes": 320064, "leaked_blocks": 40002)"), std::string::npos);
}

}  // namespace
}  // namespace libleak
