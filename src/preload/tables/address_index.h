// Address index: live small blocks found by their address alone, one 8-byte slot per 32 bytes of
// address space. Runs inside malloc/free: lock-free, memory from mmap only.
//
// Why: a hashed table scatters neighbouring blocks over its whole size, so with a Python-sized
// heap every free and most allocations missed the cache and the TLB (docs/PERFORMANCE.md). Here a block's slot is a function of its address, so the blocks the
// allocator hands out next to each other, and the addresses it reuses, share the table's cache
// lines and pages the way they share the heap's.
//
// Layout: the 47-bit user address space is cut into 64 MiB regions; a region's leaf (16 MiB of
// slots, mapped with MAP_NORESERVE on first use, pages touched only where blocks are) is found
// through a directory indexed by the region. A slot packs the whole block: valid bit, fork
// generation, birth epoch, callsite, size and the address's low five bits. So one slot holds one
// block at most: glibc's chunks are at least 32 bytes apart, other allocators may put two small
// blocks in one 32-byte granule, and the caller stores the second one elsewhere (insert fails).
// Blocks above kMaxSize, addresses above 2^47 and regions beyond kMaxLeaves are not stored here.
// Each leaf has a bitmap of the table pages ever written, so walking it skips untouched memory.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "tables/live_table.h"

namespace libleak {

class AddressIndex {
 public:
  static constexpr int kGranuleLog2 = 5;
  static constexpr int kRegionLog2 = 26;
  static constexpr int kAddressBits = 47;
  static constexpr uint64_t kLeafSlots = uint64_t(1) << (kRegionLog2 - kGranuleLog2);
  static constexpr uint64_t kDirectorySlots = uint64_t(1) << (kAddressBits - kRegionLog2);
  static constexpr uint32_t kMaxLeaves = 4096;  // 256 GiB of distinct regions
  static constexpr uint64_t kMaxSize = (uint64_t(1) << 15) - 1;
  static constexpr uint64_t kPageSlots = 4096 / sizeof(uint64_t);

  // False when the block is not stored here (too large, address out of range, slot taken, no
  // memory for the leaf): the caller stores it in the hashed table.
  bool insert(uintptr_t address, uint64_t size, uint32_t callsite, uint32_t epoch, uint32_t fork_gen);
  bool remove(uintptr_t address, LiveBlock* out);
  bool find(uintptr_t address, LiveBlock* out) const;
  void prefetch(uintptr_t address) const;

  // Calls fn(const LiveBlock&) for every block; concurrent changes may or may not be seen.
  template <class Fn>
  void for_each(Fn&& fn) const {
    each_leaf([&](const Leaf& leaf) { walk_leaf(leaf, [&](uint64_t, const LiveBlock& b) { fn(b); }); });
  }

  size_t mapped_bytes() const;  // leaf headers and the leaf pages written so far
  void reset_for_tests();

  // For the reachability scan, which keeps its per-block state beside the index instead of
  // copying the blocks: a block's position is its leaf's number (< leaf_count()) and its slot.
  struct Position {
    uint32_t leaf;
    uint64_t slot;
  };
  uint32_t leaf_count() const {
    uint32_t n = leaf_count_.load(std::memory_order_acquire);
    return n < kMaxLeaves ? n : kMaxLeaves;
  }
  // The block that contains address v (start <= v < start + max(size, 1)), among blocks of at
  // most max_size bytes; false when none does.
  bool containing(uintptr_t v, uint64_t max_size, LiveBlock* out, Position* at) const;
  // Bounds of the address space the leaves cover (empty: lo > hi): every block lies inside.
  void span(uintptr_t* lo, uintptr_t* hi) const {
    *lo = UINTPTR_MAX;
    *hi = 0;
    each_leaf([&](const Leaf& leaf) {
      if (leaf.base < *lo) *lo = leaf.base;
      if (leaf.base + (uintptr_t(1) << kRegionLog2) > *hi) *hi = leaf.base + (uintptr_t(1) << kRegionLog2);
    });
  }
  // As for_each, with each block's position.
  template <class Fn>
  void for_each_at(Fn&& fn) const {
    each_leaf([&](const Leaf& leaf) { walk_leaf(leaf, [&](uint64_t i, const LiveBlock& b) { fn(b, Position{leaf.number, i}); }); });
  }

 private:
  static constexpr uint64_t kTouchedWords = kLeafSlots / kPageSlots / 64;
  struct Leaf {
    uintptr_t base;
    uint32_t number;  // its place in leaves_
    std::atomic<uint64_t> touched[kTouchedWords];  // bit p: slot page p has been written
    alignas(4096) std::atomic<uint64_t> slots[kLeafSlots];
  };
  static constexpr uint64_t kValid = uint64_t(1) << 63;
  static LiveBlock decode(uintptr_t base, uint64_t i, uint64_t v) {
    return LiveBlock{base + (i << kGranuleLog2) + (v & 31), (v >> 5) & kMaxSize,
                     uint32_t((v >> 20) & LiveTable::kMaxCallsite), uint16_t(v >> 43),
                     uint8_t((v >> 59) & LiveTable::kMaxForkGen)};
  }
  static uint64_t slot_of(uintptr_t address) { return (address >> kGranuleLog2) & (kLeafSlots - 1); }
  static uint64_t page_bit(uint64_t slot) { return uint64_t(1) << (slot / kPageSlots % 64); }
  static std::atomic<uint64_t>& touched_word(Leaf& leaf, uint64_t slot) { return leaf.touched[slot / kPageSlots / 64]; }
  Leaf* leaf_of(uintptr_t address) const {
    std::atomic<Leaf*>* dir = directory_.load(std::memory_order_acquire);
    return dir && (address >> kAddressBits) == 0 ? dir[address >> kRegionLog2].load(std::memory_order_acquire)
                                                  : nullptr;
  }
  // The slot of `address`'s granule, with its leaf and index; nullptr when its page was never
  // written: a free of a block stored elsewhere (a large one) must not read, and so fault in, a
  // page of this index no block ever used.
  std::atomic<uint64_t>* slot_at(uintptr_t address, Leaf** leaf, uint64_t* slot) const;
  // The slot holding the block at `address`, with its value; nullptr when the index does not
  // hold it.
  std::atomic<uint64_t>* holding(uintptr_t address, Leaf** leaf, uint64_t* slot, uint64_t* value) const;
  // Calls fn(slot, block) for every block of the leaf, in address order.
  template <class Fn>
  static void walk_leaf(const Leaf& leaf, Fn&& fn) {
    for (uint64_t w = 0; w < kTouchedWords; ++w) {
      uint64_t bits = leaf.touched[w].load(std::memory_order_acquire);
      for (; bits; bits &= bits - 1) {
        uint64_t first = (w * 64 + uint64_t(__builtin_ctzll(bits))) * kPageSlots;
        for (uint64_t i = first; i < first + kPageSlots; ++i) {
          uint64_t v = leaf.slots[i].load(std::memory_order_acquire);
          if (v) fn(i, decode(leaf.base, i, v));
        }
      }
    }
  }
  template <class Fn>
  void each_leaf(Fn&& fn) const {
    uint32_t n = leaf_count_.load(std::memory_order_acquire);
    for (uint32_t l = 0; l < n && l < kMaxLeaves; ++l)
      if (const Leaf* leaf = leaves_[l].load(std::memory_order_acquire)) fn(*leaf);
  }
  Leaf* make_leaf(uintptr_t address);  // maps the directory and the leaf on first use

  std::atomic<std::atomic<Leaf*>*> directory_{nullptr};
  std::atomic<uint32_t> leaf_count_{0};
  std::atomic<Leaf*> leaves_[kMaxLeaves] = {};  // every leaf once, for for_each
};

}  // namespace libleak
