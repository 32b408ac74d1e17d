// Frame names. Every format that prints a frame without its own layout goes through these, so
// the text report, the gate line, folded stacks and baseline keys agree on a frame's name.
#include "report/frame_text.h"

#include <filesystem>

#include <fmt/format.h>

namespace libleak {

std::string basename(std::string_view path) { return std::filesystem::path(path).filename().string(); }

std::string module_offset_label(const Frame& f) {
  return fmt::format("{}+0x{:x}", f.module ? basename(*f.module) : "?", f.module_offset);
}

std::string frame_name(const Frame& f) { return f.function ? *f.function : module_offset_label(f); }

std::string describe_frame(const Frame& f) {
  std::string where = frame_name(f);
  if (f.file) {
    where += fmt::format(" ({}", basename(*f.file));
    if (f.line) where += fmt::format(":{}", *f.line);
    where += ")";
  }
  return where;
}

}  // namespace libleak
