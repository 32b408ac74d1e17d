// Helpers shared by the unit and stress tests of the recorder's lock-free tables: deterministic
// mixing, addresses that collide in the live table's probe windows, tables that unmap themselves.
#pragma once

#include <stdint.h>

#include <vector>

#include "tables/address_index.h"
#include "tables/callsite_table.h"
#include "tables/live_blocks.h"
#include "tables/live_table.h"

namespace libleak::test {

inline uint64_t mix64(uint64_t x) {  // splitmix64 finalizer: a fixed, well-spread function of x
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The live table picks the start of a block's probe window in level l from the top 16 + l bits
// of this product (live_table.cpp, slot_hash). The tests that force windows to fill rely on it;
// LiveTableTest.CollidingAddressesFillOneWindow fails if the table stops hashing this way.
inline uint64_t window_hash(uintptr_t address) { return (uint64_t(address) >> 4) * 0x9E3779B97F4A7C15ull; }

// `n` 16-byte aligned addresses at or above `from` whose window hash has `top` as its top `bits`
// bits: they share their window start in levels 0 .. bits - 16.
inline std::vector<uintptr_t> colliding_addresses(uint64_t top, int bits, size_t n, uintptr_t from = 0x10000000) {
  std::vector<uintptr_t> out;
  for (uint64_t x = from >> 4; out.size() < n; ++x)
    if ((window_hash(uintptr_t(x << 4)) >> (64 - bits)) == top) out.push_back(uintptr_t(x << 4));
  return out;
}

// The tables have no destructors (they live for the whole process in libleak.so): these unmap.
struct ScopedLiveTable {
  LiveTable table;
  ~ScopedLiveTable() { table.reset_for_tests(); }
};

struct ScopedIndex {
  AddressIndex index;
  ~ScopedIndex() { index.reset_for_tests(); }
};

struct ScopedBlocks {
  LiveBlocks blocks;
  ~ScopedBlocks() { blocks.reset_for_tests(); }
};

struct ScopedCallsiteTable {
  CallsiteTable table;
  ~ScopedCallsiteTable() { table.destroy(); }
};

// What a test expects the live table to hold for one block.
struct Expected {
  uint64_t size;
  uint32_t callsite;
  uint16_t epoch;
  uint8_t fork_gen;
};

inline bool same_block(const LiveBlock& b, uintptr_t address, const Expected& e) {
  return b.address == address && b.size == e.size && b.callsite == e.callsite && b.epoch == e.epoch &&
         b.fork_gen == e.fork_gen;
}

}  // namespace libleak::test
