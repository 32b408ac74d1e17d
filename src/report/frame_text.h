// How reports name a frame: the one label rule (its function, or module+0xoffset without a
// symbol) and the basename every format shortens paths to. Pure string functions.
#pragma once

#include <string>
#include <string_view>

#include "report/symbolizer.h"

namespace libleak {

// "libfoo.so" for "/usr/lib/libfoo.so"; "" for a path that ends in '/'.
std::string basename(std::string_view path);

// "libfoo.so+0x1234": where a frame is in its module ("?" when no module holds it).
std::string module_offset_label(const Frame& frame);

// The frame's function, or module_offset_label() when it has no symbol.
std::string frame_name(const Frame& frame);

// frame_name() and, when known, where: "leak_double (ext.c:12)", "module+0x1234".
std::string describe_frame(const Frame& frame);

}  // namespace libleak
