// Builds the trace's stack tree at write time: each distinct (parent, frame) is stored once, so
// stacks that share outer frames (every Python stack shares the interpreter's) cost one node per
// distinct frame instead of one entry per frame. Memory from mmap; runs on the writer's thread.
#pragma once

#include <stdint.h>

namespace libleak {

class StackTree {
 public:
  // Room for `max_nodes` nodes whose frames are `words` uint64s each.
  bool init(uint64_t max_nodes, uint32_t words);
  ~StackTree();
  // Returns the node (index + 1) for `frame` under `parent` (index + 1, 0 for a root), adding it if new;
  // 0 when full.
  uint32_t add(uint32_t parent, const uint64_t* frame);
  // Adds a stack given innermost first and returns its innermost node (index + 1), 0 if empty.
  uint32_t add_stack(const uint64_t* frames, uint32_t depth);
  uint32_t size() const { return count_; }
  const uint64_t* frame(uint32_t index) const { return frames_ + uint64_t(index) * words_; }
  uint32_t parent(uint32_t index) const { return parents_[index]; }

 private:
  uint64_t* frames_ = nullptr;
  uint32_t* parents_ = nullptr;
  uint32_t* index_ = nullptr;  // open addressing: node + 1, 0 empty
  uint64_t max_nodes_ = 0, index_mask_ = 0;
  uint32_t words_ = 0, count_ = 0;
};

}  // namespace libleak
