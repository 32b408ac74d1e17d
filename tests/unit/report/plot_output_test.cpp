// The SVG timeline plot: which series are drawn, where their points land, labels and units.
#include "report/format_plot.h"

#include <string>
#include <string_view>
#include <vector>

#include "output_test_support.h"
#include "report/error.h"

namespace libleak {
namespace {

test::TraceSpec with_timeline() {
  auto s = test::synthetic_spec();
  test::TimelineSpec t;
  t.interval_ms = 100;
  t.total = {0, 100, 300, 600};
  t.series = {{0x33, {64, 64, 64, 64}}, {0x22, {0, 2000, 0, 0}}, {0x11, {0, 100, 200, 400}}};
  s.timeline = t;
  return s;
}

// For each `open` in `text`: what lies between the next `from` and the `to` after it. A plain
// search: <regex> cost 187 lines of GCC warnings in the sanitizer build (issue 16).
std::vector<std::string> all(const std::string& text, std::string_view open, std::string_view from,
                             std::string_view to) {
  std::vector<std::string> out;
  for (size_t at = text.find(open); at != std::string::npos; at = text.find(open, at + 1)) {
    size_t begin = text.find(from, at + open.size());
    size_t end = begin == std::string::npos ? begin : text.find(to, begin + from.size());
    if (end == std::string::npos) break;
    out.push_back(text.substr(begin + from.size(), end - begin - from.size()));
  }
  return out;
}

TEST(PlotOutput, TotalAndSeriesPoints) {
  auto a = test::analyze_spec(with_timeline());
  std::string svg = plot_svg(a, PlotOptions{});
  // Max 2000 bytes: KiB axis up to 2.0 in steps of 0.5; 0..0.3 s in steps of 0.05. The plot area
  // spans x 90..930 and y 400 (zero) .. 50.
  auto points = all(svg, "<polyline class=\"", "points=\"", "\"");
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0], "90.0,400.0 370.0,382.9 650.0,348.7 930.0,297.5");  // total
  EXPECT_EQ(points[1], "90.0,400.0 370.0,382.9 650.0,365.8 930.0,331.6");  // 0x11 grows to the end
  EXPECT_EQ(points[2], "90.0,400.0 370.0,58.2 650.0,400.0 930.0,400.0");   // 0x22 peaked, then freed
  EXPECT_EQ(points[3], "90.0,389.1 370.0,389.1 650.0,389.1 930.0,389.1");  // 0x33 flat
  EXPECT_NE(svg.find(">live KiB</text>"), std::string::npos);
  EXPECT_NE(svg.find(">time (s)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">2</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.05</text>"), std::string::npos);
  EXPECT_NE(svg.find("live bytes over time: pid 1234: ./prog --flag"), std::string::npos);
  auto legend = all(svg, "<text x=\"122\" y=\"", "\">", "</text>");
  EXPECT_EQ(legend, (std::vector<std::string>{"total: 600 bytes at end",
                                              "app+0x1100 [unreachable, reachable]: 400 bytes at end",
                                              "app+0x1400: 0 bytes at end",
                                              "app+0x1500 [indirect]: 64 bytes at end"}));
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);  // nothing external
}

TEST(PlotOutput, TopLimitsSeries) {
  auto a = test::analyze_spec(with_timeline());
  std::string svg = plot_svg(a, PlotOptions{.top = 1});
  EXPECT_EQ(all(svg, "<polyline class=\"", "", "\"").size(), 2u);  // the total and one series
  EXPECT_EQ(all(svg, "<polyline class=\"series\"", "", "").size(), 1u);
  EXPECT_NE(svg.find("app+0x1100"), std::string::npos);
  EXPECT_EQ(svg.find("app+0x1400"), std::string::npos);
}

TEST(PlotOutput, NoTimelineIsAnError) {
  auto a = test::analyze_spec(test::synthetic_spec());
  EXPECT_THROW(plot_svg(a, PlotOptions{}), Error);
}

TEST(PlotOutput, NiceSteps) {
  EXPECT_DOUBLE_EQ(nice_step(1.953, 5), 0.5);
  EXPECT_DOUBLE_EQ(nice_step(100, 5), 20);
  EXPECT_DOUBLE_EQ(nice_step(7, 8), 1);
  EXPECT_DOUBLE_EQ(nice_step(0, 5), 1);
}

TEST(PlotOutput, GoldenFixture) {
  auto a = test::analyze_fixture("outputs_n2.bin");
  test::expect_golden("plot.svg", plot_svg(a, PlotOptions{}));
}

}  // namespace
}  // namespace libleak
