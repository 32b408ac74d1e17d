// libdwfl-backed symbolization. One Dwfl session per module file, reported at bias 0 so that it
// answers in file virtual addresses (address - load_bias); the same file mapped at different
// addresses in different processes then shares one session and one cache.
// Frames are return addresses, so we look up address - 1: the call instruction itself, which
// keeps a call at the very end of a function (noreturn callee) in that function.
#include "report/symbolizer.h"

#include <cxxabi.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <dwarf.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "report/inline_index.h"

namespace libleak {

std::string demangle(const char* name) {
  // .dynsym names carry a symbol version ("__libc_start_main@@GLIBC_2.34"): not part of the name.
  std::string plain(name);
  if (auto at = plain.find('@'); at != std::string::npos && at > 0) plain.resize(at);
  name = plain.c_str();
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return plain;
  std::string s(out);
  std::free(out);
  return s;
}

const Module* find_module(const std::vector<Module>& modules, uint64_t address, uint32_t module_gen) {
  const Module* later = nullptr;
  for (const auto& m : modules) {
    const auto& r = m.record;
    if (address < r.start || address >= r.end) continue;
    if (r.load_gen <= module_gen && module_gen < r.unload_gen) return &m;
    if (r.load_gen > module_gen && (!later || r.load_gen < later->record.load_gen)) later = &m;
  }
  return later;
}

namespace {

char* g_debuginfo_path = nullptr;  // null: libdwfl's default (.debug, /usr/lib/debug, build-id)

const Dwfl_Callbacks kOfflineCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &g_debuginfo_path,
};

std::string hex(const uint8_t* bytes, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", bytes[i]);
  return s;
}

std::optional<std::string> die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  // The linkage name carries namespaces and parameters; DW_AT_name is the bare identifier.
  // _integrate follows DW_AT_abstract_origin, where inlined instances keep their names.
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr) != nullptr) {
      if (const char* s = dwarf_formstring(&attr)) return demangle(s);
    }
  }
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) {
    if (const char* s = dwarf_formstring(&attr)) return std::string(s);
  }
  return std::nullopt;
}

// Where an inlined subroutine was called from, in the function it was inlined into.
void call_site(Dwarf_Die* cu, Dwarf_Die* inlined, std::optional<std::string>& file,
               std::optional<int>& line) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  file.reset();
  line.reset();
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_attr(inlined, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &value) == 0 &&
      dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && value < nfiles) {
    if (const char* f = dwarf_filesrc(files, value, nullptr, nullptr)) file = f;
  }
  if (dwarf_attr(inlined, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &value) == 0) {
    line = static_cast<int>(value);
  }
}

}  // namespace

struct Symbolizer::DebugFile {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;  // null: file missing or unreadable; we still report offsets
  std::unordered_map<Dwarf_Off, std::unique_ptr<InlineIndex>> indexes;  // by CU offset, lazily
  std::unordered_map<const char*, Text> file_names;

  ~DebugFile() {
    if (dwfl) dwfl_end(dwfl);
  }

  // Function, file and line for a file virtual address, innermost inlined call first.
  std::vector<Frame> lookup(uint64_t vaddr, Symbolizer& sym) {
    std::vector<Frame> out;
    Text file;
    std::optional<int> line;
    if (Dwfl_Line* l = dwfl_module_getsrc(module, vaddr)) {
      int lineno = 0;
      if (const char* f = dwfl_lineinfo(l, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        // libdw keeps one string per line-table file, so its address identifies the name.
        auto& t = file_names[f];
        if (!t) t = sym.intern(f);
        file = t;
        line = lineno;
      }
    }
    Frame outer;
    outer.function = inlined_frames(vaddr, sym, file, line, out);
    if (!outer.function) {
      // No DWARF here: .symtab, or .dynsym if the file is stripped.
      if (const char* s = dwfl_module_addrname(module, vaddr)) outer.function = sym.intern(demangle(s));
    }
    outer.file = file;
    outer.line = line;
    out.push_back(std::move(outer));
    return out;
  }

  // Appends a frame per inlined call at `vaddr`, innermost first, moving file and line out to
  // each call site; returns the name of the function they were inlined into (null if unknown).
  Text inlined_frames(uint64_t vaddr, Symbolizer& sym, Text& file, std::optional<int>& line,
                      std::vector<Frame>& out) {
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(module, vaddr, &bias);
    if (!cu) return nullptr;
    auto& index = indexes[dwarf_dieoffset(cu)];
    if (!index) index = std::make_unique<InlineIndex>(cu);
    for (int32_t i = index->innermost(vaddr - bias); i >= 0;) {
      auto& node = index->node(i);
      if (!node.named) name_node(node, vaddr, sym);
      if (!node.inlined) return node.name;
      Frame f;
      f.function = node.name;
      f.file = file;
      f.line = line;
      f.inlined = true;
      out.push_back(std::move(f));
      std::optional<std::string> call_file;
      call_site(cu, &node.die, call_file, line);
      file = call_file ? sym.intern(*call_file) : nullptr;
      i = node.parent;
    }
    return nullptr;
  }

  // Demangling and dwfl_module_addrname are the expensive parts of a lookup (addrname scans the
  // whole symbol table: 20% of a 160,000-address run), so each function is named once, when
  // first met, and the name is kept in the index.
  void name_node(InlineIndex::Node& node, uint64_t vaddr, Symbolizer& sym) {
    node.named = true;
    // The symbol table has the qualified name of an out-of-line function even where the DWARF
    // has no linkage name (anonymous namespaces); inlined calls only have DWARF.
    const char* sym_name = node.inlined ? nullptr : dwfl_module_addrname(module, vaddr);
    std::optional<std::string> name =
        sym_name ? std::optional<std::string>(demangle(sym_name)) : die_function_name(&node.die);
    if (name) node.name = sym.intern(*name);
  }
};

const std::string& Frame::module_path() const {
  static const std::string kEmpty;
  return module ? *module : kEmpty;
}

Text make_text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

Text Symbolizer::intern(std::string_view s) {
  auto it = texts_.find(s);
  if (it == texts_.end()) it = texts_.emplace(std::string(s), make_text(std::string(s))).first;
  return it->second;
}

Symbolizer::Symbolizer(SymbolizerOptions options) : options_(std::move(options)) {}
Symbolizer::~Symbolizer() = default;

Symbolizer::DebugFile& Symbolizer::debug_file(const Module& m) {
  std::string key = m.path + '\0' + hex(m.build_id.data(), m.build_id.size());
  auto& slot = files_[key];
  if (slot) return *slot;
  slot = std::make_unique<DebugFile>();
  if (!options_.read_debug_info || m.path.empty()) return *slot;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(m.path, ec)) return *slot;
  slot->dwfl = dwfl_begin(&kOfflineCallbacks);
  if (!slot->dwfl) return *slot;
  dwfl_report_begin(slot->dwfl);
  // base 0 with add_p_vaddr: the module's bias is 0, so addresses are file virtual addresses.
  slot->module = dwfl_report_elf(slot->dwfl, m.path.c_str(), m.path.c_str(), -1, 0, true);
  dwfl_report_end(slot->dwfl, nullptr, nullptr);
  if (slot->module && !m.build_id.empty()) {
    const unsigned char* bits = nullptr;
    GElf_Addr vaddr = 0;
    int n = dwfl_module_build_id(slot->module, &bits, &vaddr);
    if (n > 0 && (static_cast<size_t>(n) != m.build_id.size() ||
                  std::memcmp(bits, m.build_id.data(), m.build_id.size()) != 0)) {
      if (options_.warn) {
        options_.warn(fmt::format(
            "build-id mismatch for {}: the trace has {}, the file has {}; symbols may be wrong",
            m.path, hex(m.build_id.data(), m.build_id.size()), hex(bits, static_cast<size_t>(n))));
      }
    }
  }
  return *slot;
}

std::vector<Frame> Symbolizer::symbolize_address(const Trace& trace, uint64_t address,
                                                 uint32_t module_gen) {
  const Module* m = find_module(trace.modules, address, module_gen);
  if (!m) {
    Frame f;
    f.address = address;
    f.module_offset = address;
    return {f};
  }
  uint64_t offset = address - m->record.load_bias;
  DebugFile& df = debug_file(*m);
  auto& per_file = cache_[&df];
  auto it = per_file.find(offset);
  if (it == per_file.end()) {
    std::vector<Frame> frames;
    if (df.module && offset > 0) frames = df.lookup(offset - 1, *this);
    if (frames.empty()) frames.emplace_back();
    Text path = intern(m->path);
    for (auto& f : frames) {
      f.module = path;
      f.module_offset = offset;
    }
    it = per_file.emplace(offset, std::move(frames)).first;
  }
  std::vector<Frame> out = it->second;
  for (auto& f : out) f.address = address;
  return out;
}

Frame Symbolizer::python_frame(const PythonFrameInfo& p) {
  Frame f;
  f.python = true;
  if (!p.function.empty()) f.function = intern(p.function);
  if (!p.file.empty()) f.file = intern(p.file);
  if (p.line > 0) f.line = p.line;
  return f;
}

std::vector<Frame> Symbolizer::symbolize(const Trace& trace, const Callsite& callsite) {
  std::vector<Frame> out;
  out.reserve(callsite.frames.size() + callsite.python.size());
  // Each group of Python frames replaces the native frame of its interpreter loop. Sorted by that
  // frame (stably: innermost first within a group), one pass over each side places them, so a
  // deep stack costs its length, not native x Python frames. The reader checked every
  // native_index: below frames.size(), or UINT32_MAX (unknown, placed outermost).
  std::vector<PythonFrameInfo> py(callsite.python.begin(), callsite.python.end());
  std::stable_sort(py.begin(), py.end(), [](const PythonFrameInfo& a, const PythonFrameInfo& b) {
    return a.native_index < b.native_index;
  });
  auto next = py.begin();
  uint32_t i = 0;
  for (uint64_t address : callsite.frames) {
    bool replaced = false;
    for (; next != py.end() && next->native_index == i; ++next, replaced = true) {
      out.push_back(python_frame(*next));
    }
    ++i;
    if (replaced) continue;
    auto frames = symbolize_address(trace, address, callsite.record.module_gen);
    for (auto& f : frames) out.push_back(std::move(f));
  }
  for (; next != py.end(); ++next) out.push_back(python_frame(*next));
  return out;
}

}  // namespace libleak
