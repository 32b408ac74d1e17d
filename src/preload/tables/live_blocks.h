// The recorder's live blocks, by address: small ones in the address index (address_index.h), the
// rest in hashed tables (live_table.h). Runs inside malloc/free: lock-free, memory from mmap only.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tables/address_index.h"
#include "tables/live_table.h"

namespace libleak {

// Small blocks go to the address index; the rest, and the rare small block whose slot is taken,
// to hashed LiveTables. Same interface as LiveTable.
//
// The hashed blocks are split over kHashedShards tables by 64 MiB region of address space. One
// table written by every thread passed its cache lines back and forth between cores.
// glibc gives each thread arena heaps of its own, 64 MiB and aligned to it, so threads in
// different arenas mostly write different tables; a big main heap spans many regions and spreads
// over all of them.
class LiveBlocks {
 public:
  static constexpr uint64_t kDirectMaxSize = 256;
  static constexpr int kShardBits = 4;
  static constexpr int kHashedShards = 1 << kShardBits;
  static constexpr int kShardRegionLog2 = 26;

  bool insert(uintptr_t address, uint64_t size, uint32_t callsite, uint32_t epoch, uint32_t fork_gen) {
    return (size <= kDirectMaxSize && direct_.insert(address, size, callsite, epoch, fork_gen)) ||
           hashed(address).insert(address, size, callsite, epoch, fork_gen);
  }
  // size_hint: a lower bound on the block's size when the caller knows one (the allocator's
  // chunk header, GMP's size argument), else 0. A block known to be large skips the index probe,
  // which costs a cache miss of its own; a wrong hint only costs the second probe.
  bool remove(uintptr_t address, LiveBlock* out, uint64_t size_hint = 0) {
    if (size_hint > kDirectMaxSize) return hashed(address).remove(address, out) || direct_.remove(address, out);
    return direct_.remove(address, out) || hashed(address).remove(address, out);
  }
  bool find(uintptr_t address, LiveBlock* out) const {
    return direct_.find(address, out) || hashed(address).find(address, out);
  }
  void prefetch(uintptr_t address, uint64_t size) const {
    if (size <= kDirectMaxSize)
      direct_.prefetch(address);
    else
      hashed(address).prefetch(address);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    direct_.for_each(fn);
    for_each_hashed(fn);
  }
  // The two halves apart, for the reachability scan.
  const AddressIndex& index() const { return direct_; }
  template <class Fn>
  void for_each_hashed(Fn&& fn) const {
    for (const LiveTable& t : hashed_) t.for_each(fn);
  }
  size_t mapped_bytes() const {
    size_t total = direct_.mapped_bytes();
    for (const LiveTable& t : hashed_) total += t.mapped_bytes();
    return total;
  }
  void reset_for_tests() {
    direct_.reset_for_tests();
    for (LiveTable& t : hashed_) t.reset_for_tests();
  }
  // Which hashed table holds blocks at this address. Public for the tests.
  static int shard_of(uintptr_t address) {
    // Fibonacci hashing of the region: neighbouring regions (arenas mapped one after another)
    // land in different tables.
    return int(((address >> kShardRegionLog2) * 0x9E3779B97F4A7C15ull) >> (64 - kShardBits));
  }

 private:
  LiveTable& hashed(uintptr_t address) { return hashed_[shard_of(address)]; }
  const LiveTable& hashed(uintptr_t address) const { return hashed_[shard_of(address)]; }

  AddressIndex direct_;
  LiveTable hashed_[kHashedShards];
};

}  // namespace libleak
