// Parses and validates a libleak trace (include/libleak/trace_format.h) into plain C++ values.
// Input is hostile: every size and count is checked against the bytes actually present before
// anything is allocated or copied, what is allocated is bounded by the file's size (below), and
// every problem is reported as libleak::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libleak/trace_format.h"

namespace libleak {

inline constexpr uint32_t kMaxDepth = 1024;  // deeper stacks are corrupt, not real

// What reading a trace may cost, whatever its bytes: parse_trace holds at most
// kReaderMemoryPerByte bytes per byte of the trace plus kReaderMemorySlack (read_trace_file adds
// the file's own bytes), and its time is linear in the file size (inflating is bounded by
// kMaxInflateRatio in trace_input.h; no stack is walked). Measured peaks on real traces (Python
// 3.6-3.13, gcc, ls, C programs with 49152-65536 call stacks): 2.1-8.9 bytes per byte, the most
// for 49157 callsites that differ only by stack. The bound sits well above because a callsite
// takes 208 bytes in memory while zlib stores its record in about 19: a trace of callsites with
// even fewer differences could legitimately pass 10.
inline constexpr uint64_t kReaderMemoryPerByte = 16;
inline constexpr uint64_t kReaderMemorySlack = 128 * 1024;

// Stacks share frames in the file (a stack tree), while a report lists each callsite's frames:
// the callsites' frames together, native and Python, may number at most kMaxFramesPerByte per
// byte of the trace plus kFramesSlack. Measured: 0.03-1.0 per byte. Without this bound, 20000
// callsites ending at one 1024-frame path (a 3.7 MB trace) had leakreport symbolize 41 million
// frames: 3.2 GB and 30 s. With it, what follows the reader costs at most a few hundred bytes
// per trace byte (a symbolized frame is about 80).
inline constexpr uint64_t kMaxFramesPerByte = 8;
inline constexpr uint64_t kFramesSlack = 16 * 1024;

// Likewise the names of the callsites' Python frames (file and function, every frame counted):
// a report hashes each one, so a long name shared by many frames would cost their product. At
// most kMaxNameBytesPerByte per byte of the trace plus kNameBytesSlack; measured 28-33 (about
// 53 bytes a frame).
inline constexpr uint64_t kMaxNameBytesPerByte = 256;
inline constexpr uint64_t kNameBytesSlack = 1024 * 1024;

struct Module {
  trace::ModuleRecord record;
  std::string path;
  std::vector<uint8_t> build_id;
};

// A Python frame of a callsite (kPython section), innermost first.
struct PythonFrameInfo {
  uint32_t native_index = UINT32_MAX;  // index into Callsite::frames of the eval loop running it
  int32_t line = 0;                    // <= 0: unknown
  // Views into the trace's StackStore (names are shared by every frame that has them).
  std::string_view file;               // "" unknown
  std::string_view function;           // qualified name, "" unknown
};

// A Python stack tree node: a PythonFrameRecord whose names are offsets into the string blob.
struct PythonNodeInfo {
  uint32_t native_index;
  int32_t line;
  uint32_t file;
  uint32_t function;
  uint32_t parent;  // node index + 1; 0 at the outermost frame
};

// Live blocks of a callsite allocated after a mark (kMarks section).
struct MarkLive {
  uint32_t mark = 0;  // index into Trace::marks
  uint64_t blocks = 0;
  uint64_t bytes = 0;
};

// The call stacks of one trace, stored as the file stores them: trees whose paths, from a node to
// its root, are stacks innermost first. Callsites view paths instead of copying frames: a Python
// trace shares most of its 2 million frames among a hundred thousand nodes. Shared by copies of
// the Trace; stacks given inline in the file are added as paths of their own.
struct StackStore {
  std::vector<uint64_t> native_ip;
  std::vector<uint32_t> native_parent;  // node index + 1; 0 at the outermost frame
  std::vector<PythonNodeInfo> python;
  std::string python_strings;          // NUL-terminated names, offsets checked by the reader
  std::vector<MarkLive> after_marks;   // grouped by callsite, by mark within a callsite
};

// Forward iteration along one path of a StackStore tree, innermost frame first.
template <typename Derived, typename Value>
class PathIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Value;

  PathIterator() = default;
  PathIterator(const StackStore* store, uint32_t node) : store_(store), node_(node) {}
  bool operator==(const PathIterator& other) const { return node_ == other.node_; }
  Derived& operator++() {
    node_ = static_cast<Derived*>(this)->parent();
    return *static_cast<Derived*>(this);
  }
  Derived operator++(int) {
    Derived before = *static_cast<Derived*>(this);
    ++*this;
    return before;
  }

 protected:
  const StackStore* store_ = nullptr;
  uint32_t node_ = 0;  // index + 1; 0 is the end
};

class NativeFrameIterator : public PathIterator<NativeFrameIterator, uint64_t> {
 public:
  using PathIterator::PathIterator;
  uint64_t operator*() const { return store_->native_ip[node_ - 1]; }
  uint32_t parent() const { return store_->native_parent[node_ - 1]; }
};

class PythonFrameIterator : public PathIterator<PythonFrameIterator, PythonFrameInfo> {
 public:
  using PathIterator::PathIterator;
  PythonFrameInfo operator*() const {
    const PythonNodeInfo& n = store_->python[node_ - 1];
    const char* names = store_->python_strings.data();
    return {n.native_index, n.line, std::string_view(names + n.file), std::string_view(names + n.function)};
  }
  uint32_t parent() const { return store_->python[node_ - 1].parent; }
};

// A stack of a callsite: `size` frames from node `leaf` of the trace's StackStore. Iterate it;
// there is no operator[], since reaching frame i walks i parents.
template <typename Iterator>
class StackView {
 public:
  StackView() = default;
  StackView(const StackStore* store, uint32_t leaf, uint32_t size) : store_(store), leaf_(leaf), size_(size) {}
  Iterator begin() const { return Iterator(store_, leaf_); }
  Iterator end() const { return Iterator(store_, 0); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  const StackStore* store_ = nullptr;
  uint32_t leaf_ = 0;
  uint32_t size_ = 0;
};
using NativeStack = StackView<NativeFrameIterator>;
using PythonStack = StackView<PythonFrameIterator>;

struct Callsite {
  trace::CallsiteRecord record;
  NativeStack frames;                     // return addresses, innermost first
  PythonStack python;                     // empty: no Python frames recorded
  std::span<const MarkLive> after_marks;  // by mark index, only marks with live blocks
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
  std::vector<Callsite> callsites;  // their stacks view `stacks`
  std::optional<Timeline> timeline;
  std::optional<trace::StatsRecord> stats;
  std::vector<Mark> marks;
  std::shared_ptr<const StackStore> stacks;
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
