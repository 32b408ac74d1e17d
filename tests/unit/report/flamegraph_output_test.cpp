// The flame graph: one frame element per tree node with its byte range, self-contained HTML.
#include "report/format_flamegraph.h"

#include "output_test_support.h"

namespace libleak {
namespace {

TEST(FlamegraphOutput, NodesCarryByteRangesAndDepths) {
  std::vector<FoldedStack> stacks = {{{"main", "a"}, 300}, {{"main", "b"}, 100}, {{"init"}, 600}};
  std::string html = flamegraph_html(stacks, "leaked bytes: ./prog");
  // Children sorted by name: init [0,600), main [600,1000) with a [600,900) and b [900,1000).
  for (const char* node : {R"(data-x="0" data-w="1000" data-d="0" data-n="all")",
                           R"(data-x="0" data-w="600" data-d="1" data-n="init")",
                           R"(data-x="600" data-w="400" data-d="1" data-n="main")",
                           R"(data-x="600" data-w="300" data-d="2" data-n="a")",
                           R"(data-x="900" data-w="100" data-d="2" data-n="b")"}) {
    EXPECT_NE(html.find(node), std::string::npos) << node;
  }
  EXPECT_NE(html.find("<title>main: 400 bytes (40.00%)</title>"), std::string::npos);
  // Root at the bottom: depth 0 on the last of three rows (17 px each).
  EXPECT_NE(html.find(R"(<rect x="0.00" y="34" width="1199.50" height="16")"), std::string::npos);
  EXPECT_NE(html.find("<title>leaked bytes: ./prog</title>"), std::string::npos);
  EXPECT_NE(html.find("addEventListener('click'"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);  // nothing fetched
}

TEST(FlamegraphOutput, EscapesNames) {
  std::string html = flamegraph_html({{{"f<int>&\"x\""}, 10}}, "t");
  EXPECT_NE(html.find(R"(data-n="f&lt;int&gt;&amp;&quot;x&quot;")"), std::string::npos);
}

TEST(FlamegraphOutput, EmptyProfile) {
  EXPECT_NE(flamegraph_html({}, "t").find("nothing to show"), std::string::npos);
}

TEST(FlamegraphOutput, GoldenFixture) {
  auto a = test::analyze_fixture("outputs_n2.bin");
  test::expect_golden("flamegraph.html",
                      flamegraph_html(fold_stacks({a}, StackMetric::kLeaked), "leaked bytes"));
}

}  // namespace
}  // namespace libleak
