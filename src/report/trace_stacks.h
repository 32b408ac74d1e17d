// Stacks as the sections describe them, gathered by trace_reader.cpp in whatever order the
// sections come, then checked and attached to the callsites by trace_stacks.cpp. Internal to the
// reader; every vector here is charged to the Budget of the trace being read.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "libleak/trace_format.h"
#include "report/trace_input.h"
#include "report/trace_reader.h"

namespace libleak {

// A kPython stack record: its frames are a path of the Python stack tree (tree_leaf != 0) or
// inline in the section (frames first..first+count of PendingStacks::inline_python).
struct PendingPythonStack {
  uint64_t stack_hash;
  uint32_t count;
  uint32_t tree_leaf;
  uint32_t first;
  uint32_t max_native;  // highest native_index of the inline frames + 1; 0: none (tree stacks: unused)
};

struct PendingStacks {
  std::shared_ptr<StackStore> store = std::make_shared<StackStore>();  // tree nodes, strings
  // Per callsite: its innermost native tree node + 1 as the file gives it (kCallsiteTreeFrames),
  // or the index of its first frame in inline_native.
  std::vector<uint64_t> callsite_leaf;
  std::vector<uint64_t> inline_native;  // frames of inline callsites, innermost first
  std::vector<PendingPythonStack> python_stacks;
  std::vector<PythonNodeInfo> inline_python;  // frames of inline Python stacks (parent unused)
  std::vector<trace::MarkLiveRecord> mark_live;
};

// Checks every stack against the trees and the callsites, and points the callsites of `out` at
// them (Callsite::frames, python, after_marks). Throws Error on any inconsistency, or when the
// stacks expand to more frames or names than trace_reader.h allows for a `file_size`-byte trace.
void attach_stacks(PendingStacks& pending, Trace& out, Budget& budget, uint64_t file_size);

// Throws unless `offset` starts a NUL-terminated string of `blob`; `last_nul` is blob.rfind('\0').
// `owner` `index` ("python stack 3") and `what` ("file name") name the reference in the message.
void check_blob_offset(const std::string& blob, size_t last_nul, uint32_t offset, const char* owner,
                       uint64_t index, const char* what);

}  // namespace libleak
