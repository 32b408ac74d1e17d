// Parses and validates a libleak trace (include/libleak/trace_format.h) into plain C++ values.
// Input is hostile: every size and count is checked against the bytes actually present before
// anything is allocated or copied, and every problem is reported as libleak::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libleak/trace_format.h"

namespace libleak {

inline constexpr uint32_t kMaxDepth = 1024;  // deeper stacks are corrupt, not real

struct Module {
  trace::ModuleRecord record;
  std::string path;
  std::vector<uint8_t> build_id;
};

// A Python frame of a callsite (kPython section), innermost first.
struct PythonFrameInfo {
  uint32_t native_index = UINT32_MAX;  // index into Callsite::frames of the eval loop running it
  int32_t line = 0;                    // <= 0: unknown
  // Views into Trace::python_strings (a trace has tens of thousands of Python frames naming a
  // few hundred files and functions: copying each name was most of leakreport's time on them).
  std::string_view file;               // "" unknown
  std::string_view function;           // qualified name, "" unknown
};

// Live blocks of a callsite allocated after a mark (kMarks section).
struct MarkLive {
  uint32_t mark = 0;  // index into Trace::marks
  uint64_t blocks = 0;
  uint64_t bytes = 0;
};

struct Callsite {
  trace::CallsiteRecord record;
  std::vector<uint64_t> frames;  // return addresses, innermost first
  std::vector<PythonFrameInfo> python;  // empty: no Python frames recorded
  std::vector<MarkLive> after_marks;    // by mark index, only marks with live blocks
};

struct Mark {
  uint64_t time_ns = 0;  // CLOCK_REALTIME
  uint32_t epoch = 0;
  std::string label;
};

struct TimelineSeries {
  uint64_t stack_hash = 0;
  std::vector<uint64_t> values;
};

struct Timeline {
  uint64_t interval_ms = 0;
  std::vector<uint64_t> total;
  std::vector<TimelineSeries> series;
};

struct Trace {
  trace::ProcessRecord process{};
  std::vector<std::string> command;
  std::vector<Module> modules;
  std::vector<Callsite> callsites;
  std::optional<Timeline> timeline;
  std::optional<trace::StatsRecord> stats;
  std::vector<Mark> marks;
  // The Python section's string blobs, shared by copies of the trace: PythonFrameInfo views them.
  std::vector<std::shared_ptr<const std::string>> python_strings;
};

// Parses a whole trace held in memory. Throws Error on any inconsistency.
Trace parse_trace(std::span<const std::byte> bytes);

// Reads and parses one regular file (anything else, such as a FIFO or /dev/zero, is an Error;
// neither blocks). Throws Error naming the file.
Trace read_trace_file(const std::filesystem::path& path);

// True for a regular file that starts with the trace magic. Throws Error when the file cannot be
// opened or read: the caller cannot tell whether it holds a trace.
bool has_trace_magic(const std::filesystem::path& path);

// Expands the command-line inputs: files are kept as given, a directory becomes its regular files
// that start with the magic, sorted by name (NAME.tmp.<pid>, a trace being written, excluded).
// Throws Error naming the offending input, or the directory entry that cannot be read.
std::vector<std::filesystem::path> expand_inputs(const std::vector<std::filesystem::path>& inputs);

}  // namespace libleak
