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
  auto c = test::callsite(0x33, 4, 40, {0x401400, 0x401500});
  c.record.unreachable_blocks = 4, c.record.unreachable_bytes = 40;
  s.callsites = {a, b, c};
  s.python = test::PythonSpec{{{0x33, {{1, 7, "/home/u/job.py", "Job.run"},
                                       {UINT32_MAX, 3, "/home/u/job.py", "<module>"}}}}};
  s.process.start_time_ns = 1000000000000;
  s.marks = test::MarksSpec{{{1001500000000, 3, "warm-up done"}}, {{0x33, 0, 0, 3, 30}}};
  trace::StatsRecord st{};
  st.allocations = 30000;
  st.peak_live_bytes = 240000;
  st.dropped_blocks = 5;
  s.stats = st;
  s.process.flags |= trace::kFlagPythonMallocForced;
  s.command = {"./ext", "a \"b\""};
  auto sym = std::make_shared<Symbolizer>(SymbolizerOptions{.read_debug_info = false, .warn = {}});
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

TEST(FormatText, Golden) { expect_golden("sample.txt", format_text(Report{.processes = sample()}, TextOptions{})); }

TEST(FormatText, ReachableAndTop) {
  auto text = format_text(Report{.processes = sample()}, TextOptions{.top = 1, .show_reachable = true});
  EXPECT_NE(text.find("#1 unreachable: 160000 bytes"), std::string::npos);
  EXPECT_EQ(text.find("#2 "), std::string::npos);
  EXPECT_NE(text.find("... 3 more (use --top to list them)"), std::string::npos);
}

TEST(FormatText, PythonFramesAndMarks) {
  auto text = format_text(Report{.processes = sample()}, TextOptions{});
  EXPECT_NE(text.find("  > #0 0x401400 ?? [ext+0x1400]  called from job.py:7 in Job.run\n"
                      "    #1 Job.run (job.py:7) [python]\n"
                      "    #2 <module> (job.py:3) [python]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mark 0 \"warm-up done\" at +1.500 s: 30 bytes in 3 blocks allocated after it still live\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("#2 unreachable: 40 bytes in 4 blocks (malloc)\n"
                      "    after mark 0 \"warm-up done\": 30 bytes in 3 blocks of this callsite still live\n"),
            std::string::npos)
      << text;
}

TEST(FormatText, HowTheTraceEnded) {
  auto report = sample();
  auto lines_about_exit = [&](uint32_t kind, int32_t code) {
    report[0].process.exit_kind = kind;
    report[0].process.exit_code = code;
    std::string text = format_text(Report{.processes = report}, TextOptions{}), found;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.find("exit") != std::string::npos || line.find("trace ends") != std::string::npos) {
        found += line + "\n";
      }
    }
    return found;
  };
  EXPECT_EQ(lines_about_exit(trace::kExitRunning, 0),
            "the trace ends at a periodic or on-demand write: the process was still running then, or was "
            "killed (SIGKILL, OOM) before its next write\n");
  EXPECT_EQ(lines_about_exit(trace::kExitSignal, 9), "the process did not exit normally: killed by signal 9\n");
  EXPECT_EQ(lines_about_exit(trace::kExitFast, 3), "the process did not exit normally: _exit(3)\n");
  EXPECT_EQ(lines_about_exit(trace::kExitNormal, 0), "");
}

TEST(FormatText, ColourOnlyWhenAsked) {
  auto plain = format_text(Report{.processes = sample()}, TextOptions{});
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  auto coloured = format_text(Report{.processes = sample()}, TextOptions{.color = true});
  EXPECT_NE(coloured.find("\x1b[1;31m#1 unreachable: 160000 bytes (156.2 KiB) in 20000 blocks\x1b[0m"),
            std::string::npos);
  EXPECT_NE(coloured.find("\x1b[36mcalled from job.py:7 in Job.run\x1b[0m"), std::string::npos);
  // Without the escape codes it is the plain report.
  std::string stripped;
  for (size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\x1b') {
      i = coloured.find('m', i);
      continue;
    }
    stripped += coloured[i];
  }
  EXPECT_EQ(stripped, plain);
}

TEST(FormatText, ColorWanted) {
  EXPECT_TRUE(color_wanted("auto", true, nullptr));
  EXPECT_TRUE(color_wanted("auto", true, ""));  // NO_COLOR only counts when not empty
  EXPECT_FALSE(color_wanted("auto", true, "1"));
  EXPECT_FALSE(color_wanted("auto", false, nullptr));
  EXPECT_TRUE(color_wanted("always", false, "1"));
  EXPECT_FALSE(color_wanted("never", true, nullptr));
}

TEST(FormatText, ShortensLongCxxNames) {
  EXPECT_EQ(shorten_name("main"), "main");
  std::string short_enough = "std::vector<int, std::allocator<int> >::push_back(int&&)";
  ASSERT_LE(short_enough.size(), kShortNameLimit);
  EXPECT_EQ(shorten_name(short_enough), short_enough);
  EXPECT_EQ(shorten_name("std::vector<std::__cxx11::basic_string<char, std::char_traits<char>, "
                         "std::allocator<char> >, std::allocator<std::__cxx11::basic_string<char, "
                         "std::char_traits<char>, std::allocator<char> > > >::push_back("
                         "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)"),
            "std::vector<...>::push_back(...)");
  EXPECT_EQ(shorten_name("std::basic_ostream<char, std::char_traits<char> >& std::operator<< "
                         "<std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char const*)"),
            "std::basic_ostream<...>& std::operator<< <...>(...)");
  EXPECT_EQ(shorten_name("(anonymous namespace)::Cache<long, std::shared_ptr<Widget> >::operator()"
                         "(long) const::{lambda(int)#1}::operator()(int) const"),
            "(anonymous namespace)::Cache<...>::operator()(...) const::{lambda(...)#1}::operator()(...) const");
  EXPECT_EQ(shorten_name("std::_Function_handler<void (), Worker::start()::{lambda()#1}>::_M_invoke(std::_Any_data const&)"),
            "std::_Function_handler<...>::_M_invoke(...)");
  EXPECT_EQ(shorten_name("f<int>()", 3), "f<...>()");  // empty lists stay as they are
  EXPECT_EQ(shorten_name("broken<name(", 3), "broken<name(");
}

TEST(FormatJson, Golden) { expect_golden("sample.json", format_json(Report{.processes = sample(), .multi = false})); }

TEST(FormatJson, MultiProcessShape) {
  auto reports = sample();
  reports.push_back(reports[0]);
  auto json = format_json(Report{.processes = reports, .multi = true});
  EXPECT_EQ(json.rfind(R"({"libleak_report": 1, "processes": [)", 0), 0u);
  EXPECT_NE(json.find(R"("totals": {"leaked_bytes": 320144, "leaked_blocks": 40010)"), std::string::npos);
}

}  // namespace
}  // namespace libleak
