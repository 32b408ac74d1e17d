// Live-block table implementation; see live_table.h for the design. Runs inside malloc/free.
#include "tables/live_table.h"

#include "base/sys.h"

namespace libleak {

namespace {

constexpr uint64_t kEmpty = 0;
constexpr uint64_t kTombstone = 1;

inline uint64_t slot_hash(uintptr_t address) {
  // Allocator addresses share their low bits (16-byte alignment) and cluster in arenas:
  // a multiplicative hash spreads them over the high bits, which select the slot.
  return (uint64_t(address) >> 4) * 0x9E3779B97F4A7C15ull;
}

inline uint64_t level_slots(int l) { return LiveTable::kLevel0Slots << l; }

}  // namespace

LiveSlot* LiveTable::level(int l) {
  LiveSlot* slots = levels_[l].load(std::memory_order_acquire);
  if (slots) return slots;
  size_t bytes = level_slots(l) * sizeof(LiveSlot);
  auto* fresh = static_cast<LiveSlot*>(sys_map(bytes));
  if (!fresh) return nullptr;
  // Release: a thread that sees the pointer must see the zeroed (empty) slots behind it.
  if (levels_[l].compare_exchange_strong(slots, fresh, std::memory_order_acq_rel)) {
    atomic_raise(top_, l, std::memory_order_release);
    return fresh;
  }
  sys_unmap(fresh, bytes);  // another thread mapped it first
  return slots;
}

inline uint64_t window_start(uint64_t hash, int l) { return hash >> (64 - LiveTable::kLevel0Log2 - l); }

bool LiveTable::insert(uintptr_t address, uint64_t size, uint32_t callsite, uint32_t epoch, uint32_t fork_gen) {
  if (address > kMaxAddress || address <= kTombstone || size > kMaxSize || callsite > kMaxCallsite) return false;
  uint64_t key = uint64_t(address) | (uint64_t(epoch & 0xffff) << 48);
  // kValid keeps a written value nonzero, so readers can tell "being written" apart.
  uint64_t value = kValid | (uint64_t(fork_gen < kMaxForkGen ? fork_gen : kMaxForkGen) << 59) | (size << 23) | callsite;
  uint64_t h = slot_hash(address);
  for (int l = newest_.load(std::memory_order_acquire); l < kMaxLevels; ++l) {
    LiveSlot* slots = level(l);
    if (!slots) return false;
    uint64_t mask = level_slots(l) - 1;
    uint64_t start = window_start(h, l);
    for (int j = 0; j < kWindow; ++j) {
      LiveSlot& s = slots[(start + j) & mask];
      uint64_t k = s.key.load(std::memory_order_relaxed);
      if (k != kEmpty && k != kTombstone) continue;
      if (!s.key.compare_exchange_strong(k, key, std::memory_order_acquire, std::memory_order_relaxed)) continue;
      // Release: a reader that sees the value also sees the key written before it.
      s.value.store(value, std::memory_order_release);
      return true;
    }
    // Window full. One full window says little about the level's load: move inserts on to the
    // next level only once 1/32 of the level's size in inserts have failed here, so levels fill
    // to a high load before they are left to drain (this insert still goes to the next level).
    if (l == newest_.load(std::memory_order_relaxed) &&
        failures_[l].fetch_add(1, std::memory_order_relaxed) + 1 > level_slots(l) / 32) {
      int expected = l;
      newest_.compare_exchange_strong(expected, l + 1, std::memory_order_acq_rel);
    }
  }
  return false;
}

// Calls fn(slot, key) for the slot holding `address`, newest level first; false if none.
template <class Fn>
static bool find_slot(const std::atomic<LiveSlot*>* levels, int newest, uintptr_t address, Fn&& fn) {
  uint64_t h = slot_hash(address);
  for (int l = newest; l >= 0; --l) {
    LiveSlot* slots = levels[l].load(std::memory_order_acquire);
    if (!slots) continue;
    uint64_t mask = level_slots(l) - 1;
    uint64_t start = window_start(h, l);
    for (int j = 0; j < LiveTable::kWindow; ++j) {
      LiveSlot& s = slots[(start + j) & mask];
      uint64_t k = s.key.load(std::memory_order_acquire);
      if (k == kEmpty) break;  // slots never become empty again, so the key is not further on
      if (k == kTombstone || (k & LiveTable::kMaxAddress) != address) continue;
      if (fn(s, k)) return true;
    }
  }
  return false;
}

bool LiveTable::remove(uintptr_t address, LiveBlock* out) {
  int newest = top_.load(std::memory_order_acquire);
  return find_slot(levels_, newest, address, [&](LiveSlot& s, uint64_t k) {
    uint64_t v = s.value.load(std::memory_order_acquire);
    // Claim through the value: a concurrent free of the same pointer (a double free in the
    // program) loses the swap and reports the pointer as unknown. Only then tombstone the key,
    // so no insert can take the slot while it is being cleared.
    if (v == 0 || !s.value.compare_exchange_strong(v, 0, std::memory_order_acq_rel)) return false;
    s.key.store(kTombstone, std::memory_order_release);
    if (out) *out = decode(k, v);
    return true;
  });
}

bool LiveTable::find(uintptr_t address, LiveBlock* out) const {
  int newest = top_.load(std::memory_order_acquire);
  return find_slot(levels_, newest, address, [&](LiveSlot& s, uint64_t k) {
    uint64_t v = s.value.load(std::memory_order_acquire);
    if (!v) return false;
    if (out) *out = decode(k, v);
    return true;
  });
}

void LiveTable::prefetch(uintptr_t address) const {
  int l = newest_.load(std::memory_order_relaxed);  // mapped: a level is mapped before it is newest
  LiveSlot* slots = levels_[l].load(std::memory_order_relaxed);
  if (slots) __builtin_prefetch(&slots[window_start(slot_hash(address), l) & (level_slots(l) - 1)], 1);
}

size_t LiveTable::mapped_bytes() const {
  size_t total = 0;
  for (int l = 0; l < kMaxLevels; ++l)
    if (levels_[l].load(std::memory_order_relaxed)) total += level_slots(l) * sizeof(LiveSlot);
  return total;
}

void LiveTable::reset_for_tests() {
  newest_.store(0);
  top_.store(0);
  for (auto& f : failures_) f.store(0);
  for (int l = 0; l < kMaxLevels; ++l) {
    LiveSlot* slots = levels_[l].exchange(nullptr);
    sys_unmap(slots, level_slots(l) * sizeof(LiveSlot));
  }
}

}  // namespace libleak
