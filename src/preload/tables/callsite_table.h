// Callsite table: stack hash -> frames and counters (live, total, peak) for each allocation stack.
// Runs inside malloc: lock-free, memory from mmap only.
//
// Entries live in a dense array in the order they were first seen, so memory grows with the
// number of callsites, not with the table's capacity. A separate open-addressed index maps a
// stack hash to its entry. A new callsite is written completely into a fresh entry before its
// index slot is published with one CAS; a thread that loses the race for the same hash abandons
// its entry (marked unused) and takes the winner's. Entry 0 is the overflow callsite that absorbs
// allocations when the table is full, so live-byte totals stay exact even then.
//
// Counters live outside the entries, in kShards arrays of one cache line per callsite (shard k
// of callsite i at shards_[k * capacity + i]): threads are spread over the shards, so threads
// allocating from the same stack do not take turns owning one line. The arrays are one NORESERVE
// mapping whose pages the kernel backs on first touch, so a single-threaded program pays for
// shard 0's array only, not for lines of shards it never uses (measured: docs/PERFORMANCE.md).
//
// The first kExclusiveShards shards are owned by one thread each (claimed at the thread's first
// count, given back when it exits, see callsite_table.cpp): the owner is the shard's only writer
// and updates it with a plain load and store instead of a locked add, 4 bus-locked operations
// fewer per allocation and free. The threads beyond share the last kSharedShards shards with
// atomic adds. Readers on any thread
// load every counter atomically: each value they read is one a writer stored.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "base/sys.h"

namespace libleak {

extern LIBLEAK_TLS uint32_t t_counter_shard;  // 1 + the calling thread's counter shard; 0 unset

// One callsite's counters in one shard, a cache line of its own. Live counts are derived
// (allocated minus freed): an allocation adds to the first two, a free to the last two.
struct alignas(64) CounterShard {
  std::atomic<uint64_t> allocs;
  std::atomic<uint64_t> bytes;
  std::atomic<uint64_t> freed_blocks;
  std::atomic<uint64_t> freed_bytes;
};

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
  // With one shard in use the peak comes from that shard alone: exact when it is an exclusive
  // shard (one thread); in a shared one another thread's latest frees may not be seen yet, which
  // can only raise it. With several shards in use, each thread checks the sum of the shards on
  // every kPeakSampling-th allocation: each check reads lines the other threads keep writing and
  // takes them away from their owners (the sampling rate is measured in docs/PERFORMANCE.md).
  std::atomic<int64_t> peak_live_bytes;
  // Bit k: shard k has counted this callsite. Readers sum those shards only.
  std::atomic<uint32_t> shards_used;
  // Where the counters are (see CallsiteTable): shard k's line is counters[k * shard_stride].
  // Set before the entry is published; only the readers below use them, the writers index the
  // table's arrays by id so a free does not read this line.
  uint32_t shard_stride;
  CounterShard* counters;

  // Written by the exit scan only.
  alignas(64) uint64_t unreachable_blocks;
  uint64_t unreachable_bytes;
  uint64_t indirect_blocks;
  uint64_t indirect_bytes;

  // Shards [0, kExclusiveShards) are owned by one thread at a time; the threads beyond share
  // the rest, in turn. A shard no thread uses costs address space only, and readers sum the
  // shards in use only: six exclusive ones cover a Python program, a few threads and small
  // pools; two shared ones halve the contention among the threads beyond.
  static constexpr uint32_t kExclusiveShards = 6;
  static constexpr uint32_t kSharedShards = 2;
  static constexpr uint32_t kShards = kExclusiveShards + kSharedShards;
  static constexpr uint64_t kPeakSampling = 64;

  // Read every shard's freed counts before any allocated count: a block is always counted
  // allocated before it is counted freed, so the differences never go negative.
  int64_t live_bytes() const { return int64_t(sum(&CounterShard::bytes, &CounterShard::freed_bytes)); }
  int64_t live_blocks() const { return int64_t(sum(&CounterShard::allocs, &CounterShard::freed_blocks)); }
  uint64_t allocations() const { return total(&CounterShard::allocs); }
  uint64_t allocated_bytes() const { return total(&CounterShard::bytes); }
  uint64_t frees() const { return total(&CounterShard::freed_blocks); }
  // Never below what is live now, even when the last allocations' checks were sampled out.
  int64_t peak() const {
    int64_t p = peak_live_bytes.load(std::memory_order_relaxed), now = live_bytes();
    return p > now ? p : now;
  }
  // Zeroes the shards in use only: the others' lines were never touched and stay unmapped.
  void reset_counters() {
    for (uint32_t used = shards_used.load(std::memory_order_relaxed); used; used &= used - 1) {
      CounterShard& s = shard(__builtin_ctz(used));
      s.allocs.store(0, std::memory_order_relaxed);
      s.bytes.store(0, std::memory_order_relaxed);
      s.freed_blocks.store(0, std::memory_order_relaxed);
      s.freed_bytes.store(0, std::memory_order_relaxed);
    }
    peak_live_bytes.store(0, std::memory_order_relaxed);
    shards_used.store(0, std::memory_order_relaxed);
  }
  // Sets shard k's bit on its first use; returns the shards in use. Release: a reader that sees
  // the bit (acquire, in total) also sees `counters`, written before this entry was published,
  // even one that does not check `published` (the timeline).
  uint32_t note_shard(uint32_t k) {
    uint32_t used = shards_used.load(std::memory_order_relaxed);
    if (!(used & (1u << k))) used = shards_used.fetch_or(1u << k, std::memory_order_release) | (1u << k);
    return used;
  }

 private:
  CounterShard& shard(uint32_t k) const { return counters[size_t(k) * shard_stride]; }
  // Sums over the shards in use only: readers of every callsite (the timeline, the writer) touch
  // one counter line per thread that used it, not all of them.
  uint64_t total(std::atomic<uint64_t> CounterShard::*field,
                 std::memory_order order = std::memory_order_relaxed) const {
    uint64_t t = 0;
    for (uint32_t used = shards_used.load(std::memory_order_acquire); used; used &= used - 1)
      t += (shard(__builtin_ctz(used)).*field).load(order);
    return t;
  }
  uint64_t sum(std::atomic<uint64_t> CounterShard::*in, std::atomic<uint64_t> CounterShard::*out) const {
    uint64_t gone = total(out, std::memory_order_acquire);
    return total(in, std::memory_order_acquire) - gone;
  }
};

static_assert(sizeof(Callsite) == 128, "two lines: the hot first line and the scan's");
static_assert(sizeof(CounterShard) == 64);

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

  // Counts an allocation or a free of `size` bytes at callsite `id` in the calling thread's shard.
  void on_alloc(uint32_t id, uint64_t size) {
    uint32_t k = counter_shard();
    bool owned = k < Callsite::kExclusiveShards;
    CounterShard& s = shard(k, id);
    Callsite& c = entries_[id];
    uint64_t nth = add<std::memory_order_relaxed>(s.allocs, 1, owned);
    uint64_t allocated = add<std::memory_order_relaxed>(s.bytes, size, owned) + size;
    uint32_t used = c.note_shard(k);
    int64_t now;
    if (used == (1u << k)) {
      now = int64_t(allocated - s.freed_bytes.load(std::memory_order_relaxed));
    } else {
      // Summing reads the other threads' shard lines, which they keep writing: done on every
      // allocation it would pass those lines back and forth again. Sampled instead.
      if (nth % Callsite::kPeakSampling) return;
      now = c.live_bytes();
    }
    atomic_raise(c.peak_live_bytes, now);
  }
  void on_free(uint32_t id, uint64_t size) {
    uint32_t k = counter_shard();
    bool owned = k < Callsite::kExclusiveShards;
    CounterShard& s = shard(k, id);
    // The shard's first count sets its bit; later frees need not read the entry's line for it.
    // Release: a reader that sees this free also sees the allocation it undoes (Callsite::sum).
    if (add<std::memory_order_release>(s.freed_blocks, 1, owned) == 0) entries_[id].note_shard(k);
    add<std::memory_order_release>(s.freed_bytes, size, owned);
  }
  // In a forked child: its counters start at zero, and the calling thread, the only one left,
  // keeps its exclusive shard while the others' owners are gone.
  void after_fork_child();

  // The calling thread's shard, assigned at its first count: an exclusive shard while one is
  // free, else one of the shared ones. Public for the tests.
  static uint32_t counter_shard() {
    uint32_t k = t_counter_shard;
    return LIBLEAK_LIKELY(k) ? k - 1 : assign_counter_shard();
  }
  // Bit k: a thread owns exclusive shard k. For the tests.
  static uint32_t exclusive_shards_owned();

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
  static uint32_t assign_counter_shard();
  // Adds `d`, returns the value before. The owner of an exclusive shard is its only writer, and
  // a signal handler cannot count in the middle (the recorder's HookGuard sends its allocations
  // straight through), so a plain load and store lose no update and take no bus lock; a shared
  // shard needs the atomic add. Readers on other threads load either value, never a torn one.
  template <std::memory_order order>
  static uint64_t add(std::atomic<uint64_t>& a, uint64_t d, bool owned) {
    if (LIBLEAK_LIKELY(owned)) {
      uint64_t v = a.load(std::memory_order_relaxed);
      a.store(v + d, order);
      return v;
    }
    return a.fetch_add(d, order);
  }
  CounterShard& shard(uint32_t k, uint32_t id) { return shards_[size_t(k) * max_entries_ + id]; }
  // Tells entry `id` where its counters are, before it is published (Callsite::counters).
  void link_counters(uint32_t id) {
    entries_[id].shard_stride = max_entries_;
    entries_[id].counters = &shard(0, id);
  }
  size_t shards_bytes() const { return size_t(Callsite::kShards) * max_entries_ * sizeof(CounterShard); }

  std::atomic<uint64_t>* index_ = nullptr;  // (hash high bits << 24) | (id + 1); 0 empty
  Callsite* entries_ = nullptr;
  CounterShard* shards_ = nullptr;  // kShards arrays of max_entries_ lines, one after the other
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
