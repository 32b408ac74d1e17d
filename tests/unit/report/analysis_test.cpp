// Verdicts, the growing rule, blame, suppressions accounting, totals and the gate, with exact
// values. Symbolization is off (module + offset only) so frames come straight from the trace.
#include <gtest/gtest.h>

#include "report/analysis.h"
#include "report/builtin_suppressions.h"
#include "report/error.h"
#include "trace_builder.h"

namespace libleak {
namespace {

using test::basic_spec;
using test::build_trace;
using test::callsite;

ProcessReport run(const test::TraceSpec& s, const AnalysisOptions& o = {}) {
  Symbolizer sym(SymbolizerOptions{.read_debug_info = false, .warn = {}});
  return analyze(parse_trace(build_trace(s)), sym, o, "t.bin");
}

void set_born(trace::CallsiteRecord& r, std::initializer_list<int> buckets) {
  for (int b : buckets) r.born[b] = 1;
}

TEST(Growing, NeedsTenOfTwelveLateBucketsAndThreeOfTheLastFour) {
  uint32_t born[16] = {};
  for (int b = 4; b < 16; ++b) born[b] = 1;
  EXPECT_TRUE(is_growing(born, 16));
  born[5] = born[7] = 0;  // two missing in 4..11: still growing
  EXPECT_TRUE(is_growing(born, 16));
  born[13] = 0;  // a third missing
  EXPECT_FALSE(is_growing(born, 16));
  born[7] = 1;  // 10 of 12, one empty in the last quarter
  EXPECT_TRUE(is_growing(born, 16));
  born[5] = 1;
  born[14] = 0;  // two empty in the last quarter
  EXPECT_FALSE(is_growing(born, 16));
}

TEST(Growing, StartupAndCacheShapesAreNotGrowing) {
  uint32_t startup[16] = {100, 5};
  EXPECT_FALSE(is_growing(startup, 1000));
  uint32_t cache[16] = {};
  for (int b = 13; b < 16; ++b) cache[b] = 50;
  EXPECT_FALSE(is_growing(cache, 1000));
  uint32_t none[16] = {};
  EXPECT_FALSE(is_growing(none, 1000));
}

TEST(Growing, NeedsEightEpochs) {
  uint32_t born[16];
  for (auto& b : born) b = 1;
  EXPECT_FALSE(is_growing(born, 7));
  EXPECT_TRUE(is_growing(born, 8));
  EXPECT_FALSE(is_growing(born, 0));
}

TEST(Growing, FewEpochsOnlyCountBucketsThatCanFill) {
  // With 8 epochs, epoch e lands in bucket 2e: only even buckets can hold blocks.
  uint32_t born[16] = {};
  for (int b = 0; b < 16; b += 2) born[b] = 1;
  EXPECT_TRUE(is_growing(born, 8));
  born[14] = 0;  // the last quarter has only two possible buckets: both are needed
  EXPECT_FALSE(is_growing(born, 8));
}

TEST(Verdicts, ScanSplitsDirectIndirectAndReachable) {
  auto s = basic_spec();
  auto c = callsite(0x10, 10, 1000);
  c.record.unreachable_blocks = 4, c.record.unreachable_bytes = 400;
  c.record.indirect_blocks = 2, c.record.indirect_bytes = 200;
  s.callsites.push_back(c);
  auto r = run(s);
  ASSERT_EQ(r.leaks.size(), 3u);
  EXPECT_EQ(r.leaks[0].verdict, Verdict::kUnreachable);
  EXPECT_FALSE(r.leaks[0].indirect);
  EXPECT_EQ(r.leaks[0].bytes, 400u);
  EXPECT_EQ(r.leaks[1].verdict, Verdict::kReachable);
  EXPECT_EQ(r.leaks[1].bytes, 400u);
  EXPECT_EQ(r.leaks[1].blocks, 4u);
  EXPECT_EQ(r.leaks[2].verdict, Verdict::kUnreachable);
  EXPECT_TRUE(r.leaks[2].indirect);
  EXPECT_EQ(r.leaks[2].bytes, 200u);
  EXPECT_EQ(r.leaked.bytes, 600u);  // unreachable incl. indirect
  EXPECT_EQ(r.leaked.blocks, 6u);
  EXPECT_EQ(r.by_verdict[0].bytes, 600u);
  EXPECT_EQ(r.indirect.bytes, 200u);
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(Verdict::kReachable)].bytes, 400u);
}

TEST(Verdicts, IndirectSortsAfterDirectOfEqualSize) {
  auto s = basic_spec();
  auto a = callsite(0x1, 1, 64), b = callsite(0x2, 1, 64);
  a.record.indirect_blocks = 1, a.record.indirect_bytes = 64;
  b.record.unreachable_blocks = 1, b.record.unreachable_bytes = 64;
  s.callsites = {a, b};
  auto r = run(s);
  ASSERT_EQ(r.leaks.size(), 2u);
  EXPECT_FALSE(r.leaks[0].indirect);
  EXPECT_EQ(r.leaks[0].stack_hash, 0x2u);
  EXPECT_TRUE(r.leaks[1].indirect);
}

TEST(Verdicts, NoScanMeansUnfreedAndGrowing) {
  auto s = basic_spec();
  s.process.flags = 0;
  s.process.exit_kind = trace::kExitRunning;
  auto steady = callsite(0x1, 3, 300);
  steady.record.unreachable_blocks = 3;  // ignored without a scan
  steady.record.unreachable_bytes = 300;
  set_born(steady.record, {0});
  auto growing = callsite(0x2, 12, 1200);
  set_born(growing.record, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  s.callsites = {steady, growing};
  auto r = run(s);
  ASSERT_EQ(r.leaks.size(), 2u);
  EXPECT_EQ(r.leaks[0].verdict, Verdict::kGrowing);
  EXPECT_EQ(r.leaks[1].verdict, Verdict::kUnfreed);
  EXPECT_EQ(r.gated, (VerdictSet{Verdict::kUnfreed, Verdict::kGrowing}));
  EXPECT_EQ(r.leaked.bytes, 1500u);
}

TEST(Verdicts, GrowingWithScan) {
  auto s = basic_spec();
  auto c = callsite(0x1, 12, 1200);
  set_born(c.record, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  s.callsites = {c};
  auto r = run(s);
  ASSERT_EQ(r.leaks.size(), 1u);
  EXPECT_EQ(r.leaks[0].verdict, Verdict::kGrowing);
  EXPECT_EQ(r.leaked.bytes, 1200u);
}

TEST(Verdicts, GateVerdictsOption) {
  EXPECT_EQ(parse_verdict_set("reachable,unfreed"),
            (VerdictSet{Verdict::kReachable, Verdict::kUnfreed}));
  EXPECT_THROW(parse_verdict_set("unreachable,bogus"), Error);
  EXPECT_THROW(parse_verdict_set(""), Error);
  auto s = basic_spec();
  s.callsites = {callsite(0x1, 2, 50)};
  AnalysisOptions o;
  o.gate_verdicts = VerdictSet{Verdict::kReachable};
  EXPECT_EQ(run(s, o).leaked.bytes, 50u);
  EXPECT_EQ(run(s).leaked.bytes, 0u);
}

TEST(Blame, SkipsRuntimeModules) {
  EXPECT_TRUE(is_runtime_module("/lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_TRUE(is_runtime_module("/usr/lib/libstdc++.so.6.0.30"));
  EXPECT_TRUE(is_runtime_module("/lib64/ld-linux-x86-64.so.2"));
  EXPECT_TRUE(is_runtime_module("/usr/bin/python3.11"));
  EXPECT_TRUE(is_runtime_module("/usr/lib/libpython3.11.so.1.0"));
  EXPECT_TRUE(is_runtime_module("/work/build/libleak.so"));
  EXPECT_TRUE(is_runtime_module("libgmp.so.10"));
  EXPECT_TRUE(is_runtime_module("/lib/libgcc_s.so.1"));
  EXPECT_TRUE(is_runtime_module("/lib/libunwind.so.8"));
  EXPECT_TRUE(is_runtime_module("/lib/libm.so.6"));
  EXPECT_FALSE(is_runtime_module("/usr/lib/libcrypto.so.3"));
  EXPECT_FALSE(is_runtime_module("/home/u/app"));
  EXPECT_FALSE(is_runtime_module("/home/u/libleak.so.bak"));
  std::vector<Frame> frames(3);
  frames[0].module = make_text("/lib/libc.so.6");
  frames[1].module = make_text("/usr/lib/libstdc++.so.6");
  frames[2].module = make_text("/app");
  EXPECT_EQ(blame_frame(frames), 2u);
  frames[2].module = make_text("/lib/libc.so.6");
  EXPECT_EQ(blame_frame(frames), 0u);
}

test::TraceSpec two_module_spec() {
  auto s = basic_spec();
  test::ModuleSpec libc, app;
  libc.record = {0x7f0000000000, 0x7f0000001000, 0x7f0000009000, 0, UINT32_MAX, 0, 0};
  libc.path = "/lib/libc.so.6";
  app.record = {0x400000, 0x401000, 0x402000, 0, UINT32_MAX, 0, 0};
  app.path = "/home/u/app";
  s.modules = {libc, app};
  return s;
}

TEST(Blame, UsesModulesFromTrace) {
  auto s = two_module_spec();
  auto c = callsite(0x1, 1, 10, {0x7f0000001234, 0x401100});
  c.record.unreachable_blocks = 1, c.record.unreachable_bytes = 10;
  s.callsites = {c};
  auto r = run(s);
  ASSERT_EQ(r.leaks.size(), 1u);
  EXPECT_EQ(r.leaks[0].blame, 1u);
  const Frame& f = (*r.leaks[0].stack)[1];
  EXPECT_EQ(f.module_path(), "/home/u/app");
  EXPECT_EQ(f.module_offset, 0x1100u);  // address - load_bias
}

TEST(Modules, GenerationsSelectTheRightLibrary) {
  auto s = basic_spec();
  test::ModuleSpec old_lib, new_lib;
  old_lib.record = {0x7000, 0x7000, 0x9000, 0, 3, 0, 0};
  old_lib.path = "/old.so";
  new_lib.record = {0x7000, 0x7000, 0x9000, 3, UINT32_MAX, 0, 0};
  new_lib.path = "/new.so";
  s.modules = {old_lib, new_lib};
  Trace t = parse_trace(build_trace(s));
  EXPECT_EQ(find_module(t, 0x7100, 2)->path, "/old.so");
  EXPECT_EQ(find_module(t, 0x7100, 3)->path, "/new.so");
  EXPECT_EQ(find_module(t, 0x9000, 3), nullptr);
  EXPECT_EQ(find_module(t, 0x6fff, 3), nullptr);
}

TEST(Suppressions, HideEntriesAndAccountForThem) {
  auto s = two_module_spec();
  auto a = callsite(0x1, 2, 20, {0x7f0000001234, 0x401100});
  a.record.unreachable_blocks = 2, a.record.unreachable_bytes = 20;
  auto b = callsite(0x2, 5, 500, {0x401200});
  b.record.unreachable_blocks = 3, b.record.unreachable_bytes = 300;
  s.callsites = {a, b};
  AnalysisOptions o;
  o.suppressions = {{"libc.so", SuppressionSource::kFile}, {"nomatch", SuppressionSource::kBuiltin}};
  auto r = run(s, o);
  ASSERT_EQ(r.leaks.size(), 2u);  // b's unreachable and reachable entries
  EXPECT_EQ(r.leaked.bytes, 300u);
  ASSERT_EQ(r.suppressions.size(), 1u);
  EXPECT_EQ(r.suppressions[0].suppression.pattern, "libc.so");
  EXPECT_EQ(r.suppressions[0].hidden.bytes, 20u);
  EXPECT_EQ(r.suppressions[0].hidden.blocks, 2u);
  // Suppressing b hides both its entries, reachable included.
  o.suppressions = {{"^/home/u/app$", SuppressionSource::kBuiltin}};
  r = run(s, o);
  EXPECT_TRUE(r.leaks.empty());
  EXPECT_EQ(r.leaked.bytes, 0u);
  ASSERT_EQ(r.suppressions.size(), 1u);
  EXPECT_EQ(r.suppressions[0].hidden.bytes, 520u);
  EXPECT_EQ(r.suppressions[0].hidden.blocks, 7u);
}

TEST(Suppressions, BuiltinEntriesAreMarkedBuiltin) {
  for (const auto& s : builtin_suppressions()) {
    EXPECT_EQ(s.source, SuppressionSource::kBuiltin) << s.pattern;
    EXPECT_FALSE(s.pattern.empty());
  }
}

TEST(Totals, StatsWinOverCallsiteSums) {
  auto s = basic_spec();
  s.callsites = {callsite(0x1, 2, 50), callsite(0x2, 1, 70)};
  auto r = run(s);
  EXPECT_EQ(r.allocations, 3u);
  EXPECT_EQ(r.peak_live_bytes, 70u);
  trace::StatsRecord st{};
  st.allocations = 99;
  st.peak_live_bytes = 1000;
  s.stats = st;
  r = run(s);
  EXPECT_EQ(r.allocations, 99u);
  EXPECT_EQ(r.peak_live_bytes, 1000u);
}

std::vector<ProcessReport> leaking_reports() {
  auto s = two_module_spec();
  auto c = callsite(0x1, 20000, 160000, {0x7f0000001234, 0x401100});
  c.record.unreachable_blocks = 20000, c.record.unreachable_bytes = 160000;
  s.callsites = {c};
  return {run(s)};
}

TEST(Gate, ExitCodes) {
  auto reports = leaking_reports();
  EXPECT_EQ(apply_gate(reports, std::nullopt).exit_code, kExitOk);
  EXPECT_EQ(apply_gate(reports, std::nullopt).message, "");
  auto fail = apply_gate(reports, 0);
  EXPECT_EQ(fail.exit_code, kExitGateFailed);
  EXPECT_EQ(fail.message,
            "FAIL: 160000 bytes in 20000 blocks leaked (unreachable, growing) > limit 0 bytes; "
            "top: 160000 bytes in app+0x1100");
  auto pass = apply_gate(reports, 160000);
  EXPECT_EQ(pass.exit_code, kExitOk);
  EXPECT_EQ(pass.message,
            "PASS: 160000 bytes in 20000 blocks leaked (unreachable, growing) <= limit 160000 bytes");
}

TEST(Gate, AppliesToTheTotalOfSeveralProcesses) {
  auto reports = leaking_reports();
  reports.push_back(reports[0]);
  EXPECT_EQ(combine(reports).leaked.bytes, 320000u);
  EXPECT_EQ(apply_gate(reports, 200000).exit_code, kExitGateFailed);
  EXPECT_EQ(apply_gate(reports, 320000).exit_code, kExitOk);
}

TEST(Gate, DescribeFrameWithSymbol) {
  Frame f;
  f.function = make_text("leak_double");
  f.file = make_text("/src/ext.c");
  f.line = 12;
  EXPECT_EQ(describe_frame(f), "leak_double (ext.c:12)");
}

}  // namespace
}  // namespace libleak
