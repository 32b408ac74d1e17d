// The trace writer's memory and what one write covers. The memory (stack trees, per-callsite
// arrays, output buffer) stays mapped from one write to the next; it is touched only by the
// thread holding the writer (writer.cpp), and never comes from the program's heap.
#pragma once

#include <stdint.h>

#include <atomic>

#include "trace/file_sink.h"
#include "trace/stack_tree.h"
#include "trace/writer_scratch.h"

namespace libleak {

struct WriterState {
  FileSink sink;
  StackTree native{1}, python{2};
  WriterScratch native_leaf, python_leaf;  // tree leaf per callsite, kept from write to write
  WriterScratch included, born, marks;     // per-write arrays, zeroed by the write that uses them
  bool periodic = false;                   // the write in progress may give up
  bool gave_up = false;
  // Set by a writer that must wait (exit, signal, snapshot), from any thread: the periodic write
  // in progress gives up at its next check instead of finishing a trace the waiting write
  // replaces anyway.
  std::atomic<bool> interrupt{false};

  // Checked between sections and every few thousand callsites: a periodic write interrupted by
  // a waiting writer stops within a few milliseconds, its temporary file never renamed.
  bool give_up() {
    if (periodic && !gave_up && interrupt.load(std::memory_order_relaxed)) gave_up = true;
    return gave_up;
  }
  // Drops the trees and leaves: the next write rebuilds them.
  void reset_trees();
  template <class Fn>
  void each_scratch(Fn&& fn) {
    for (WriterScratch* w : {&native_leaf, &python_leaf, &included, &born, &marks}) fn(*w);
  }
};
WriterState& writer_state();

// What one write covers, fixed when it starts: a callsite published, or first allocated from,
// while the write runs waits for the next write, so that every section lists the same callsites
// (a callsite counted in a section's header but missing from its records would make the trace
// unreadable). Leaves are indexed by callsite id (0: no frames, or frames written inline).
struct Plan {
  uint32_t n = 0;  // callsites [0, n)
  const uint8_t* included = nullptr;
  const uint32_t* native_leaf = nullptr;
  const uint32_t* python_leaf = nullptr;
  bool tree = false;  // every included callsite's frames are in the stack trees
};

// Adds the stacks of the callsites that are new since the last write to the trees and fixes the
// plan. False when the write gave up or has no memory for its arrays.
bool plan_write(Plan& p);

}  // namespace libleak
