// Offline symbolization of trace frames with libdwfl: return address -> module, function,
// file:line, with inlined calls expanded into their own frames. Results are cached per
// (module file, file offset), and the cache is shared by every trace reported in one run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report/trace_reader.h"

namespace libleak {

// Strings shared by every frame that names them: a report holds hundreds of thousands of frames
// but only thousands of distinct names (measured: copying them doubled the symbolization time).
using Text = std::shared_ptr<const std::string>;

struct Frame {
  uint64_t address = 0;         // the return address as recorded (not ip - 1)
  Text module;                  // module path from the trace; null when no module contains it
  uint64_t module_offset = 0;   // address - load_bias: the file virtual address, for addr2line
  Text function;                // null: unknown
  Text file;                    // null: unknown
  std::optional<int> line;
  bool inlined = false;         // this function was inlined into the next frame
  // A Python frame (kPython section): function is the qualified name, file the .py path, and
  // address, module and module_offset are 0/null.
  bool python = false;

  const std::string& module_path() const;  // "" when unknown
};

Text make_text(std::string s);

struct SymbolizerOptions {
  bool read_debug_info = true;  // false: module and offset only, never opens a file (fuzzing)
  // Receives one-line warnings such as build-id mismatches, once per module file.
  std::function<void(const std::string&)> warn;
};

class Symbolizer {
 public:
  explicit Symbolizer(SymbolizerOptions options = {});
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // All frames of a callsite, innermost first, inlined calls expanded. With Python frames, each
  // native frame of the interpreter loop that ran some is replaced by them, and those beyond the
  // recorded native frames follow the last one.
  std::vector<Frame> symbolize(const Trace& trace, const Callsite& callsite);

  // One return address; several frames when calls were inlined at that address.
  std::vector<Frame> symbolize_address(const Trace& trace, uint64_t address, uint32_t module_gen);

 private:
  struct DebugFile;
  DebugFile& debug_file(const Module& module);
  Frame python_frame(const PythonFrameInfo& p);
  Text intern(std::string_view s);

  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Text, TextHash, std::equal_to<>> texts_;

  SymbolizerOptions options_;
  std::map<std::string, std::unique_ptr<DebugFile>> files_;  // by path and build-id
  // Frames by (debug file, file offset), without address: the same offset in the same file
  // symbolizes identically in every trace.
  std::unordered_map<const DebugFile*, std::unordered_map<uint64_t, std::vector<Frame>>> cache_;
};

// The module that held `address` for a callsite first seen at `module_gen`: a dlclose'd library
// and its replacement at the same address are told apart by their load/unload generations.
// When none was loaded at that generation, the one containing the address that was registered
// first after it: the callsite was stamped just before the registry noticed a new library.
const Module* find_module(const std::vector<Module>& modules, uint64_t address, uint32_t module_gen);

std::string demangle(const char* name);

}  // namespace libleak
