// Concurrency stress of the address index (src/preload/address_index.h) with exact expected
// results: 16 threads create the same leaves at once, hand their blocks to other threads to free,
// race to free the same pointer, and a walker must always see the blocks nobody frees. Built
// twice: plain, and under ThreadSanitizer (fewer operations there).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "table_test_util.h"

namespace libleak {
namespace {

using test::Expected;
using test::mix64;
using test::same_block;
using test::ScopedBlocks;
using test::ScopedIndex;

#if defined(__SANITIZE_THREAD__)
constexpr uint64_t kPerThread = 4000;
#else
constexpr uint64_t kPerThread = 40000;
#endif
constexpr int kThreads = 16;
constexpr uintptr_t kBase = 0x7e0000000000;
constexpr uintptr_t kRegion = uintptr_t(1) << 26;

// Thread k's i-th block: interleaved with the other threads' in the same pages, spread over
// eight regions that no thread has touched before the start line.
uintptr_t address_of(int k, uint64_t i) { return kBase + (i % 8) * kRegion + ((i / 8) * kThreads + uint64_t(k)) * 32; }
Expected expected_of(uintptr_t a) {
  uint64_t m = mix64(a);
  return Expected{m & 0x7fff, uint32_t((m >> 15) & 0x7fffff), uint16_t(m >> 38), uint8_t((m >> 54) & 15)};
}

template <class Fn>
void run_threads(Fn fn) {
  std::atomic<int> arrived{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&, k] {
      arrived.fetch_add(1);
      while (arrived.load() < kThreads) std::this_thread::yield();
      fn(k);
    });
  for (auto& t : threads) t.join();
}

TEST(AddressIndexStress, SharedLeavesAndCrossThreadFreesAreExact) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  std::atomic<uint64_t> refused{0}, wrong{0}, missing{0};
  run_threads([&](int k) {
    for (uint64_t i = 0; i < kPerThread; ++i) {
      uintptr_t a = address_of(k, i);
      Expected e = expected_of(a);
      if (!t.insert(a, e.size, e.callsite, e.epoch, e.fork_gen)) refused.fetch_add(1);
    }
  });
  ASSERT_EQ(refused.load(), 0u);
  uint64_t walked = 0;
  t.for_each([&](const LiveBlock& b) {
    ++walked;
    if (!same_block(b, b.address, expected_of(b.address))) wrong.fetch_add(1);
  });
  EXPECT_EQ(walked, kPerThread * kThreads) << "a leaf created concurrently lost blocks";
  EXPECT_EQ(wrong.load(), 0u);
  // Each thread frees the blocks of the next thread.
  run_threads([&](int k) {
    int owner = (k + 1) % kThreads;
    for (uint64_t i = 0; i < kPerThread; ++i) {
      uintptr_t a = address_of(owner, i);
      LiveBlock b{};
      if (!t.remove(a, &b))
        missing.fetch_add(1);
      else if (!same_block(b, a, expected_of(a)))
        wrong.fetch_add(1);
    }
  });
  EXPECT_EQ(missing.load(), 0u);
  EXPECT_EQ(wrong.load(), 0u);
  walked = 0;
  t.for_each([&](const LiveBlock&) { ++walked; });
  EXPECT_EQ(walked, 0u);
}

TEST(AddressIndexStress, RacingFreesOfOnePointerSucceedOnce) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  constexpr uint64_t kRounds = kPerThread / 4;
  std::atomic<uint64_t> wins{0};
  for (uint64_t r = 0; r < kRounds; ++r) ASSERT_TRUE(t.insert(kBase + r * 32, 1, 1, 0, 0));
  // Every thread frees every block: a double (sixteen-fold) free in the program.
  run_threads([&](int) {
    for (uint64_t r = 0; r < kRounds; ++r) {
      LiveBlock b{};
      if (t.remove(kBase + r * 32, &b)) wins.fetch_add(1);
    }
  });
  EXPECT_EQ(wins.load(), kRounds);
}

TEST(AddressIndexStress, WalkDuringChurnSeesEveryStableBlock) {
  ScopedIndex s;
  AddressIndex& t = s.index;
  constexpr uint64_t kStable = 1000;
  // Stable blocks in the odd granules, churn in the even ones of the same pages.
  for (uint64_t i = 0; i < kStable; ++i) ASSERT_TRUE(t.insert(kBase + (2 * i + 1) * 32, 3, 3, 0, 0));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad_walks{0}, walks{0};
  std::thread walker([&] {
    while (!stop.load()) {
      uint64_t stable = 0;
      t.for_each([&](const LiveBlock& b) {
        if (b.size == 3 && b.callsite == 3) ++stable;
      });
      if (stable != kStable) bad_walks.fetch_add(1);
      walks.fetch_add(1);
    }
  });
  run_threads([&](int k) {
    for (uint64_t i = 0; i < kPerThread; ++i) {
      uintptr_t a = kBase + (2 * ((i * kThreads + uint64_t(k)) % kStable)) * 32;
      if (t.insert(a, 5, 5, 0, 0)) {
        LiveBlock b{};
        t.remove(a, &b);
      }
    }
  });
  stop.store(true);
  walker.join();
  EXPECT_GT(walks.load(), 0u);
  EXPECT_EQ(bad_walks.load(), 0u);
}

}  // namespace
}  // namespace libleak
