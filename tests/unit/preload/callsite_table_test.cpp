// Unit tests of the callsite table (src/preload/callsite_table.h), single-threaded but for one
// helper thread: interning, exact frame storage, the overflow entry once the table is full, stack
// hashing, the counters and their shards in a forked child.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <set>
#include <thread>
#include <vector>

#include "libleak/trace_format.h"
#include "table_test_util.h"

namespace libleak {
namespace {

using test::ScopedCallsiteTable;

std::vector<uintptr_t> stack_of(uint32_t n, uint32_t depth) {
  std::vector<uintptr_t> f(depth);
  for (uint32_t i = 0; i < depth; ++i) f[i] = 0x400000 + (test::mix64(uint64_t(n) << 8 | i) & 0xffffff);
  return f;
}

uint32_t intern(CallsiteTable& t, const std::vector<uintptr_t>& f, uint32_t domain = 0, uint32_t gen = 0) {
  return t.intern(hash_stack(f.data(), uint32_t(f.size()), domain), f.data(), uint32_t(f.size()), domain, gen);
}

void expect_entry(const CallsiteTable& t, uint32_t id, const std::vector<uintptr_t>& f, uint32_t domain,
                  uint32_t gen) {
  const Callsite& c = t.entry(id);
  EXPECT_EQ(c.published.load(), 1u);
  EXPECT_EQ(c.hash, hash_stack(f.data(), uint32_t(f.size()), domain));
  EXPECT_EQ(c.depth, f.size());
  EXPECT_EQ(c.domain, domain);
  EXPECT_EQ(c.module_gen, gen);
  const uint64_t* frames = t.frames(c);
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(frames[i], f[i]) << "frame " << i << " of entry " << id;
}

TEST(CallsiteTableTest, FreshTableHoldsOnlyThePublishedOverflowEntry) {
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(12, 64));
  EXPECT_EQ(s.table.capacity(), 2048u);  // half the index
  EXPECT_EQ(s.table.count(), 1u);
  EXPECT_EQ(s.table.entry(CallsiteTable::kOverflow).published.load(), 1u);
  EXPECT_EQ(s.table.entry(CallsiteTable::kOverflow).hash, 1u);
  EXPECT_EQ(s.table.dropped(), 0u);
}

TEST(CallsiteTableTest, SameFramesGiveTheSameIdAndAreStoredExactly) {
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(12, 64));
  std::vector<uintptr_t> f = {0x401126, 0x7f00aa001234, 0x401300, 0xffffffffffff};
  uint32_t id = intern(s.table, f, 0, 3);
  EXPECT_EQ(id, 1u);  // entries are dense, in order of first sight
  EXPECT_EQ(intern(s.table, f, 0, 3), id);
  EXPECT_EQ(intern(s.table, f, 0, 9), id);  // the module generation is not part of the identity
  EXPECT_EQ(s.table.count(), 2u);
  expect_entry(s.table, id, f, 0, 3);
}

TEST(CallsiteTableTest, DifferentStacksGetDistinctDenseIds) {
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(14, 64));
  std::vector<std::vector<uintptr_t>> stacks;
  for (uint32_t n = 0; n < 1000; ++n) stacks.push_back(stack_of(n, 1 + n % 64));
  for (uint32_t n = 0; n < 1000; ++n) ASSERT_EQ(intern(s.table, stacks[n], n % 2, n), n + 1);
  for (uint32_t n = 0; n < 1000; ++n) ASSERT_EQ(intern(s.table, stacks[n], n % 2, 0), n + 1);
  EXPECT_EQ(s.table.count(), 1001u);
  for (uint32_t n = 0; n < 1000; ++n) expect_entry(s.table, n + 1, stacks[n], n % 2, n);
  // A prefix of a stack is a different stack.
  std::vector<uintptr_t> prefix(stacks[999].begin(), stacks[999].end() - 1);
  EXPECT_EQ(intern(s.table, prefix), 1001u);
  EXPECT_EQ(s.table.dropped(), 0u);
}

TEST(CallsiteTableTest, SameFramesInAnotherDomainAreAnotherCallsite) {
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(12, 64));
  std::vector<uintptr_t> f = stack_of(7, 12);
  uint32_t malloc_id = intern(s.table, f, trace::kDomainMalloc);
  uint32_t gmp_id = intern(s.table, f, trace::kDomainGmp);
  EXPECT_NE(malloc_id, gmp_id);
  EXPECT_EQ(s.table.entry(malloc_id).domain, uint32_t(trace::kDomainMalloc));
  EXPECT_EQ(s.table.entry(gmp_id).domain, uint32_t(trace::kDomainGmp));
}

TEST(CallsiteTableTest, FullTableReturnsOverflowAndCountsDrops) {
  // 2^10 index slots: 512 entries, of which entry 0 is the overflow callsite.
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(10, 8));
  EXPECT_EQ(s.table.capacity(), 512u);
  for (uint32_t n = 0; n < 511; ++n) ASSERT_EQ(intern(s.table, stack_of(n, 8)), n + 1) << n;
  EXPECT_EQ(s.table.dropped(), 0u);
  EXPECT_EQ(intern(s.table, stack_of(511, 8)), CallsiteTable::kOverflow);
  EXPECT_EQ(s.table.dropped(), 1u);
  EXPECT_EQ(intern(s.table, stack_of(512, 8)), CallsiteTable::kOverflow);
  EXPECT_EQ(intern(s.table, stack_of(511, 8)), CallsiteTable::kOverflow);  // not stored the first time
  EXPECT_EQ(s.table.dropped(), 3u);
  // Known stacks still resolve, and nothing was overwritten.
  for (uint32_t n = 0; n < 511; ++n) ASSERT_EQ(intern(s.table, stack_of(n, 8)), n + 1) << n;
  EXPECT_EQ(s.table.dropped(), 3u);
  EXPECT_EQ(s.table.count(), 512u);
  for (uint32_t n = 0; n < 511; n += 50) expect_entry(s.table, n + 1, stack_of(n, 8), 0, 0);
  EXPECT_EQ(s.table.entry(CallsiteTable::kOverflow).hash, 1u);
}

TEST(CallsiteTableTest, HashDependsOnDomainDepthAndEveryFrame) {
  std::set<uint64_t> seen;
  for (uint32_t n = 0; n < 200; ++n) {
    std::vector<uintptr_t> f = stack_of(n, 16);
    uint64_t h0 = hash_stack(f.data(), 16, trace::kDomainMalloc);
    uint64_t h1 = hash_stack(f.data(), 16, trace::kDomainGmp);
    EXPECT_NE(h0, h1) << n;
    EXPECT_EQ(h0, hash_stack(f.data(), 16, trace::kDomainMalloc));  // deterministic
    EXPECT_NE(h0, hash_stack(f.data(), 15, trace::kDomainMalloc));
    f[n % 16] ^= 0x10;
    EXPECT_NE(h0, hash_stack(f.data(), 16, trace::kDomainMalloc)) << n;
    EXPECT_GT(h0, 1u);  // never the empty index value nor the overflow entry's hash
    EXPECT_GT(h1, 1u);
    seen.insert(h0);
    seen.insert(h1);
  }
  EXPECT_EQ(seen.size(), 400u);
  EXPECT_NE(hash_stack(nullptr, 0, trace::kDomainMalloc), hash_stack(nullptr, 0, trace::kDomainGmp));
}

TEST(CallsiteTableTest, CountersTrackLiveTotalsAndPeak) {
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(10, 8));
  uint32_t id = intern(s.table, stack_of(1, 4));
  const Callsite& c = s.table.entry(id);
  s.table.on_alloc(id, 100);
  s.table.on_alloc(id, 50);
  s.table.on_free(id, 100);
  s.table.on_alloc(id, 10);
  s.table.on_free(id, 50);
  EXPECT_EQ(c.live_bytes(), 10);
  EXPECT_EQ(c.live_blocks(), 1);
  EXPECT_EQ(c.allocations(), 3u);
  EXPECT_EQ(c.allocated_bytes(), 160u);
  EXPECT_EQ(c.peak(), 150);
}

// In a forked child the forking thread is the only one left: it keeps its exclusive shard, the
// shards other threads owned are free again, and every count starts at zero.
TEST(CallsiteTableTest, ForkChildKeepsOnlyTheForkingThreadsShardAndZeroCounts) {
  ScopedCallsiteTable s;
  ASSERT_TRUE(s.table.init(10, 8));
  uint32_t id = intern(s.table, stack_of(1, 4));
  const Callsite& c = s.table.entry(id);
  s.table.on_alloc(id, 100);
  const uint32_t mine = CallsiteTable::counter_shard();
  ASSERT_LT(mine, Callsite::kExclusiveShards);
  std::atomic<int> step{0};
  uint32_t theirs = UINT32_MAX;
  std::thread other([&] {
    s.table.on_alloc(id, 10);
    theirs = CallsiteTable::counter_shard();
    step.store(1);
    while (step.load() != 2) std::this_thread::yield();
  });
  while (step.load() != 1) std::this_thread::yield();
  ASSERT_LT(theirs, Callsite::kExclusiveShards);
  const uint32_t both = (1u << mine) | (1u << theirs);
  ASSERT_EQ(CallsiteTable::exclusive_shards_owned() & both, both);
  pid_t pid = fork();
  if (pid == 0) {
    s.table.after_fork_child();
    int bad = 0;
    if (CallsiteTable::exclusive_shards_owned() != 1u << mine) bad |= 1;
    if (c.allocations() || c.frees() || c.live_bytes() || c.peak() || c.shards_used.load()) bad |= 2;
    s.table.on_alloc(id, 42);
    if (CallsiteTable::counter_shard() != mine || c.allocations() != 1 || c.live_bytes() != 42 || c.peak() != 42)
      bad |= 4;
    // A thread of the child takes the lowest free exclusive shard, which may be the one `other` had.
    uint32_t fresh = UINT32_MAX;
    std::thread t([&] {
      s.table.on_alloc(id, 8);
      fresh = CallsiteTable::counter_shard();
    });
    t.join();
    if (fresh != uint32_t(__builtin_ctz(~(1u << mine)))) bad |= 8;
    if (c.allocations() != 2 || c.live_bytes() != 50) bad |= 16;
    _exit(bad);
  }
  step.store(2);
  other.join();
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bits: 1 owners, 2 counts not zeroed, 4 forking thread's shard, "
                                       "8 child thread's shard, 16 counts after";
  EXPECT_EQ(c.allocations(), 2u);  // the parent's counts are its own
  EXPECT_EQ(c.live_bytes(), 110);
}

}  // namespace
}  // namespace libleak
