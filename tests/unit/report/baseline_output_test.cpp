// Baseline comparison: matching by symbolized stack across address layouts, deltas, the gate.
#include "report/baseline.h"

#include "output_test_support.h"
#include "report/format_json.h"
#include "report/format_text.h"

namespace libleak {
namespace {

// Before: 0x11 leaks 3 blocks (300 bytes), 0x33 leaks 2 (64). After (module moved by ASLR):
// 0x11 leaks 6 (600), 0x33 is fixed, and a new stack app+0x1600 leaks 1 block of 50 bytes.
void before_after(ProcessReport& before, ProcessReport& after) {
  before = test::analyze_spec(test::synthetic_spec());
  auto spec = test::synthetic_spec(0x7f0000000000);
  auto& a = spec.callsites[0].record;
  a.live_blocks = 7, a.live_bytes = 700, a.unreachable_blocks = 6, a.unreachable_bytes = 600;
  spec.callsites[2].record.indirect_blocks = 0, spec.callsites[2].record.indirect_bytes = 0;
  auto d = test::callsite(0x44, 1, 50, {0x7f0000001600, 0x7f0000001300});
  d.record.unreachable_blocks = 1, d.record.unreachable_bytes = 50;
  spec.callsites.push_back(d);
  after = test::analyze_spec(spec);
}

TEST(BaselineOutput, DeltasMatchedByStackNotAddress) {
  ProcessReport before, after;
  before_after(before, after);
  BaselineDiff d = diff_against_baseline({before}, {after}, "old.bin");
  EXPECT_EQ(d.before.bytes, 364u);
  EXPECT_EQ(d.now.bytes, 650u);
  EXPECT_EQ(d.increase.bytes, 350u);
  EXPECT_EQ(d.increase.blocks, 4u);
  EXPECT_EQ(d.shrunk, 1u);  // 0x33 no longer leaks
  ASSERT_EQ(d.grown.size(), 2u);
  EXPECT_EQ(d.grown[0].delta_bytes, 300);
  EXPECT_EQ(d.grown[0].delta_blocks, 3);
  EXPECT_FALSE(d.grown[0].is_new);
  EXPECT_EQ(d.grown[0].stack_hash, 0x11u);
  EXPECT_EQ(d.grown[1].delta_bytes, 50);
  EXPECT_TRUE(d.grown[1].is_new);

  EXPECT_EQ(baseline_json(d),
            R"({"source": "old.bin", "before": {"bytes": 364, "blocks": 5}, "now": {"bytes": 650, "blocks": 7}, )"
            R"("increase": {"bytes": 350, "blocks": 4}, "shrunk": 1, "leaks": [)"
            R"({"stack_hash": "0x0000000000000011", "bytes": 600, "blocks": 6, "delta_bytes": 300, "delta_blocks": 3, "new": false, "verdicts": ["unreachable"], "function": null, "file": null, "line": null}, )"
            R"({"stack_hash": "0x0000000000000044", "bytes": 50, "blocks": 1, "delta_bytes": 50, "delta_blocks": 1, "new": true, "verdicts": ["unreachable"], "function": null, "file": null, "line": null}]})");
}

TEST(BaselineOutput, GateAppliesToTheIncrease) {
  ProcessReport before, after;
  before_after(before, after);
  BaselineDiff d = diff_against_baseline({before}, {after}, "old.bin");
  GateResult fail = apply_baseline_gate(d, 349);
  EXPECT_EQ(fail.exit_code, kExitGateFailed);
  EXPECT_EQ(fail.message,
            "FAIL: leaks grew by 350 bytes in 4 blocks over baseline old.bin > limit 349 bytes; top: +300 bytes in "
            "app+0x1100");
  EXPECT_EQ(apply_baseline_gate(d, 350).exit_code, kExitOk);
  EXPECT_EQ(apply_baseline_gate(d, std::nullopt).message, "");
}

TEST(BaselineOutput, SameTraceHasNoIncrease) {
  auto a = test::analyze_spec(test::synthetic_spec());
  BaselineDiff d = diff_against_baseline({a}, {a}, "same.bin");
  EXPECT_EQ(d.increase.bytes, 0u);
  EXPECT_TRUE(d.grown.empty());
  EXPECT_EQ(apply_baseline_gate(d, 0).exit_code, kExitOk);
}

TEST(BaselineOutput, JsonMemberAppended) {
  auto a = test::analyze_spec(test::synthetic_spec());
  BaselineDiff d = diff_against_baseline({a}, {a}, "same.bin");
  for (bool multi : {false, true}) {
    std::string plain = format_json(Report{.processes = {a}, .multi = multi});
    ASSERT_EQ(plain.substr(plain.size() - 2), "}\n");
    EXPECT_EQ(format_json(Report{.processes = {a}, .multi = multi, .baseline = d}),
              plain.substr(0, plain.size() - 2) + ", \"baseline\": " + baseline_json(d) + "}\n");
  }
}

TEST(BaselineOutput, GoldenFixtureLeakDoubled) {
  auto n1 = test::analyze_fixture("outputs_n1.bin");
  auto n2 = test::analyze_fixture("outputs_n2.bin");
  BaselineDiff d = diff_against_baseline({n1}, {n2}, "outputs_n1.bin");
  // outputs_leaky loses one 48-byte block per iteration with n = 1, two with n = 2, 30 iterations.
  EXPECT_EQ(d.increase.blocks, 30u);
  EXPECT_EQ(d.increase.bytes, 30u * 48);
  Output out;
  write_baseline_text(out, d, 20);
  test::expect_golden("baseline.txt", out.str());
  test::expect_golden("baseline.json", baseline_json(d) + "\n");
}

}  // namespace
}  // namespace libleak
