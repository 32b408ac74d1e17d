// Builds the trace's stack tree: each distinct (parent, frame) is stored once, so stacks that
// share outer frames (every Python stack shares the interpreter's) cost one node per distinct
// frame instead of one entry per frame. Memory from mmap, kept between writes; writer thread only.
#pragma once

#include <stdint.h>

#include "trace/writer_scratch.h"

namespace libleak {

class StackTree {
 public:
  constexpr explicit StackTree(uint32_t words) : words_(words) {}
  // Returns the node (index + 1) for `frame` under `parent` (index + 1, 0 for a root), adding it if
  // new; 0 when no memory is left.
  uint32_t add(uint32_t parent, const uint64_t* frame);
  // Adds a stack given innermost first and returns its innermost node (index + 1), 0 if empty or
  // out of memory. `frames` must stay valid and unchanged until reset() (the tree compares the
  // next stack with it).
  uint32_t add_stack(const uint64_t* frames, uint32_t depth);
  uint32_t size() const { return count_; }
  const uint64_t* frame(uint32_t index) const { return frames_.as<uint64_t>() + uint64_t(index) * words_; }
  uint32_t parent(uint32_t index) const { return parents_.as<uint32_t>()[index]; }
  // Forgets every node; keeps the memory for the next build.
  void reset();
  // Unmaps everything (release) or, in a fork child whose parent was writing, drops it (forget).
  void release();
  void forget();

 private:
  LIBLEAK_NOINLINE bool grow_nodes();
  LIBLEAK_NOINLINE bool grow_index();
  uint64_t hash(uint32_t parent, const uint64_t* frame) const;
  bool same(const uint64_t* a, const uint64_t* b) const;
  void insert_slot(uint32_t node);

  // The previous add_stack's outer frames and their nodes: consecutive callsites usually share
  // their outer frames (main, the interpreter loop), which compare in place for less than a hash
  // probe each.
  static constexpr uint32_t kMemo = 256;
  const uint64_t* last_ = nullptr;
  uint32_t last_depth_ = 0;
  uint32_t memo_[kMemo] = {};

  WriterScratch frames_, parents_;
  WriterScratch index_;  // open addressing: node + 1, 0 empty; at most half full
  uint64_t index_mask_ = 0;
  uint32_t capacity_ = 0;  // nodes that frames_ and parents_ hold
  uint32_t words_;
  uint32_t count_ = 0;
};

}  // namespace libleak
