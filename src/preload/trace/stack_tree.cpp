// Stack tree for the trace writer; see stack_tree.h.
// Nodes and the hash index grow with the nodes actually added, not with the frames offered: a
// Python trace offers ~20 frames per callsite of which ~1 is new, and an index sized for all of
// them would touch (fault in) ~20x the pages it needs.
#include "trace/stack_tree.h"

namespace libleak {

uint64_t StackTree::hash(uint32_t parent, const uint64_t* frame) const {
  uint64_t h = parent * 0x9E3779B97F4A7C15ull;
  for (uint32_t w = 0; w < words_; ++w) h = (h ^ frame[w]) * 0xff51afd7ed558ccdull;
  return h ^ (h >> 32);
}

bool StackTree::same(const uint64_t* a, const uint64_t* b) const {
  for (uint32_t w = 0; w < words_; ++w)
    if (a[w] != b[w]) return false;
  return true;
}

void StackTree::insert_slot(uint32_t node) {
  auto* index = index_.as<uint32_t>();
  uint64_t i = hash(parent(node), frame(node)) & index_mask_;
  while (index[i]) i = (i + 1) & index_mask_;
  index[i] = node + 1;
}

bool StackTree::grow_nodes() {
  uint64_t want = capacity_ ? 2 * uint64_t(capacity_) : 4096;
  if (want > UINT32_MAX - 1) return false;
  if (!frames_.reserve(want * words_ * sizeof(uint64_t)) || !parents_.reserve(want * sizeof(uint32_t))) return false;
  capacity_ = uint32_t(want);
  return true;
}

// A fresh index twice the size, refilled from the nodes: rehashing costs one pass over them,
// rarely (the index doubles), and keeps probes short.
bool StackTree::grow_index() {
  uint64_t slots = index_.bytes ? 2 * (index_mask_ + 1) : 8192;
  WriterScratch fresh;
  if (!fresh.reserve(slots * sizeof(uint32_t))) return false;
  index_.release();
  index_ = fresh;
  index_mask_ = slots - 1;
  for (uint32_t n = 0; n < count_; ++n) insert_slot(n);
  return true;
}

uint32_t StackTree::add(uint32_t parent, const uint64_t* frame) {
  if (LIBLEAK_UNLIKELY(2 * (uint64_t(count_) + 1) > (index_.bytes ? index_mask_ + 1 : 0)) && !grow_index()) return 0;
  auto* index = index_.as<uint32_t>();
  auto* parents = parents_.as<uint32_t>();
  for (uint64_t i = hash(parent, frame) & index_mask_;; i = (i + 1) & index_mask_) {
    uint32_t node = index[i];
    if (!node) {
      if (LIBLEAK_UNLIKELY(count_ >= capacity_) && !grow_nodes()) return 0;
      uint32_t id = count_++;
      uint64_t* f = frames_.as<uint64_t>() + uint64_t(id) * words_;
      for (uint32_t w = 0; w < words_; ++w) f[w] = frame[w];
      parents_.as<uint32_t>()[id] = parent;
      index[i] = id + 1;
      return id + 1;
    }
    if (parents[node - 1] == parent && same(this->frame(node - 1), frame)) return node;
  }
}

uint32_t StackTree::add_stack(const uint64_t* frames, uint32_t depth) {
  // Outermost first: roots are outer frames. k counts frames from the outermost.
  uint32_t node = 0, k = 0;
  uint32_t shared = depth < last_depth_ ? depth : last_depth_;
  for (; k < shared && same(frames + uint64_t(depth - 1 - k) * words_, last_ + uint64_t(last_depth_ - 1 - k) * words_); ++k)
    node = memo_[k];
  for (; k < depth; ++k) {
    node = add(node, frames + uint64_t(depth - 1 - k) * words_);
    if (!node) {
      last_depth_ = 0;
      return 0;
    }
    if (k < kMemo) memo_[k] = node;
  }
  // The memo holds the outer kMemo frames; a deeper stack is compared on those only.
  last_ = frames + uint64_t(depth > kMemo ? depth - kMemo : 0) * words_;
  last_depth_ = depth < kMemo ? depth : kMemo;
  return node;
}

void StackTree::reset() {
  count_ = 0;
  last_depth_ = 0;
  if (index_.bytes) __builtin_memset(index_.data, 0, index_.bytes);
}

void StackTree::release() {
  frames_.release();
  parents_.release();
  index_.release();
  forget();
}

void StackTree::forget() {
  frames_.forget();
  parents_.forget();
  index_.forget();
  capacity_ = count_ = last_depth_ = 0;
  index_mask_ = 0;
}

}  // namespace libleak
