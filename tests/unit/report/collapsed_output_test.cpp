// Folded stacks (--format collapsed) and the per-callsite metrics behind them and the flame graph.
#include "report/format_collapsed.h"

#include "output_test_support.h"
#include "report/error.h"

namespace libleak {
namespace {

std::string folded(StackMetric metric) {
  return format_collapsed(fold_stacks({test::analyze_spec(test::synthetic_spec())}, metric));
}

TEST(CollapsedOutput, LeakedCountsGatedVerdictsOnlyOutermostFirst) {
  // 0x11: 300 unreachable (its reachable 100 is not gated); 0x33: 64 indirect unreachable.
  EXPECT_EQ(folded(StackMetric::kLeaked),
            "app+0x1300;app+0x1200;app+0x1100 300\n"
            "app+0x1300;app+0x1200;app+0x1500 64\n");
}

TEST(CollapsedOutput, PeakAndAllocatedIncludeFreedCallsites) {
  EXPECT_EQ(folded(StackMetric::kPeak),
            "app+0x1300;app+0x1200;app+0x1100 600\n"
            "app+0x1300;app+0x1200;app+0x1500 64\n"
            "app+0x1300;app+0x1400 2000\n");
  EXPECT_EQ(folded(StackMetric::kAllocated),
            "app+0x1300;app+0x1200;app+0x1100 1000\n"
            "app+0x1300;app+0x1200;app+0x1500 64\n"
            "app+0x1300;app+0x1400 5000\n");
}

TEST(CollapsedOutput, SuppressedCallsiteLeftOut) {
  auto spec = test::synthetic_spec();
  AnalysisOptions options;
  options.suppressions = {{"app", SuppressionSource::kFile}};  // matches every frame's module
  ProcessReport a = analyze(parse_trace(test::build_trace(spec)), test::offline_symbolizer(), options, "t.bin");
  // 0x11 and 0x33 have live blocks hidden by the suppression; 0x22 freed everything.
  EXPECT_EQ(format_collapsed(fold_stacks({a}, StackMetric::kAllocated)),
            "app+0x1300;app+0x1400 5000\n");
}

TEST(CollapsedOutput, SeveralProcessesGetAProcessFrameAndSameStacksSum) {
  auto a = test::analyze_spec(test::synthetic_spec());
  auto spec = test::synthetic_spec(0x500000);
  spec.process.pid = 99;
  spec.command = {"/usr/bin/other;x", "arg"};
  auto b = test::analyze_spec(spec);
  EXPECT_EQ(format_collapsed(fold_stacks({a, b}, StackMetric::kLeaked)),
            "other:x (pid 99);app+0x1300;app+0x1200;app+0x1100 300\n"
            "other:x (pid 99);app+0x1300;app+0x1200;app+0x1500 64\n"
            "prog (pid 1234);app+0x1300;app+0x1200;app+0x1100 300\n"
            "prog (pid 1234);app+0x1300;app+0x1200;app+0x1500 64\n");
}

TEST(CollapsedOutput, FrameLabelKeepsOneFieldPerFrame) {
  Frame f;
  f.function = make_text("operator()<a;b>\nx");
  EXPECT_EQ(frame_label(f), "operator()<a:b> x");
  Frame unknown;
  unknown.module_offset = 0x10;
  EXPECT_EQ(frame_label(unknown), "?+0x10");
}

TEST(CollapsedOutput, MetricNames) {
  EXPECT_EQ(parse_stack_metric("peak"), StackMetric::kPeak);
  EXPECT_THROW(parse_stack_metric("live"), Error);
}

TEST(CollapsedOutput, GoldenFixture) {
  auto a = test::analyze_fixture("outputs_n2.bin");
  for (StackMetric m : {StackMetric::kLeaked, StackMetric::kPeak, StackMetric::kAllocated}) {
    test::expect_golden(std::string("collapsed_") + to_string(m) + ".txt",
                        format_collapsed(fold_stacks({a}, m)));
  }
}

}  // namespace
}  // namespace libleak
