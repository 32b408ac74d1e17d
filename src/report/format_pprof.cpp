// pprof encoding. Locations are keyed by their full content (mapping, address, lines), so a return
// address shared by many stacks is one Location, and the inlined frames the symbolizer expanded
// from one address become the lines of that one Location, innermost first as pprof expects.
// A Python frame has no address and no mapping: it is a Location at address 0 without a mapping
// whose one line names its function (qualified name, .py file) and line, so one line of Python is
// one Location however many stacks pass through it.
#include "report/format_pprof.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>
#include <zlib.h>

#include "profile.pb.h"
#include "report/error.h"

namespace libleak {
namespace {

namespace pb = perftools::profiles;

class ProfileBuilder {
 public:
  explicit ProfileBuilder(bool multi) : multi_(multi) {
    intern("");
    for (auto [type, unit] : {std::pair{"alloc_objects", "count"}, {"alloc_space", "bytes"},
                              {"inuse_objects", "count"}, {"inuse_space", "bytes"}}) {
      auto* t = profile_.add_sample_type();
      t->set_type(intern(type));
      t->set_unit(intern(unit));
    }
    profile_.set_default_sample_type(intern("inuse_space"));
    // Every allocation is recorded: a period of one byte, nothing to scale.
    profile_.mutable_period_type()->set_type(intern("space"));
    profile_.mutable_period_type()->set_unit(intern("bytes"));
    profile_.set_period(1);
  }

  void add_process(const ProcessReport& report);
  pb::Profile& finish();

 private:
  int64_t intern(const std::string& s) {
    auto [it, fresh] = strings_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (fresh) profile_.add_string_table(s);
    return it->second;
  }
  uint64_t function_id(const Frame& f);
  uint64_t location_id(uint64_t mapping, uint64_t address, std::vector<std::pair<uint64_t, int64_t>> lines);
  std::vector<uint64_t> mapping_ids(const std::vector<Module>& modules);
  std::vector<uint64_t> location_ids(const ProcessReport& report, const CallsiteSummary& cs,
                                     const std::vector<Frame>& stack, const std::vector<uint64_t>& mapping_of_module);
  void add_sample(const std::vector<uint64_t>& locations, uint64_t alloc_blocks, uint64_t alloc_bytes,
                  uint64_t live_blocks, uint64_t live_bytes, const char* verdict, bool indirect,
                  uint64_t pid);

  struct MappingFacts {
    bool functions = true, files = true, lines = true;
  };

  bool multi_;
  pb::Profile profile_;
  std::unordered_map<std::string, int64_t> strings_;
  std::map<std::pair<std::string, std::string>, uint64_t> functions_;
  // (mapping, address, (function id, line) per line) -> location id
  std::map<std::tuple<uint64_t, uint64_t, std::vector<std::pair<uint64_t, int64_t>>>, uint64_t> locations_;
  std::vector<MappingFacts> mapping_facts_;  // by mapping id - 1
  uint64_t start_ns_ = UINT64_MAX, end_ns_ = 0;
};

uint64_t ProfileBuilder::function_id(const Frame& f) {
  std::string file = f.file ? *f.file : std::string();
  auto [it, fresh] = functions_.try_emplace({*f.function, file}, functions_.size() + 1);
  if (fresh) {
    auto* fn = profile_.add_function();
    fn->set_id(it->second);
    fn->set_name(intern(*f.function));
    fn->set_system_name(intern(*f.function));
    fn->set_filename(intern(file));
    fn->set_start_line(0);  // unknown: libdw gives the call's line, not the function's first
  }
  return it->second;
}

std::vector<uint64_t> ProfileBuilder::location_ids(const ProcessReport& report, const CallsiteSummary& cs,
                                                   const std::vector<Frame>& stack,
                                                   const std::vector<uint64_t>& mapping_of_module) {
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < stack.size();) {
    if (stack[i].python) {
      Frame named = stack[i];
      if (!named.function) named.function = make_text("??");  // as the text report names it
      ids.push_back(location_id(0, 0, {{function_id(named), named.line.value_or(0)}}));
      ++i;
      continue;
    }
    // Frames i..j share one address: i..j-1 were inlined into j.
    size_t j = i;
    while (j + 1 < stack.size() && stack[j].inlined && !stack[j + 1].python &&
           stack[j + 1].address == stack[i].address) {
      ++j;
    }
    const Frame& outer = stack[j];
    uint64_t mapping = 0;
    if (const Module* m = find_module(report.modules, outer.address, cs.module_gen)) {
      mapping = mapping_of_module[static_cast<size_t>(m - report.modules.data())];
    }
    std::vector<std::pair<uint64_t, int64_t>> lines;
    for (size_t k = i; k <= j; ++k) {
      const Frame& f = stack[k];
      if (mapping) {
        MappingFacts& facts = mapping_facts_[mapping - 1];
        facts.functions &= f.function != nullptr;
        facts.files &= f.file != nullptr;
        facts.lines &= f.line.has_value();
      }
      if (f.function) lines.emplace_back(function_id(f), f.line.value_or(0));
    }
    // pprof looks a location's address up as an instruction: the call is the byte before the
    // return address the trace holds.
    uint64_t address = outer.address ? outer.address - 1 : 0;
    ids.push_back(location_id(mapping, address, std::move(lines)));
    i = j + 1;
  }
  return ids;
}

uint64_t ProfileBuilder::location_id(uint64_t mapping, uint64_t address,
                                     std::vector<std::pair<uint64_t, int64_t>> lines) {
  auto [it, fresh] = locations_.try_emplace({mapping, address, std::move(lines)}, locations_.size() + 1);
  if (fresh) {
    auto* loc = profile_.add_location();
    loc->set_id(it->second);
    loc->set_mapping_id(mapping);
    loc->set_address(address);
    for (const auto& [fn, line] : std::get<2>(it->first)) {
      auto* l = loc->add_line();
      l->set_function_id(fn);
      l->set_line(line);
    }
  }
  return it->second;
}

void ProfileBuilder::add_sample(const std::vector<uint64_t>& locations, uint64_t alloc_blocks,
                                uint64_t alloc_bytes, uint64_t live_blocks, uint64_t live_bytes,
                                const char* verdict, bool indirect, uint64_t pid) {
  auto* s = profile_.add_sample();
  for (uint64_t id : locations) s->add_location_id(id);
  for (uint64_t v : {alloc_blocks, alloc_bytes, live_blocks, live_bytes}) s->add_value(static_cast<int64_t>(v));
  auto* label = s->add_label();
  label->set_key(intern("verdict"));
  label->set_str(intern(verdict));
  if (indirect) {
    label = s->add_label();
    label->set_key(intern("indirect"));
    label->set_str(intern("true"));
  }
  if (multi_) {
    label = s->add_label();
    label->set_key(intern("pid"));
    label->set_num(static_cast<int64_t>(pid));
  }
}

// One mapping per module of the process; returns their ids by module index.
std::vector<uint64_t> ProfileBuilder::mapping_ids(const std::vector<Module>& modules) {
  std::vector<uint64_t> mapping_of_module;
  for (const auto& m : modules) {
    auto* map = profile_.add_mapping();
    uint64_t id = static_cast<uint64_t>(profile_.mapping_size());
    map->set_id(id);
    map->set_memory_start(m.record.start);
    map->set_memory_limit(m.record.end);
    // `start` is the first PT_LOAD segment, which maps the file from offset 0 in the output of
    // every common linker (it holds the ELF header).
    map->set_file_offset(0);
    map->set_filename(intern(m.path));
    std::string build_id;
    for (uint8_t b : m.build_id) build_id += fmt::format("{:02x}", b);
    map->set_build_id(intern(build_id));
    mapping_of_module.push_back(id);
    mapping_facts_.emplace_back();
  }
  return mapping_of_module;
}

void ProfileBuilder::add_process(const ProcessReport& report) {
  std::vector<uint64_t> mapping_of_module = mapping_ids(report.modules);
  for (size_t i = 0; i < report.callsites.size(); ++i) {
    const CallsiteSummary& cs = report.callsites[i];
    if (cs.suppressed) continue;
    auto locations = location_ids(report, cs, *report.stacks.of(i), mapping_of_module);
    // Report entries in report order (largest first) for a stable sample order.
    for (size_t e : cs.entries) {
      const Leak& l = report.leaks[e];
      add_sample(locations, l.blocks, l.bytes, l.blocks, l.bytes, to_string(l.verdict), l.indirect,
                 report.process.pid);
    }
    uint64_t freed_blocks = cs.allocated.blocks > cs.live.blocks ? cs.allocated.blocks - cs.live.blocks : 0;
    uint64_t freed_bytes = cs.allocated.bytes > cs.live.bytes ? cs.allocated.bytes - cs.live.bytes : 0;
    if (freed_blocks || freed_bytes) {
      add_sample(locations, freed_blocks, freed_bytes, 0, 0, "freed", false, report.process.pid);
    }
  }
  profile_.add_comment(intern(fmt::format("libleak pid {}: {}", report.process.pid, command_line(report))));
  start_ns_ = std::min(start_ns_, report.process.start_time_ns);
  end_ns_ = std::max(end_ns_, report.process.write_time_ns);
}

pb::Profile& ProfileBuilder::finish() {
  if (start_ns_ != UINT64_MAX) {
    profile_.set_time_nanos(static_cast<int64_t>(start_ns_));
    if (end_ns_ > start_ns_) profile_.set_duration_nanos(static_cast<int64_t>(end_ns_ - start_ns_));
  }
  for (int i = 0; i < profile_.mapping_size(); ++i) {
    auto* m = profile_.mutable_mapping(i);
    const MappingFacts& f = mapping_facts_[static_cast<size_t>(i)];
    m->set_has_functions(f.functions);
    m->set_has_filenames(f.files);
    m->set_has_line_numbers(f.lines);
    m->set_has_inline_frames(f.lines);  // line tables come with the inline tree (libdw)
  }
  return profile_;
}

}  // namespace

std::string build_pprof(const std::vector<ProcessReport>& processes) {
  ProfileBuilder b(processes.size() > 1);
  for (const auto& p : processes) b.add_process(p);
  pb::Profile& out = b.finish();
  std::string bytes;
  if (!out.SerializeToString(&bytes)) throw Error("cannot encode the pprof profile");
  return bytes;
}

std::string gzip_bytes(const std::string& bytes) {
  if (bytes.size() > UINT32_MAX / 2) throw Error("pprof profile too large to compress");
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("cannot initialize zlib");
  }
  std::string out(deflateBound(&z, bytes.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("cannot gzip the pprof profile");
  return out;
}

void write_pprof(Output& out, const std::vector<ProcessReport>& processes) {
  std::string gz = gzip_bytes(build_pprof(processes));
  out.print("{}", std::string_view(gz));
}


namespace {

void write_pprof_format(Output& out, const Report& report, const FormatOptions&) {
  write_pprof(out, report.processes);
}

}  // namespace

const Format kPprofFormat{
    .name = "pprof", .help = "gzipped profile.proto", .needs_file = "FILE.pb.gz", .write = write_pprof_format};

}  // namespace libleak
