// InlineIndex: one preorder walk of a CU's DIE tree, painting each function's and each inlined
// call's ranges over an interval map (see inline_index.h for why).
#include "report/inline_index.h"

#include <dwarf.h>

#include <algorithm>
#include <iterator>

namespace libleak {

InlineIndex::InlineIndex(Dwarf_Die* cu) {
  Dwarf_Die child;
  if (dwarf_child(cu, &child) == 0) walk(&child, -1);
  starts_.reserve(painting_.size());
  owners_.reserve(painting_.size());
  for (auto [start, owner] : painting_) {
    starts_.push_back(start);
    owners_.push_back(owner);
  }
  painting_.clear();
}

void InlineIndex::walk(Dwarf_Die* first, int32_t parent) {
  Dwarf_Die die = *first;
  do {
    int tag = dwarf_tag(&die);
    int32_t inner_parent = parent;
    if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
      bool inlined = tag == DW_TAG_inlined_subroutine;
      auto index = static_cast<int32_t>(nodes_.size());
      nodes_.push_back({die, inlined ? parent : -1, inlined, false, nullptr});
      Dwarf_Addr base = 0, lo = 0, hi = 0;
      ptrdiff_t offset = 0;
      bool any = false;
      while ((offset = dwarf_ranges(&die, offset, &base, &lo, &hi)) > 0) {
        if (lo < hi) paint(lo, hi, index), any = true;
      }
      if (any) inner_parent = index;
    }
    // Functions nest inside namespaces, classes and lexical blocks, so descend everywhere;
    // the walk is linear in the CU size and happens once per CU.
    Dwarf_Die child;
    if (dwarf_haschildren(&die) && dwarf_child(&die, &child) == 0) walk(&child, inner_parent);
  } while (dwarf_siblingof(&die, &die) == 0);
}

void InlineIndex::paint(uint64_t lo, uint64_t hi, int32_t index) {
  auto it = painting_.upper_bound(hi);
  int32_t after = it == painting_.begin() ? -1 : std::prev(it)->second;
  painting_.erase(painting_.lower_bound(lo), painting_.lower_bound(hi));
  painting_[hi] = after;
  painting_[lo] = index;
}

int32_t InlineIndex::innermost(uint64_t dwarf_address) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), dwarf_address);
  return it == starts_.begin() ? -1 : owners_[static_cast<size_t>(it - starts_.begin() - 1)];
}

}  // namespace libleak
