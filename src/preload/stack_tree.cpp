// Stack tree for the trace writer; see stack_tree.h.
#include "stack_tree.h"

#include "internal.h"

namespace libleak {

bool StackTree::init(uint64_t max_nodes, uint32_t words) {
  max_nodes_ = max_nodes ? max_nodes : 1;
  words_ = words;
  uint64_t slots = 1;
  while (slots < 2 * max_nodes_) slots <<= 1;
  index_mask_ = slots - 1;
  frames_ = static_cast<uint64_t*>(sys_map(max_nodes_ * words_ * sizeof(uint64_t)));
  parents_ = static_cast<uint32_t*>(sys_map(max_nodes_ * sizeof(uint32_t)));
  index_ = static_cast<uint32_t*>(sys_map(slots * sizeof(uint32_t)));
  return frames_ && parents_ && index_;
}

StackTree::~StackTree() {
  sys_unmap(frames_, max_nodes_ * words_ * sizeof(uint64_t));
  sys_unmap(parents_, max_nodes_ * sizeof(uint32_t));
  sys_unmap(index_, (index_mask_ + 1) * sizeof(uint32_t));
}

uint32_t StackTree::add(uint32_t parent, const uint64_t* frame) {
  uint64_t h = parent * 0x9E3779B97F4A7C15ull;
  for (uint32_t w = 0; w < words_; ++w) h = (h ^ frame[w]) * 0xff51afd7ed558ccdull;
  h ^= h >> 32;
  for (uint64_t i = h & index_mask_;; i = (i + 1) & index_mask_) {
    uint32_t node = index_[i];
    if (!node) {
      if (count_ >= max_nodes_) return 0;
      uint32_t id = count_++;
      for (uint32_t w = 0; w < words_; ++w) frames_[uint64_t(id) * words_ + w] = frame[w];
      parents_[id] = parent;
      index_[i] = id + 1;
      return id + 1;
    }
    const uint64_t* f = this->frame(node - 1);
    bool same = parents_[node - 1] == parent;
    for (uint32_t w = 0; same && w < words_; ++w) same = f[w] == frame[w];
    if (same) return node;
  }
}

uint32_t StackTree::add_stack(const uint64_t* frames, uint32_t depth) {
  uint32_t node = 0;
  for (uint32_t i = depth; i-- > 0;) {  // outermost first: roots are outer frames
    node = add(node, frames + uint64_t(i) * words_);
    if (!node) return 0;
  }
  return node;
}

}  // namespace libleak
