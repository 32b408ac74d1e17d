// Callsite table: stack hash -> frames and counters (live, total, peak) for each allocation stack.
// Runs inside malloc: lock-free, memory from mmap only.
//
// Entries live in a dense array in the order they were first seen, so memory grows with the
// number of callsites, not with the table's capacity. A separate open-addressed index maps a
// stack hash to its entry. A new callsite is written completely into a fresh entry before its
// index slot is published with one CAS; a thread that loses the race for the same hash abandons
// its entry (marked unused) and takes the winner's. Entry 0 is the overflow callsite that absorbs
// allocations when the table is full, so live-byte totals stay exact even then.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

namespace libleak {

struct alignas(64) Callsite {
  // Written once before the entry is published; read-only afterwards. Read by every lookup of
  // this stack (intern compares the hash), so it must not share a cache line with the counters
  // that every allocating thread writes.
  uint64_t hash;
  uint64_t frames;    // offset into the frame arena
  uint32_t depth;
  uint32_t domain;
  uint32_t module_gen;
  uint32_t py_frames;  // offset of this stack's Python frames (python_frames.h), if py_count
  uint32_t py_count;
  // Release-stored to 1 once the entry won its index slot; readers acquire it before reading
  // the fields above. Stays 0 for an entry abandoned after losing the race for its hash.
  std::atomic<uint32_t> published;
  // Written by the exit scan only.
  uint64_t unreachable_blocks;
  uint64_t unreachable_bytes;
  uint64_t indirect_blocks;

  // Hot: touched by every allocation and free of this callsite. Live counts are derived
  // (allocated minus freed) so an allocation costs two atomic adds and a free two more.
  alignas(64) std::atomic<uint64_t> total_allocs;
  std::atomic<uint64_t> total_bytes;
  std::atomic<uint64_t> freed_blocks;
  std::atomic<uint64_t> freed_bytes;
  std::atomic<int64_t> peak_live_bytes;
  uint64_t indirect_bytes;  // written by the exit scan only (no room left on the first line)

  void on_alloc(uint64_t size) {
    total_allocs.fetch_add(1, std::memory_order_relaxed);
    uint64_t allocated = total_bytes.fetch_add(size, std::memory_order_relaxed) + size;
    // Exact for one thread; under concurrency a peak may be read a free or two late.
    int64_t now = int64_t(allocated - freed_bytes.load(std::memory_order_relaxed));
    if (now > peak_live_bytes.load(std::memory_order_relaxed)) {
      int64_t peak = peak_live_bytes.load(std::memory_order_relaxed);
      while (now > peak && !peak_live_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
      }
    }
  }
  void on_free(uint64_t size) {
    freed_blocks.fetch_add(1, std::memory_order_relaxed);
    freed_bytes.fetch_add(size, std::memory_order_relaxed);
  }
  // Read freed before allocated: a block is always counted allocated before it is counted freed,
  // so the differences never go negative.
  int64_t live_bytes() const {
    uint64_t freed = freed_bytes.load(std::memory_order_acquire);
    return int64_t(total_bytes.load(std::memory_order_acquire) - freed);
  }
  int64_t live_blocks() const {
    uint64_t freed = freed_blocks.load(std::memory_order_acquire);
    return int64_t(total_allocs.load(std::memory_order_acquire) - freed);
  }
  void reset_counters() {
    total_allocs.store(0, std::memory_order_relaxed);
    total_bytes.store(0, std::memory_order_relaxed);
    freed_blocks.store(0, std::memory_order_relaxed);
    freed_bytes.store(0, std::memory_order_relaxed);
    peak_live_bytes.store(0, std::memory_order_relaxed);
  }
};

class CallsiteTable {
 public:
  static constexpr uint32_t kOverflow = 0;

  // Maps the index and entry arrays (virtual; pages are touched as callsites appear).
  bool init(uint32_t capacity_log2, uint32_t max_depth);
  void destroy();

  // Returns the entry for this stack, creating it on first sight; kOverflow when full. `fill`, if
  // given, completes a new entry (e.g. with its Python frames) before it is published.
  using FillFn = void (*)(Callsite& entry, const void* arg);
  uint32_t intern(uint64_t hash, const uintptr_t* frames, uint32_t depth, uint32_t domain, uint32_t module_gen,
                  FillFn fill = nullptr, const void* fill_arg = nullptr);

  Callsite& entry(uint32_t id) { return entries_[id]; }
  const Callsite& entry(uint32_t id) const { return entries_[id]; }
  const uint64_t* frames(const Callsite& c) const { return frame_arena_ + c.frames; }
  // Entries [0, count()) exist; skip those not published.
  uint32_t count() const {
    uint32_t n = count_.load(std::memory_order_acquire);
    return n < max_entries_ ? n : max_entries_;
  }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return max_entries_; }

 private:
  std::atomic<uint64_t>* index_ = nullptr;  // (hash high bits << 24) | (id + 1); 0 empty
  Callsite* entries_ = nullptr;
  uint64_t* frame_arena_ = nullptr;
  uint64_t index_mask_ = 0;
  uint32_t max_entries_ = 0;
  uint64_t arena_capacity_ = 0;
  std::atomic<uint32_t> count_{0};
  std::atomic<uint64_t> arena_used_{0};
  std::atomic<uint64_t> dropped_{0};
};

uint64_t hash_stack(const uintptr_t* frames, uint32_t depth, uint32_t domain);

}  // namespace libleak
