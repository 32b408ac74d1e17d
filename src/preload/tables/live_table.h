// Hashed live-block table: address -> (size, callsite, birth epoch) for the tracked allocations the
// address index (address_index.h) does not hold: blocks above 256 bytes and the rare small block
// whose granule is taken. Runs inside malloc/free: lock-free, memory from mmap only, never touches
// the program's memory.
//
// The table is a list of levels, each an open-addressed array of 16-byte slots with a bounded
// probe window. Level i holds kLevel0Slots << i slots. Inserts go to the newest level; an insert
// whose window is full goes on to the next level (mapped on first use), which becomes the newest
// once 1/32 of the level's size in inserts have overflowed. So the table grows with the
// program without rehashing and without a lock, and a block stays in the level it was inserted
// into until it is freed. Lookups search the newest level first: most blocks die young.
//
// A live address is never inserted twice: free removes the entry before the real free runs, so
// the allocator cannot hand the address out again while its old entry exists. An insert may
// therefore take any tombstone in its window. Removal claims a slot by swapping its value to 0,
// then tombstones the key: an insert can only reuse the slot once the removal is complete.
// Lookups stop at an empty slot (slots never become empty again) or at the end of the window.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

namespace libleak {

struct LiveSlot {
  std::atomic<uint64_t> key;    // 0 empty, 1 tombstone, else address | epoch << 48
  std::atomic<uint64_t> value;  // kValid | fork_gen << 59 | size << 23 | callsite; 0 while being written
};

struct LiveBlock {
  uintptr_t address;
  uint64_t size;
  uint32_t callsite;
  uint16_t epoch;
  uint8_t fork_gen;  // fork depth of the process that allocated it: lower = inherited from a parent
};

class LiveTable {
 public:
  static constexpr int kMaxLevels = 20;
  static constexpr int kLevel0Log2 = 12;
  static constexpr uint64_t kLevel0Slots = uint64_t(1) << kLevel0Log2;
  static constexpr int kWindow = 32;
  static constexpr uint64_t kMaxSize = (uint64_t(1) << 36) - 1;
  static constexpr uint32_t kMaxForkGen = 15;
  static constexpr uint32_t kMaxCallsite = (1u << 23) - 1;
  static constexpr uint64_t kValid = uint64_t(1) << 63;
  static constexpr uint64_t kMaxAddress = (uint64_t(1) << 48) - 1;

  // False when the block cannot be stored (address above 48 bits, size above 1 TiB, or no memory
  // for a new level): the caller counts it as dropped.
  bool insert(uintptr_t address, uint64_t size, uint32_t callsite, uint32_t epoch, uint32_t fork_gen);
  // Removes and returns the block; false when the address is not tracked.
  bool remove(uintptr_t address, LiveBlock* out);
  bool find(uintptr_t address, LiveBlock* out) const;

  // Calls fn(const LiveBlock&) for every live block. Concurrent inserts and removes may or may not
  // be seen; a slot whose value is not yet written is skipped.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (int l = 0; l < kMaxLevels; ++l) {
      LiveSlot* slots = levels_[l].load(std::memory_order_acquire);
      if (!slots) break;
      uint64_t n = kLevel0Slots << l;
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t k = slots[i].key.load(std::memory_order_acquire);
        if (k <= 1) continue;
        uint64_t v = slots[i].value.load(std::memory_order_acquire);
        // Re-read the key: a concurrent remove and insert may have replaced the block in between.
        if (!v || slots[i].key.load(std::memory_order_acquire) != k) continue;
        fn(decode(k, v));
      }
    }
  }

  // Warms the cache line an insert of this address will touch (issued before unwinding).
  void prefetch(uintptr_t address) const;
  size_t mapped_bytes() const;
  void reset_for_tests();

 private:
  static LiveBlock decode(uint64_t key, uint64_t value) {
    return LiveBlock{uintptr_t(key & kMaxAddress), (value >> 23) & kMaxSize, uint32_t(value & kMaxCallsite),
                     uint16_t(key >> 48), uint8_t((value >> 59) & kMaxForkGen)};
  }
  LiveSlot* level(int l);  // maps the level on first use
  std::atomic<LiveSlot*> levels_[kMaxLevels] = {};
  std::atomic<int> newest_{0};  // where inserts start
  std::atomic<int> top_{0};     // highest mapped level: where lookups start
  std::atomic<uint64_t> failures_[kMaxLevels] = {};
};

}  // namespace libleak
