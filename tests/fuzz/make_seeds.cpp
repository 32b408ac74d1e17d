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
  return 0;
}
