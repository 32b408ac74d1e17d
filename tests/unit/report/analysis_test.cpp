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
  auto sym = std::make_shared<Symbolizer>(SymbolizerOptions{.read_debug_info = false, .warn = {}});
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
  EXPECT_EQ(find_module(t.modules, 0x7100, 2)->path, "/old.so");
  EXPECT_EQ(find_module(t.modules, 0x7100, 3)->path, "/new.so");
  EXPECT_EQ(find_module(t.modules, 0x9000, 3), nullptr);
  EXPECT_EQ(find_module(t.modules, 0x6fff, 3), nullptr);
}

// A library registered just after the callsite was stamped: no module was loaded at the
// callsite's generation, so the first one registered after it is used.
TEST(Modules, FallsBackToTheNextGeneration) {
  auto s = basic_spec();
  test::ModuleSpec gone, later, latest;
  gone.record = {0x7000, 0x7000, 0x9000, 0, 3, 0, 0};
  gone.path = "/gone.so";
  latest.record = {0x7000, 0x7000, 0x9000, 9, UINT32_MAX, 0, 0};
  latest.path = "/latest.so";
  later.record = {0x7000, 0x7000, 0x9000, 6, 9, 0, 0};
  later.path = "/later.so";
  s.modules = {gone, latest, later};
  Trace t = parse_trace(build_trace(s));
  EXPECT_EQ(find_module(t.modules, 0x7100, 2)->path, "/gone.so");  // loaded then: no fallback
  EXPECT_EQ(find_module(t.modules, 0x7100, 4)->path, "/later.so");  // smallest load_gen above 4
  EXPECT_EQ(find_module(t.modules, 0x7100, 7)->path, "/later.so");
  EXPECT_EQ(find_module(t.modules, 0x7100, 9)->path, "/latest.so");
  EXPECT_EQ(find_module(t.modules, 0x9100, 4), nullptr);  // no module contains the address
}

// libc malloc <- ext.so leak_double <- python3.11 vectorcall <- eval loop running first() and
// run(), then <module> beyond the recorded native frames.
test::TraceSpec python_spec() {
  auto s = two_module_spec();
  test::ModuleSpec python, ext;
  python.record = {0, 0x500000, 0x600000, 0, UINT32_MAX, 0, 0};
  python.path = "/usr/bin/python3.11";
  ext.record = {0x800000, 0x801000, 0x802000, 0, UINT32_MAX, 0, 0};
  ext.path = "/x/ext.so";
  s.modules.push_back(python);
  s.modules.push_back(ext);
  auto a = callsite(0xa, 3, 24, {0x7f0000001234, 0x801100, 0x500100, 0x500200});
  a.record.unreachable_blocks = 3, a.record.unreachable_bytes = 24;
  auto b = callsite(0xb, 1, 32, {0x7f0000001234, 0x500300, 0x500200});
  b.record.unreachable_blocks = 1, b.record.unreachable_bytes = 32;
  s.callsites = {a, b};
  s.python = test::PythonSpec{{
      {0xa, {{3, 12, "/s/script.py", "first"}, {3, 20, "/s/script.py", "run"},
             {UINT32_MAX, 30, "/s/script.py", "<module>"}}},
      {0xb, {{2, 40, "/s/other.py", "Cls.make"}}},
  }};
  return s;
}

TEST(Python, EvalLoopFramesAreReplacedByPythonFrames) {
  auto r = run(python_spec());
  ASSERT_EQ(r.leaks.size(), 2u);
  const Leak& b = r.leaks[0];  // 32 bytes
  const Leak& a = r.leaks[1];
  ASSERT_EQ(a.stack->size(), 6u);
  const auto& st = *a.stack;
  EXPECT_EQ(st[0].module_path(), "/lib/libc.so.6");
  EXPECT_EQ(st[1].module_path(), "/x/ext.so");
  EXPECT_EQ(st[2].module_path(), "/usr/bin/python3.11");
  EXPECT_FALSE(st[2].python);
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_TRUE(st[i].python) << i;
    EXPECT_EQ(st[i].module, nullptr) << i;
    EXPECT_EQ(*st[i].file, "/s/script.py") << i;
  }
  EXPECT_EQ(*st[3].function, "first");
  EXPECT_EQ(st[3].line, 12);
  EXPECT_EQ(*st[4].function, "run");
  EXPECT_EQ(st[4].line, 20);
  EXPECT_EQ(*st[5].function, "<module>");
  // Blame: the extension's C function, and the first Python line next to it.
  EXPECT_EQ(a.blame, 1u);
  EXPECT_EQ(a.python_frame, 3u);
  // Nothing native outside the runtimes: the Python frame is blamed.
  ASSERT_EQ(b.stack->size(), 3u);
  EXPECT_EQ(*(*b.stack)[2].function, "Cls.make");
  EXPECT_EQ(b.blame, 2u);
  EXPECT_EQ(b.python_frame, 2u);
  EXPECT_EQ(describe_frame((*b.stack)[2]), "Cls.make (other.py:40)");
}

TEST(Python, NativeStacksHaveNoPythonFrame) {
  auto s = python_spec();
  s.python.reset();
  auto r = run(s);
  ASSERT_EQ(r.leaks.size(), 2u);
  EXPECT_EQ(r.leaks[1].stack->size(), 4u);
  EXPECT_EQ(r.leaks[1].python_frame, std::nullopt);
  EXPECT_EQ(r.leaks[1].blame, 1u);
  EXPECT_EQ(r.leaks[0].blame, 0u);  // all runtime: the innermost frame
}

TEST(Python, SuppressionsMatchPythonFunctionsAndFiles) {
  AnalysisOptions o;
  o.suppressions = {{"^first$", SuppressionSource::kFile}};
  auto r = run(python_spec(), o);
  ASSERT_EQ(r.leaks.size(), 1u);
  EXPECT_EQ(r.leaks[0].stack_hash, 0xbu);
  ASSERT_EQ(r.suppressions.size(), 1u);
  EXPECT_EQ(r.suppressions[0].hidden.bytes, 24u);
  o.suppressions = {{"other.py", SuppressionSource::kFile}};
  r = run(python_spec(), o);
  ASSERT_EQ(r.leaks.size(), 1u);
  EXPECT_EQ(r.leaks[0].stack_hash, 0xau);
  EXPECT_EQ(r.suppressions[0].hidden.bytes, 32u);
}

TEST(Marks, LiveAfterEachMarkPerLeakAndInTotal) {
  auto s = python_spec();
  s.marks = test::MarksSpec{{{100, 2, "warm-up"}, {200, 5, "steady"}},
                            {{0xa, 0, 0, 2, 16}, {0xa, 1, 0, 1, 8}, {0xb, 0, 0, 1, 32}}};
  AnalysisOptions o;
  auto r = run(s, o);
  ASSERT_EQ(r.marks.size(), 2u);
  EXPECT_EQ(r.marks[0].label, "warm-up");
  ASSERT_EQ(r.after_mark.size(), 2u);
  EXPECT_EQ(r.after_mark[0].bytes, 48u);
  EXPECT_EQ(r.after_mark[0].blocks, 3u);
  EXPECT_EQ(r.after_mark[1].bytes, 8u);
  const Leak& a = r.leaks[1];
  ASSERT_EQ(a.after_marks.size(), 2u);
  EXPECT_EQ(a.after_marks[0].mark, 0u);
  EXPECT_EQ(a.after_marks[0].amount.blocks, 2u);
  EXPECT_EQ(a.after_marks[1].amount.bytes, 8u);
  EXPECT_EQ(r.leaks[0].after_marks.size(), 1u);
  // A suppressed callsite does not count in the per-mark totals.
  o.suppressions = {{"other.py", SuppressionSource::kFile}};
  r = run(s, o);
  EXPECT_EQ(r.after_mark[0].bytes, 16u);
}

TEST(Totals, ByDomainCountsEveryCallsite) {
  auto s = basic_spec();
  auto freed = callsite(0x1, 0, 0);
  freed.record.total_allocs = 7, freed.record.total_bytes = 700;
  freed.record.domain = trace::kDomainGmp;
  auto gmp = callsite(0x2, 2, 64);
  gmp.record.total_allocs = 5, gmp.record.total_bytes = 300;
  gmp.record.domain = trace::kDomainGmp;
  auto plain = callsite(0x3, 1, 10);
  s.callsites = {freed, gmp, plain};
  test::ModuleSpec app;
  app.record = {0, 0x1000, 0x2000, 0, UINT32_MAX, 0, 0};
  app.path = "/app";
  s.modules = {app};
  AnalysisOptions o;
  o.suppressions = {{"^/app$", SuppressionSource::kFile}};  // suppressed callsites count too
  auto r = run(s, o);
  EXPECT_TRUE(r.leaks.empty());
  EXPECT_EQ(r.by_domain[trace::kDomainGmp].allocations, 12u);
  EXPECT_EQ(r.by_domain[trace::kDomainGmp].bytes, 1000u);
  EXPECT_EQ(r.by_domain[trace::kDomainGmp].live_blocks, 2u);
  EXPECT_EQ(r.by_domain[trace::kDomainGmp].live_bytes, 64u);
  EXPECT_EQ(r.by_domain[trace::kDomainMalloc].allocations, 1u);
  EXPECT_EQ(r.by_domain[trace::kDomainMalloc].live_bytes, 10u);
  auto t = combine({r, r});
  EXPECT_EQ(t.by_domain[trace::kDomainGmp].bytes, 2000u);
  EXPECT_EQ(std::string(domain_name(trace::kDomainGmp)), "gmp");
  EXPECT_EQ(std::string(domain_name(trace::kDomainMalloc)), "malloc");
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

TEST(Callsites, EveryCallsiteWithItsMetricsEntriesAndStack) {
  auto s = two_module_spec();
  auto hidden = callsite(0x1, 2, 20, {0x7f0000001234, 0x401100});
  hidden.record.unreachable_blocks = 2, hidden.record.unreachable_bytes = 20;
  auto listed = callsite(0x2, 5, 500, {0x401200});
  listed.record.unreachable_blocks = 3, listed.record.unreachable_bytes = 300;
  listed.record.total_allocs = 9, listed.record.total_bytes = 900, listed.record.peak_live_bytes = 700;
  listed.record.module_gen = 4;
  auto freed = callsite(0x3, 0, 0, {0x401300, 0x401200});
  freed.record.total_allocs = 6, freed.record.total_bytes = 60, freed.record.peak_live_bytes = 30;
  s.callsites = {hidden, listed, freed};
  AnalysisOptions o;
  o.suppressions = {{"libc.so", SuppressionSource::kFile}};
  auto r = run(s, o);
  ASSERT_EQ(r.callsites.size(), 3u);
  EXPECT_TRUE(r.callsites[0].suppressed);
  EXPECT_TRUE(r.callsites[0].entries.empty());
  const CallsiteSummary& l = r.callsites[1];
  EXPECT_FALSE(l.suppressed);
  EXPECT_EQ(l.stack_hash, 0x2u);
  EXPECT_EQ(l.module_gen, 4u);
  EXPECT_EQ(l.allocated.bytes, 900u);
  EXPECT_EQ(l.allocated.blocks, 9u);
  EXPECT_EQ(l.live.bytes, 500u);
  EXPECT_EQ(l.peak_live_bytes, 700u);
  EXPECT_EQ(l.leaked.bytes, 300u);  // the reachable 200 are not gated
  ASSERT_EQ(l.entries, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.leaks[0].callsite, 1u);
  EXPECT_EQ(r.leaks[0].verdict, Verdict::kUnreachable);
  EXPECT_EQ(r.leaks[1].verdict, Verdict::kReachable);
  // A listed callsite's stack is the one its entries share.
  EXPECT_EQ(r.stacks.of(1), r.leaks[0].stack);
  // A freed callsite has no entries; its stack is symbolized on request and not kept.
  const CallsiteSummary& f = r.callsites[2];
  EXPECT_TRUE(f.entries.empty());
  EXPECT_EQ(f.allocated.bytes, 60u);
  EXPECT_EQ(f.peak_live_bytes, 30u);
  Stack stack = r.stacks.of(2);
  ASSERT_EQ(stack->size(), 2u);
  EXPECT_EQ(describe_frame((*stack)[0]), "app+0x1300");
  EXPECT_NE(r.stacks.of(2), stack);
  EXPECT_EQ(describe_frame((*r.stacks.of(2))[1]), "app+0x1200");
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
