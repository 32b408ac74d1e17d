// Writes the seed corpus for fuzz_trace from the unit tests' trace builder, so seeds follow the
// format as it evolves. Run by run_fuzz.sh --regen-seeds; the outputs are checked in.
#include <fstream>
#include <string>

#include "../unit/report/trace_builder.h"

using namespace libleak;

static void write(const std::string& dir, const std::string& name, const test::TraceSpec& s) {
  auto bytes = test::build_trace(s);
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Deep shared paths (64 native, 32 Python frames) that callsites end at different depths of,
// and many compressed callsites: what the mutator's repeats turn into expanding stacks and
// zlib bombs.
static void write_expanding_seeds(const std::string& dir, const test::ModuleSpec& m) {
  auto s = test::basic_spec();
  test::StackTreeSpec tree;
  for (uint32_t i = 0; i < 64; ++i) tree.native.push_back({0x401000 + i * 16, i, 0});
  for (uint32_t i = 0; i < 32; ++i) {
    tree.python.push_back({{i * 2, static_cast<int32_t>(i), "/app/deep.py", "f"}, i});
  }
  s.tree = tree;
  s.python = test::PythonSpec{};
  for (uint32_t i = 1; i <= 16; ++i) {
    auto c = test::callsite(i, i, i * 8, {});
    c.tree_leaf = 4 * i;
    c.record.depth = 4 * i;
    s.callsites.push_back(c);
    s.python->tree_stacks.push_back({i, 2 * i, 2 * i});
  }
  s.compress = true;
  write(dir, "deep_stacks.bin", s);

  s = test::basic_spec();
  s.modules = {m};
  for (uint64_t i = 0; i < 300; ++i) {
    s.callsites.push_back(test::callsite(0x1000 + i, i % 7 + 1, 64, {0x401100 + i % 5, 0x401200, 0x401300}));
  }
  s.stack_tree = true;
  s.compress = true;
  write(dir, "many_callsites.bin", s);
}

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  auto s = test::basic_spec();
  write(dir, "minimal.bin", s);

  test::ModuleSpec m;
  m.record = {0x400000, 0x401000, 0x402000, 0, UINT32_MAX, 0, 0};
  m.path = "/usr/bin/prog";
  m.build_id = {1, 2, 3, 4};
  s.modules = {m};
  auto c = test::callsite(0x11, 10, 1000, {0x401100, 0x401200, 0x7f0000001000});
  c.record.unreachable_blocks = 4, c.record.unreachable_bytes = 400;
  c.record.indirect_blocks = 2, c.record.indirect_bytes = 200;
  for (int b = 0; b < 16; ++b) c.record.born[b] = 1;
  s.callsites = {c, test::callsite(0x22, 1, 8, {0x401300})};
  s.timeline = test::TimelineSpec{100, {1, 2}, {{0x11, {3, 4}}}};
  s.stats = trace::StatsRecord{};
  s.stats->dropped_blocks = 1;
  write(dir, "full.bin", s);

  s.process.flags = 0;
  s.process.exit_kind = trace::kExitRunning;
  write(dir, "no_scan.bin", s);

  s.compress = true;
  write(dir, "compressed.bin", s);

  // Newer sections: phase marks, Python stacks inline, then everything through the stack tree.
  s = test::basic_spec();
  s.modules = {m};
  s.callsites = {test::callsite(0x11, 3, 96, {0x401100, 0x401200, 0x401300}),
                 test::callsite(0x22, 2, 64, {0x401110, 0x401200, 0x401300}),
                 test::callsite(0x33, 1, 8, {0x401300})};
  s.marks = test::MarksSpec{{{1000, 2, "warm-up"}, {2000, 9, "steady"}},
                            {{0x11, 0, 0, 3, 96}, {0x11, 1, 0, 1, 32}, {0x22, 1, 0, 2, 64}}};
  write(dir, "marks.bin", s);

  test::PythonFrameSpec main_py{UINT32_MAX, 40, "/app/main.py", "<module>"};
  s.python = test::PythonSpec{{{0x11, {{1, 12, "/app/a.py", "Cache.fill"}, main_py}},
                               {0x22, {{1, 20, "/app/b.py", "load"}, main_py}}}};
  write(dir, "python_inline.bin", s);

  s.stack_tree = true;
  write(dir, "stack_tree.bin", s);

  s.compress = true;
  write(dir, "stack_tree_compressed.bin", s);

  write_expanding_seeds(dir, m);
  return 0;
}
