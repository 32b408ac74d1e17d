// Unit tests of the address index and the recorder's live-block store built on it
// (src/preload/address_index.h), single-threaded: exact round trips at every field's limit, the
// blocks it must refuse (and LiveBlocks stores in the hashed table instead), walks, memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "table_test_util.h"

namespace libleak {
namespace {

using test::Expected;
using test::same_block;
using test::ScopedBlocks;
using test::ScopedIndex;

template <class Table>
std::vector<LiveBlock> all_blocks(const Table& t) {
  std::vector<LiveBlock> out;
  t.for_each([&](const LiveBlock& b) { out.push_back(b); });
  std::sort(out.begin(), out.end(), [](const LiveBlock& a, const LiveBlock& b) { return a.address < b.address; });
  return out;
}

constexpr uintptr_t kRegion = uintptr_t(1) << 26;  // literal region size: 64 MiB
constexpr uintptr_t kBase = 0x7f0000000000;         // a region-aligned heap-like address

TEST(AddressIndexTest, EveryFieldRoundTripsAtItsLimits) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  struct Case {
    uintptr_t address;
    Expected e;
  };
  // Literal limits, not the class constants: the test must fail if a field loses a bit.
  const Case cases[] = {
      {kBase + 0x10, {32767, 8388607, 65535, 15}},  // all maxima: 2^15-1, 2^23-1, 2^16-1, 15
      {kBase + 0x40, {0, 0, 0, 0}},                 // all minima
      {kBase + 0x7f, {1, 2, 3, 4}},                 // odd address: all five low bits kept
      {0x7fffffffffe0, {5, 6, 7, 8}},               // the last granule below 2^47
      {0x20, {9, 10, 11, 12}},                      // the first region
  };
  for (const Case& c : cases) ASSERT_TRUE(t.insert(c.address, c.e.size, c.e.callsite, c.e.epoch, c.e.fork_gen));
  for (const Case& c : cases) {
    LiveBlock b{};
    ASSERT_TRUE(t.find(c.address, &b)) << std::hex << c.address;
    EXPECT_TRUE(same_block(b, c.address, c.e)) << std::hex << c.address;
  }
  std::vector<LiveBlock> walked = all_blocks(t);
  ASSERT_EQ(walked.size(), std::size(cases));
  for (const Case& c : cases) {
    LiveBlock r{};
    ASSERT_TRUE(t.remove(c.address, &r));
    EXPECT_TRUE(same_block(r, c.address, c.e));
    EXPECT_FALSE(t.remove(c.address, &r)) << "a second free of the same pointer";
    EXPECT_FALSE(t.find(c.address, &r));
  }
  EXPECT_TRUE(all_blocks(t).empty());
}

TEST(AddressIndexTest, RefusesWhatItCannotHold) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  EXPECT_FALSE(t.insert(kBase, 32768, 1, 0, 0)) << "size above 15 bits";
  EXPECT_FALSE(t.insert(kBase, 1, 8388608, 0, 0)) << "callsite above 23 bits";
  EXPECT_FALSE(t.insert(uintptr_t(1) << 47, 1, 1, 0, 0)) << "address at 2^47";
  ASSERT_TRUE(t.insert(kBase + 0x100, 8, 1, 0, 0));
  // Another block in the same 32-byte granule (allocators with 16-byte classes): refused, and
  // the first block is untouched.
  EXPECT_FALSE(t.insert(kBase + 0x110, 8, 2, 0, 0));
  LiveBlock b{};
  EXPECT_FALSE(t.find(kBase + 0x110, &b));
  EXPECT_FALSE(t.remove(kBase + 0x110, &b)) << "a neighbour's address must not free the block";
  ASSERT_TRUE(t.find(kBase + 0x100, &b));
  EXPECT_TRUE(same_block(b, kBase + 0x100, Expected{8, 1, 0, 0}));
}

TEST(AddressIndexTest, MemoryFollowsThePagesWritten) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  EXPECT_EQ(t.mapped_bytes(), 0u);
  LiveBlock b{};
  EXPECT_FALSE(t.remove(kBase, &b));  // no leaf: nothing mapped by a lookup
  EXPECT_EQ(t.mapped_bytes(), 0u);
  ASSERT_TRUE(t.insert(kBase, 16, 1, 0, 0));
  const size_t header = t.mapped_bytes() - 4096;  // one page of slots is written
  EXPECT_LE(header, 4096u);
  // A lookup in an unwritten page of the same leaf writes nothing.
  EXPECT_FALSE(t.remove(kBase + kRegion / 2, &b));
  EXPECT_EQ(t.mapped_bytes(), header + 4096);
  // Dense small blocks (glibc's 48-byte chunks for malloc(40)): 8 bytes of index per 32 bytes of
  // heap, in whole pages.
  constexpr uint64_t kBlocks = 100000, kChunk = 48;
  for (uint64_t i = 1; i < kBlocks; ++i) ASSERT_TRUE(t.insert(kBase + i * kChunk, 40, 1, 0, 0));
  uint64_t last_slot = (kBlocks - 1) * kChunk / 32;
  uint64_t pages = last_slot / 512 + 1;
  EXPECT_EQ(t.mapped_bytes(), header + pages * 4096);
  double per_block = double(t.mapped_bytes()) / double(kBlocks);
  printf("address index: %.1f bytes per 40-byte block\n", per_block);
  EXPECT_LT(per_block, 13.0);
  // A second region gets its own leaf.
  ASSERT_TRUE(t.insert(kBase + kRegion, 16, 1, 0, 0));
  EXPECT_EQ(t.mapped_bytes(), 2 * header + (pages + 1) * 4096);
}

TEST(AddressIndexTest, WalkSeesEveryBlockAcrossPagesAndRegions) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  std::vector<uintptr_t> addresses;
  // Around page boundaries of the slot array (512 slots = 16 KiB of address space each) and in
  // three regions, one of them far away.
  for (uintptr_t base : {kBase, kBase + kRegion, uintptr_t(0x55550000000)})
    for (uintptr_t off : {0x0, 0x20, 0x3fe0, 0x4000, 0x4020, 0x3ffffe0})
      addresses.push_back(base + off + 3);
  for (size_t i = 0; i < addresses.size(); ++i) ASSERT_TRUE(t.insert(addresses[i], i, uint32_t(i), 1, 0));
  LiveBlock r{};
  ASSERT_TRUE(t.remove(addresses[4], &r));
  std::vector<LiveBlock> walked = all_blocks(t);
  std::vector<uintptr_t> expected = addresses;
  expected.erase(expected.begin() + 4);
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(walked.size(), expected.size());
  for (size_t i = 0; i < walked.size(); ++i) {
    EXPECT_EQ(walked[i].address, expected[i]);
    size_t at = size_t(std::find(addresses.begin(), addresses.end(), expected[i]) - addresses.begin());
    EXPECT_TRUE(same_block(walked[i], expected[i], Expected{at, uint32_t(at), 1, 0}));
  }
}

TEST(LiveBlocksTest, SmallBlocksByAddressTheRestHashed) {
  ScopedBlocks s;
  LiveBlocks& t = s.blocks;
  const uintptr_t small = kBase + 0x100, twin = kBase + 0x110, large = kBase + 0x200;
  const uintptr_t high = uintptr_t(1) << 47;  // beyond the index, within the hashed table's 48 bits
  ASSERT_TRUE(t.insert(small, LiveBlocks::kDirectMaxSize, 1, 2, 3));
  ASSERT_TRUE(t.insert(twin, 16, 4, 5, 6));  // same granule: hashed
  ASSERT_TRUE(t.insert(large, LiveBlocks::kDirectMaxSize + 1, 7, 8, 9));
  ASSERT_TRUE(t.insert(high, 1, 10, 11, 12));
  const std::pair<uintptr_t, Expected> want[] = {
      {small, {LiveBlocks::kDirectMaxSize, 1, 2, 3}},
      {twin, {16, 4, 5, 6}},
      {large, {LiveBlocks::kDirectMaxSize + 1, 7, 8, 9}},
      {high, {1, 10, 11, 12}},
  };
  std::vector<LiveBlock> walked = all_blocks(t);
  ASSERT_EQ(walked.size(), std::size(want));
  for (size_t i = 0; i < walked.size(); ++i) EXPECT_TRUE(same_block(walked[i], want[i].first, want[i].second));
  for (const auto& [address, e] : want) {
    LiveBlock b{};
    ASSERT_TRUE(t.find(address, &b));
    EXPECT_TRUE(same_block(b, address, e));
  }
  // Free the twin before the small block and the small block before the twin's neighbour
  // reuses the granule: each free finds its own block.
  for (const auto& [address, e] : want) {
    LiveBlock r{};
    ASSERT_TRUE(t.remove(address, &r));
    EXPECT_TRUE(same_block(r, address, e));
    EXPECT_FALSE(t.remove(address, &r));
  }
  EXPECT_TRUE(all_blocks(t).empty());
}

// The size hint only orders the probes: every block is found whatever the hint says, and a
// block is removed once. Hints that lie both ways, and a small block the index refused.
TEST(LiveBlocksTest, WrongSizeHintsStillFindTheBlock) {
  ScopedBlocks s;
  LiveBlocks& t = s.blocks;
  const uintptr_t small = kBase + 0x1000, twin = kBase + 0x1010, large = kBase + 0x2000;
  ASSERT_TRUE(t.insert(small, 48, 1, 2, 3));
  ASSERT_TRUE(t.insert(twin, 16, 4, 5, 6));  // granule taken: hashed
  ASSERT_TRUE(t.insert(large, 4096, 7, 8, 9));
  LiveBlock r{};
  ASSERT_TRUE(t.remove(small, &r, 100000));  // says large, is in the index
  EXPECT_TRUE(same_block(r, small, Expected{48, 1, 2, 3}));
  ASSERT_TRUE(t.remove(twin, &r, 16));  // says small, is hashed
  EXPECT_TRUE(same_block(r, twin, Expected{16, 4, 5, 6}));
  ASSERT_TRUE(t.remove(large, &r, 0));  // no hint
  EXPECT_TRUE(same_block(r, large, Expected{4096, 7, 8, 9}));
  for (uintptr_t a : {small, twin, large}) {
    EXPECT_FALSE(t.remove(a, &r, 0));
    EXPECT_FALSE(t.remove(a, &r, 100000));
  }
  EXPECT_TRUE(all_blocks(t).empty());
}

// Neighbouring 64 MiB regions (glibc maps thread arenas one after another) use different hashed
// tables, and the same region always the same one.
TEST(LiveBlocksTest, NeighbouringRegionsUseDifferentHashedTables) {
  for (uintptr_t r = 0; r < 4096; ++r) {
    const uintptr_t a = kBase + r * kRegion;
    EXPECT_NE(LiveBlocks::shard_of(a), LiveBlocks::shard_of(a + kRegion)) << r;
    EXPECT_EQ(LiveBlocks::shard_of(a), LiveBlocks::shard_of(a + kRegion - 16)) << r;
  }
}

// Large blocks over many regions and shards, several per table window: all walked, all found,
// each removed exactly once.
TEST(LiveBlocksTest, LargeBlocksAcrossRegionsRoundTrip) {
  ScopedBlocks s;
  LiveBlocks& t = s.blocks;
  std::vector<uintptr_t> addresses;
  for (uintptr_t r = 0; r < 40; ++r)
    for (uintptr_t i = 0; i < 500; ++i) addresses.push_back(kBase + r * kRegion + i * 528);
  for (size_t i = 0; i < addresses.size(); ++i)
    ASSERT_TRUE(t.insert(addresses[i], 512 + i % 7, uint32_t(i), uint32_t(i % 3), 0)) << i;
  std::vector<LiveBlock> walked = all_blocks(t);
  ASSERT_EQ(walked.size(), addresses.size());
  for (size_t i = 0; i < walked.size(); ++i)
    EXPECT_TRUE(same_block(walked[i], addresses[i], Expected{512 + i % 7, uint32_t(i), uint16_t(i % 3), 0})) << i;
  for (size_t i = 0; i < addresses.size(); ++i) {
    LiveBlock r{};
    ASSERT_TRUE(t.remove(addresses[i], &r, i % 2 ? 512 : 0)) << i;
    EXPECT_EQ(r.callsite, uint32_t(i));
  }
  EXPECT_TRUE(all_blocks(t).empty());
}

}  // namespace
}  // namespace libleak
