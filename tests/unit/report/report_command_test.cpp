// The output registry and the report command that another tool (the libleak runner) reuses:
// the same options on any CLI::App, the pipeline writing to the caller's streams.
#include "report/report_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "output_test_support.h"
#include "report/error.h"
#include "report/formats.h"

namespace libleak {
namespace {

std::vector<std::string> names(Format::Kind kind) {
  std::vector<std::string> out;
  for (const Format* f : all_formats()) {
    if (f->kind == kind) out.emplace_back(f->name);
  }
  return out;
}

TEST(Formats, RegistryListsReportFormatsAndSideOutputs) {
  EXPECT_EQ(names(Format::Kind::kReport), (std::vector<std::string>{"text", "json", "collapsed", "pprof"}));
  EXPECT_EQ(names(Format::Kind::kSideFile), (std::vector<std::string>{"plot", "flamegraph"}));
  ASSERT_NE(find_format("pprof"), nullptr);
  EXPECT_EQ(find_format("pprof")->needs_file, "FILE.pb.gz");
  EXPECT_TRUE(find_format("plot")->single_process);
  EXPECT_EQ(find_format("xml"), nullptr);
}

TEST(ReportCommand, DeclaresTheOptionsOnAnyApp) {
  CLI::App app{"other tool"};
  ReportOptions o;
  declare_report_options(app, o);
  app.parse("--format json --plot p.svg --flamegraph f.html --flame-metric peak --top 3 --fail-above 1MiB", false);
  EXPECT_EQ(o.format, "json");
  EXPECT_EQ(o.side_files["plot"], "p.svg");
  EXPECT_EQ(o.side_files["flamegraph"], "f.html");
  EXPECT_EQ(o.flame_metric, "peak");
  EXPECT_EQ(o.top, 3u);
  EXPECT_EQ(o.fail_above, "1MiB");
  EXPECT_TRUE(o.inputs.empty());  // the traces are each tool's own
  CLI::App strict{"other tool"};
  ReportOptions s;
  declare_report_options(strict, s);
  EXPECT_THROW(strict.parse("--format xml", false), CLI::ValidationError);
}

std::string contents(std::FILE* f) {
  std::string s(static_cast<size_t>(std::ftell(f)), '\0');
  std::rewind(f);
  EXPECT_EQ(std::fread(s.data(), 1, s.size(), f), s.size());
  return s;
}

TEST(ReportCommand, WritesToTheCallersStreams) {
  ReportOptions o;
  o.inputs = {test::fixture_path("outputs_n2.bin")};
  o.format = "collapsed";
  o.no_symbolize = true;
  o.fail_above = "0";
  std::FILE* report = std::tmpfile();
  std::FILE* messages = std::tmpfile();
  ASSERT_TRUE(report && messages);
  int rc = run_report(o, ReportStreams{report, "<report>", messages, "libleak"});
  EXPECT_EQ(rc, kExitGateFailed);
  std::ifstream golden(test::fixture_path("golden/collapsed_leaked.txt"), std::ios::binary);
  std::stringstream expected;
  expected << golden.rdbuf();
  EXPECT_EQ(contents(report), expected.str());
  EXPECT_EQ(contents(messages),
            "libleak: FAIL: 33600 bytes in 90 blocks leaked (unreachable, growing) > limit 0 bytes; top: 30720 "
            "bytes in outputs_leaky+0x11e3\n");
  std::fclose(report);
  std::fclose(messages);
}

TEST(ReportCommand, OptionsAreCheckedBeforeAnyTraceIsRead) {
  ReportOptions o;
  o.inputs = {"/nonexistent/trace.bin"};
  o.format = "pprof";
  try {
    run_report(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--format pprof needs -o FILE.pb.gz");
  }
}

TEST(ReportCommand, SingleProcessSideOutputNamesItsFile) {
  ReportOptions o;
  o.inputs = {test::fixture_path("outputs_n1.bin"), test::fixture_path("outputs_n2.bin")};
  o.no_symbolize = true;
  o.side_files["plot"] = "/nonexistent/p.svg";
  std::FILE* sink = std::tmpfile();
  ASSERT_TRUE(sink);
  try {
    run_report(o, ReportStreams{.report = sink});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.source(), "/nonexistent/p.svg");
    EXPECT_STREQ(e.what(), "--plot takes a single trace");
  }
  EXPECT_GT(std::ftell(sink), 0);  // the report came first, as with leakreport
  std::fclose(sink);
}

}  // namespace
}  // namespace libleak
