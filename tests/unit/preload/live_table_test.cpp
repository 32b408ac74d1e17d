// Unit tests of the live-block table (src/preload/live_table.h), single-threaded: exact round
// trips at every field's limit, rejection of blocks it cannot store, tombstone reuse, growth.
#include <gtest/gtest.h>
#include <stdio.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "table_test_util.h"

namespace libleak {
namespace {

using test::colliding_addresses;
using test::Expected;
using test::same_block;
using test::ScopedLiveTable;

constexpr size_t kLevel0Bytes = LiveTable::kLevel0Slots * sizeof(LiveSlot);

size_t count_live(const LiveTable& t) {
  size_t n = 0;
  t.for_each([&](const LiveBlock&) { ++n; });
  return n;
}

TEST(LiveTableTest, InsertFindRemoveRoundTrip) {
  ScopedLiveTable s;
  LiveTable& t = s.table;
  ASSERT_TRUE(t.insert(0x7f12345678f0, 4096, 17, 3, 1));
  LiveBlock b{};
  ASSERT_TRUE(t.find(0x7f12345678f0, &b));
  EXPECT_TRUE(same_block(b, 0x7f12345678f0, Expected{4096, 17, 3, 1}));
  EXPECT_FALSE(t.find(0x7f1234567900, &b));  // the next 16-byte address is not tracked
  LiveBlock r{};
  ASSERT_TRUE(t.remove(0x7f12345678f0, &r));
  EXPECT_TRUE(same_block(r, 0x7f12345678f0, Expected{4096, 17, 3, 1}));
  EXPECT_FALSE(t.find(0x7f12345678f0, &b));
  EXPECT_FALSE(t.remove(0x7f12345678f0, &r));
  EXPECT_EQ(count_live(t), 0u);
}

struct FieldCase {
  uintptr_t address;
  uint64_t size;
  uint32_t callsite;
  uint32_t epoch;
  uint32_t fork_gen;
};

TEST(LiveTableTest, EveryFieldRoundTripsAtItsLimits) {
  // Literal limits, not the class constants: the test must fail if a field loses a bit.
  const FieldCase cases[] = {
      {0xffffffffffff, 68719476735, 8388607, 65535, 15},  // all maxima: 2^48-1, 2^36-1, 2^23-1
      {0x2, 0, 0, 0, 0},                                  // all minima
      {0x1000, 68719476735, 0, 0, 0},                     // max size next to zero neighbours
      {0x2000, 0, 8388607, 0, 0},                         // max callsite
      {0x3000, 0, 0, 65535, 0},                           // max epoch
      {0x4000, 0, 0, 0, 15},                              // max fork generation
      {0x800000000000, 1, 1, 1, 1},                       // bit 47 of the address
      {0x555555559ab0, 0x9abcdef01, 0x5a5a5a, 0xa5a5, 10},
  };
  ScopedLiveTable s;
  for (const FieldCase& c : cases) ASSERT_TRUE(s.table.insert(c.address, c.size, c.callsite, c.epoch, c.fork_gen));
  EXPECT_EQ(count_live(s.table), std::size(cases));
  for (const FieldCase& c : cases) {
    Expected e{c.size, c.callsite, uint16_t(c.epoch), uint8_t(c.fork_gen)};
    LiveBlock b{};
    ASSERT_TRUE(s.table.find(c.address, &b)) << std::hex << c.address;
    EXPECT_TRUE(same_block(b, c.address, e)) << std::hex << c.address << ": got size " << b.size << " callsite "
                                             << b.callsite << " epoch " << b.epoch << " gen " << int(b.fork_gen);
  }
  for (const FieldCase& c : cases) {
    LiveBlock b{};
    ASSERT_TRUE(s.table.remove(c.address, &b));
    EXPECT_TRUE(same_block(b, c.address, Expected{c.size, c.callsite, uint16_t(c.epoch), uint8_t(c.fork_gen)}));
  }
  EXPECT_EQ(count_live(s.table), 0u);
}

TEST(LiveTableTest, ForkGenerationAboveTheLimitIsClampedTo15) {
  ScopedLiveTable s;
  ASSERT_TRUE(s.table.insert(0x5000, 8, 2, 9, 16));
  ASSERT_TRUE(s.table.insert(0x6000, 8, 2, 9, 200));
  LiveBlock b{};
  ASSERT_TRUE(s.table.find(0x5000, &b));
  EXPECT_EQ(b.fork_gen, 15);
  EXPECT_EQ(b.size, 8u);  // the clamp does not spill into the size bits
  ASSERT_TRUE(s.table.find(0x6000, &b));
  EXPECT_EQ(b.fork_gen, 15);
  EXPECT_EQ(b.size, 8u);
}

TEST(LiveTableTest, RejectsBlocksItCannotStore) {
  ScopedLiveTable s;
  LiveTable& t = s.table;
  EXPECT_FALSE(t.insert(0x1000000000000, 16, 1, 0, 0));       // 2^48: above 48 bits
  EXPECT_FALSE(t.insert(0x1000000001000, 16, 1, 0, 0));       // would alias 0x1000
  EXPECT_FALSE(t.insert(0xffff800000001000, 16, 1, 0, 0));    // kernel half
  EXPECT_FALSE(t.insert(0x1000, 68719476736, 1, 0, 0));       // 2^36 bytes
  EXPECT_FALSE(t.insert(0x1000, ~uint64_t(0), 1, 0, 0));
  EXPECT_FALSE(t.insert(0x1000, 16, 8388608, 0, 0));          // callsite 2^23
  EXPECT_FALSE(t.insert(0x0, 16, 1, 0, 0));                   // the empty key
  EXPECT_FALSE(t.insert(0x1, 16, 1, 0, 0));                   // the tombstone key
  EXPECT_FALSE(t.find(0x1000, nullptr));
  EXPECT_EQ(count_live(t), 0u);
}

TEST(LiveTableTest, RemoveOfUnknownAddressReturnsFalseAndLeavesOutUntouched) {
  ScopedLiveTable s;
  LiveTable& t = s.table;
  LiveBlock out{0xdead, 7, 7, 7, 7};
  EXPECT_FALSE(t.remove(0x7000, &out));  // empty table: no level mapped yet
  EXPECT_EQ(t.mapped_bytes(), 0u);
  for (uintptr_t a = 0x10000; a < 0x10000 + 100 * 16; a += 16) ASSERT_TRUE(t.insert(a, 1, 1, 1, 1));
  EXPECT_FALSE(t.remove(0x7000, &out));
  EXPECT_FALSE(t.remove(0x10008, &out));            // inside a tracked range, not a block start
  EXPECT_FALSE(t.remove(0x1000000010000, &out));    // same low 48 bits as a tracked block
  EXPECT_FALSE(t.remove(0xffff000000010000, &out));
  EXPECT_EQ(out.address, 0xdeadu);
  EXPECT_EQ(out.size, 7u);
  EXPECT_EQ(count_live(t), 100u);
}

TEST(LiveTableTest, RemoveWithNullOutStillRemoves) {
  ScopedLiveTable s;
  ASSERT_TRUE(s.table.insert(0x8000, 32, 3, 0, 0));
  EXPECT_TRUE(s.table.remove(0x8000, nullptr));
  EXPECT_FALSE(s.table.find(0x8000, nullptr));
}

TEST(LiveTableTest, CollidingAddressesFillOneWindowThenGrowToSecondAndThirdLevel) {
  // 65 addresses with the same top 17 hash bits share their window in levels 0 and 1 (which
  // use the top 14 and 15 bits): 32 fit level 0, 32 level 1, the last one needs level 2. Each
  // level is twice the size of the one before.
  std::vector<uintptr_t> a = colliding_addresses(0x1234, 17, 65);
  ScopedLiveTable s;
  LiveTable& t = s.table;
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(t.insert(a[i], 100 + i, i, i, 0));
  EXPECT_EQ(t.mapped_bytes(), 1 * kLevel0Bytes);
  for (int i = 32; i < 64; ++i) ASSERT_TRUE(t.insert(a[i], 100 + i, i, i, 0));
  EXPECT_EQ(t.mapped_bytes(), 3 * kLevel0Bytes);
  ASSERT_TRUE(t.insert(a[64], 164, 64, 64, 0));
  EXPECT_EQ(t.mapped_bytes(), 7 * kLevel0Bytes);
  for (int i = 0; i < 65; ++i) {
    LiveBlock b{};
    ASSERT_TRUE(t.find(a[i], &b)) << i;
    EXPECT_TRUE(same_block(b, a[i], Expected{uint64_t(100 + i), uint32_t(i), uint16_t(i), 0})) << i;
  }
  EXPECT_EQ(count_live(t), 65u);
  // Freeing the level-0 entries leaves tombstones there; the next 32 colliding blocks reuse them
  // and the blocks in levels 1 and 2 stay findable behind the tombstones.
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(t.remove(a[i], nullptr)) << i;
  std::vector<uintptr_t> more = colliding_addresses(0x1234, 17, 32, a[64] + 16);
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(t.insert(more[i], 7, 7, 7, 7));
  EXPECT_EQ(t.mapped_bytes(), 7 * kLevel0Bytes);
  for (int i = 32; i < 65; ++i) EXPECT_TRUE(t.find(a[i], nullptr)) << i;
  for (int i = 0; i < 32; ++i) EXPECT_FALSE(t.find(a[i], nullptr)) << i;
  EXPECT_EQ(count_live(t), 65u);
}

TEST(LiveTableTest, TombstonesAreReusedSoChurnDoesNotGrowTheTable) {
  ScopedLiveTable s;
  LiveTable& t = s.table;
  // One address inserted and removed 200,000 times, with a different block each time.
  for (uint32_t i = 0; i < 200000; ++i) {
    ASSERT_TRUE(t.insert(0x7f0000001230, 1 + i, i % 8388608, i & 0xffff, i % 16));
    LiveBlock b{};
    ASSERT_TRUE(t.remove(0x7f0000001230, &b));
    ASSERT_TRUE(same_block(b, 0x7f0000001230, Expected{1 + i, i % 8388608, uint16_t(i), uint8_t(i % 16)})) << i;
  }
  EXPECT_EQ(t.mapped_bytes(), kLevel0Bytes);
  // A full window of colliding addresses, freed and replaced by another 32 colliding addresses,
  // 2,000 times: every insert must land on a tombstone of the same window in level 0.
  std::vector<uintptr_t> a = colliding_addresses(0x4321, 16, 64);
  for (int round = 0; round < 2000; ++round) {
    const uintptr_t* set = &a[(round % 2) * 32];
    for (int i = 0; i < 32; ++i) ASSERT_TRUE(t.insert(set[i], 48 + round, 5, 0, 0));
    for (int i = 0; i < 32; ++i) {
      LiveBlock b{};
      ASSERT_TRUE(t.remove(set[i], &b));
      ASSERT_EQ(b.size, uint64_t(48 + round));
    }
  }
  EXPECT_EQ(t.mapped_bytes(), kLevel0Bytes);
  EXPECT_EQ(count_live(t), 0u);
}

// Inserts `n` blocks at the given addresses, checks find and for_each see exactly them with their
// values, and returns the mapped bytes per live block.
double fill_and_check(LiveTable& t, const std::vector<uintptr_t>& addresses) {
  auto expected_of = [](size_t i) {
    uint64_t m = test::mix64(i);
    return Expected{m & 0xfffffffff, uint32_t((m >> 36) & 0x7fffff), uint16_t(m >> 20), uint8_t((m >> 60) & 15)};
  };
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < addresses.size(); ++i) {
    Expected e = expected_of(i);
    if (!t.insert(addresses[i], e.size, e.callsite, e.epoch, e.fork_gen)) {
      ADD_FAILURE() << "insert " << i << " failed";
      return 0;
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  size_t bad = 0;
  for (size_t i = 0; i < addresses.size(); ++i) {
    LiveBlock b{};
    if (!t.find(addresses[i], &b) || !same_block(b, addresses[i], expected_of(i))) ++bad;
  }
  auto t2 = std::chrono::steady_clock::now();
  auto ns_per = [&](auto d) { return std::chrono::duration<double, std::nano>(d).count() / double(addresses.size()); };
  printf("[ measure  ] %zu inserts: %.0f ns each; finds: %.0f ns each\n", addresses.size(), ns_per(t1 - t0),
         ns_per(t2 - t1));
  EXPECT_EQ(bad, 0u) << "blocks not found with their exact values";
  std::vector<std::pair<uintptr_t, size_t>> index_of(addresses.size());  // sorted (address, i)
  for (size_t i = 0; i < addresses.size(); ++i) index_of[i] = {addresses[i], i};
  std::sort(index_of.begin(), index_of.end());
  size_t visited = 0, unexpected = 0;
  std::vector<bool> seen(addresses.size());
  t.for_each([&](const LiveBlock& b) {
    ++visited;
    auto it = std::lower_bound(index_of.begin(), index_of.end(), std::pair{b.address, size_t(0)});
    if (it == index_of.end() || it->first != b.address || seen[it->second] ||
        !same_block(b, b.address, expected_of(it->second))) {
      ++unexpected;
      return;
    }
    seen[it->second] = true;
  });
  EXPECT_EQ(visited, addresses.size());
  EXPECT_EQ(unexpected, 0u);
  return double(t.mapped_bytes()) / double(addresses.size());
}

TEST(LiveTableTest, MillionSequentialBlocksAllFindableAtMost40BytesEach) {
  std::vector<uintptr_t> a(1000000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0x555555560000 + i * 48;  // a heap of 32-byte blocks
  ScopedLiveTable s;
  double per_block = fill_and_check(s.table, a);
  printf("[ measure  ] 1M sequential blocks: %zu mapped bytes, %.2f bytes per live block\n",
         s.table.mapped_bytes(), per_block);
  EXPECT_LE(per_block, 40.0);
}

TEST(LiveTableTest, MillionScatteredBlocksAllFindableAtMost40BytesEach) {
  // 16-byte aligned, between 2^32 and 2^47, distinct (duplicates among 2^43 values are rare).
  std::vector<uintptr_t> a(1000100);
  for (size_t i = 0; i < a.size(); ++i) a[i] = (0x100000000 + (test::mix64(i) & 0x7ffeffffffff)) & ~uintptr_t(15);
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  ASSERT_GE(a.size(), 1000000u);
  a.resize(1000000);
  ScopedLiveTable s;
  double per_block = fill_and_check(s.table, a);
  printf("[ measure  ] 1M scattered blocks: %zu mapped bytes, %.2f bytes per live block\n",
         s.table.mapped_bytes(), per_block);
  EXPECT_LE(per_block, 40.0);
  // Remove every other block; the rest stay exact and nothing else is visited.
  for (size_t i = 0; i < a.size(); i += 2) ASSERT_TRUE(s.table.remove(a[i], nullptr)) << i;
  for (size_t i = 0; i < a.size(); i += 2) ASSERT_FALSE(s.table.find(a[i], nullptr)) << i;
  size_t left = 0;
  s.table.for_each([&](const LiveBlock&) { ++left; });
  EXPECT_EQ(left, 500000u);
}

}  // namespace
}  // namespace libleak
