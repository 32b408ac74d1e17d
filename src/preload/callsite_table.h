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

#include "internal.h"

namespace libleak {

extern LIBLEAK_TLS uint32_t t_counter_shard;  // 1 + the calling thread's counter shard; 0 unset

struct alignas(64) Callsite {
  // First line: written once before the entry is published and read by every lookup of this
  // stack (intern compares the hash); also the peak and the shards in use, which every
  // allocation reads and which change rarely (the peak only while the callsite grows).
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
  // With one shard in use (a single thread) the peak is exact from that shard alone; with
  // several, each thread checks the sum of the shards on every kPeakSampling-th allocation.
  std::atomic<int64_t> peak_live_bytes;
  std::atomic<uint32_t> shards_used;

  // Written by the exit scan only.
  alignas(64) uint64_t unreachable_blocks;
  uint64_t unreachable_bytes;
  uint64_t indirect_blocks;
  uint64_t indirect_bytes;

  // Counters, in shards on cache lines of their own: threads are spread over the shards, so
  // threads allocating from the same stack do not take turns owning one line (C bench, 2 threads
  // on shared callsites). Live counts are derived (allocated minus freed): an allocation costs
  // two atomic adds on the thread's shard and a free two more. Totals are sums over the shards.
  struct alignas(64) Shard {
    std::atomic<uint64_t> allocs;
    std::atomic<uint64_t> bytes;
    std::atomic<uint64_t> freed_blocks;
    std::atomic<uint64_t> freed_bytes;
  };
  static constexpr uint32_t kShards = 4;
  static constexpr uint64_t kPeakSampling = 16;
  Shard shards[kShards];

  void on_alloc(uint64_t size) {
    uint32_t k = counter_shard();
    Shard& s = shards[k];
    uint64_t nth = s.allocs.fetch_add(1, std::memory_order_relaxed);
    uint64_t allocated = s.bytes.fetch_add(size, std::memory_order_relaxed) + size;
    uint32_t used = note_shard(k);
    int64_t now;
    if (used == (1u << k)) {
      now = int64_t(allocated - s.freed_bytes.load(std::memory_order_relaxed));
    } else {
      // Summing reads the other threads' shard lines, which they keep writing: done on every
      // allocation it would pass those lines back and forth again. Sampled instead.
      if (nth % kPeakSampling) return;
      now = live_bytes();
    }
    atomic_raise(peak_live_bytes, now);
  }
  void on_free(uint64_t size) {
    uint32_t k = counter_shard();
    Shard& s = shards[k];
    // The shard's first count sets its bit; later frees need not read the first line for it.
    if (s.freed_blocks.fetch_add(1, std::memory_order_relaxed) == 0) note_shard(k);
    s.freed_bytes.fetch_add(size, std::memory_order_relaxed);
  }
  // Read every shard's freed counts before any allocated count: a block is always counted
  // allocated before it is counted freed, so the differences never go negative.
  int64_t live_bytes() const { return int64_t(sum(&Shard::bytes, &Shard::freed_bytes)); }
  int64_t live_blocks() const { return int64_t(sum(&Shard::allocs, &Shard::freed_blocks)); }
  uint64_t allocations() const { return total(&Shard::allocs); }
  uint64_t allocated_bytes() const { return total(&Shard::bytes); }
  uint64_t frees() const { return total(&Shard::freed_blocks); }
  // Never below what is live now, even when the last allocations' checks were sampled out.
  int64_t peak() const {
    int64_t p = peak_live_bytes.load(std::memory_order_relaxed), now = live_bytes();
    return p > now ? p : now;
  }
  void reset_counters() {
    for (Shard& s : shards) {
      s.allocs.store(0, std::memory_order_relaxed);
      s.bytes.store(0, std::memory_order_relaxed);
      s.freed_blocks.store(0, std::memory_order_relaxed);
      s.freed_bytes.store(0, std::memory_order_relaxed);
    }
    peak_live_bytes.store(0, std::memory_order_relaxed);
    shards_used.store(0, std::memory_order_relaxed);
  }

 private:
  // The calling thread's shard: threads take the shards in turn as they first allocate.
  static uint32_t counter_shard() {
    uint32_t k = t_counter_shard;
    return LIBLEAK_LIKELY(k) ? k - 1 : assign_counter_shard();
  }
  static uint32_t assign_counter_shard();
  uint32_t note_shard(uint32_t k) {
    uint32_t used = shards_used.load(std::memory_order_relaxed);
    if (!(used & (1u << k))) used = shards_used.fetch_or(1u << k, std::memory_order_relaxed) | (1u << k);
    return used;
  }
  // Sums over the shards in use only: readers of every callsite (the timeline, the writer) touch
  // one counter line per thread that used it, not all of them.
  uint64_t total(std::atomic<uint64_t> Shard::*field, std::memory_order order = std::memory_order_relaxed) const {
    uint64_t t = 0;
    for (uint32_t used = shards_used.load(std::memory_order_acquire); used; used &= used - 1)
      t += (shards[__builtin_ctz(used)].*field).load(order);
    return t;
  }
  uint64_t sum(std::atomic<uint64_t> Shard::*in, std::atomic<uint64_t> Shard::*out) const {
    uint64_t gone = total(out, std::memory_order_acquire);
    return total(in, std::memory_order_acquire) - gone;
  }
};

static_assert(sizeof(Callsite) == 64 * (2 + Callsite::kShards));

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
