// Regression test for a race LiveTable::remove (src/preload/live_table.cpp) once had: it turned
// the key into a tombstone first and cleared the value after, so an insert that reused the fresh
// tombstone in between could have its value overwritten by that clear (the block then tracked
// with value 0: skipped by for_each, removed as size 0 and callsite 0). remove now claims the
// value first. 16 threads churn 32 addresses sharing one probe window, so tombstones are reused
// at once and the old race showed in nearly every run.
#include <gtest/gtest.h>
#include <stdio.h>

#include <atomic>
#include <thread>
#include <vector>

#include "table_test_util.h"

namespace libleak {
namespace {

using test::Expected;
using test::same_block;

#if defined(__SANITIZE_THREAD__)
constexpr uint32_t kRounds = 20000;
#else
constexpr uint32_t kRounds = 200000;
#endif

TEST(LiveTableRace, InsertReusingAFreshTombstoneKeepsItsValue) {
  constexpr int kThreads = 16;
  std::vector<uintptr_t> addr = test::colliding_addresses(0x2468, 16, 2 * kThreads);
  test::ScopedLiveTable s;
  LiveTable& t = s.table;
  std::atomic<int> arrived{0};
  std::atomic<uint64_t> wrong{0}, zeroed{0}, lost{0};
  auto expected = [](uintptr_t a, uint32_t round) {
    uint64_t m = test::mix64(a ^ round);
    return Expected{1 + (m & 0xffff), uint32_t(1 + (m >> 16) % 1000), uint16_t(m >> 32), uint8_t((m >> 48) & 15)};
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&, k] {
      uintptr_t a = addr[2 * k], b = addr[2 * k + 1];
      arrived.fetch_add(1);
      while (arrived.load() < kThreads) std::this_thread::yield();
      for (uint32_t r = 0; r < kRounds; ++r) {
        Expected ea = expected(a, r), eb = expected(b, r);
        if (!t.insert(a, ea.size, ea.callsite, ea.epoch, ea.fork_gen)) lost.fetch_add(1);
        if (!t.insert(b, eb.size, eb.callsite, eb.epoch, eb.fork_gen)) lost.fetch_add(1);
        for (auto [p, e] : {std::pair{a, ea}, std::pair{b, eb}}) {
          LiveBlock got{};
          if (!t.remove(p, &got)) {
            lost.fetch_add(1);
            continue;
          }
          if (!same_block(got, p, e)) {
            wrong.fetch_add(1);
            if (got.size == 0 && got.callsite == 0) zeroed.fetch_add(1);
          }
        }
      }
    });
  for (auto& th : threads) th.join();
  printf("[ measure  ] %d threads x %u rounds on one window: %llu wrong blocks (%llu with a zeroed value), "
         "%llu lost, %zu mapped bytes\n",
         kThreads, kRounds, (unsigned long long)wrong.load(), (unsigned long long)zeroed.load(),
         (unsigned long long)lost.load(), t.mapped_bytes());
  EXPECT_EQ(wrong.load(), 0u) << "remove returned values other than those inserted";
  EXPECT_EQ(lost.load(), 0u);
}

}  // namespace
}  // namespace libleak
