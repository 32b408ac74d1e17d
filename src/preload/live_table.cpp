// Live-block table implementation; see live_table.h for the design. Runs inside malloc/free.
#include "live_table.h"

#include "internal.h"

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
  if (levels_[l].compare_exchange_strong(slots, fresh, std::memory_order_acq_rel)) return fresh;
  sys_unmap(fresh, bytes);  // another thread mapped it first
  return slots;
}

bool LiveTable::insert(uintptr_t address, uint64_t size, uint32_t callsite, uint32_t epoch, uint32_t fork_gen) {
  if (address > kMaxAddress || address <= kTombstone || size > kMaxSize || callsite > kMaxCallsite) return false;
  uint64_t key = uint64_t(address) | (uint64_t(epoch & 0xffff) << 48);
  // kValid keeps a written value nonzero, so readers can tell "being written" apart.
  uint64_t value = kValid | (uint64_t(fork_gen < kMaxForkGen ? fork_gen : kMaxForkGen) << 59) | (size << 23) | callsite;
  uint64_t h = slot_hash(address);
  for (int l = 0; l < kMaxLevels; ++l) {
    LiveSlot* slots = level(l);
    if (!slots) return false;
    uint64_t mask = level_slots(l) - 1;
    uint64_t start = h >> (64 - 16 - l);
    for (int j = 0; j < kWindow; ++j) {
      LiveSlot& s = slots[(start + j) & mask];
      uint64_t k = s.key.load(std::memory_order_relaxed);
      if (k != kEmpty && k != kTombstone) continue;
      if (!s.key.compare_exchange_strong(k, key, std::memory_order_acquire, std::memory_order_relaxed)) continue;
      // Release: a reader that sees the value also sees the key written before it.
      s.value.store(value, std::memory_order_release);
      return true;
    }
  }
  return false;
}

bool LiveTable::remove(uintptr_t address, LiveBlock* out) {
  uint64_t h = slot_hash(address);
  for (int l = 0; l < kMaxLevels; ++l) {
    LiveSlot* slots = levels_[l].load(std::memory_order_acquire);
    if (!slots) return false;
    uint64_t mask = level_slots(l) - 1;
    uint64_t start = h >> (64 - 16 - l);
    for (int j = 0; j < kWindow; ++j) {
      LiveSlot& s = slots[(start + j) & mask];
      uint64_t k = s.key.load(std::memory_order_acquire);
      if (k == kEmpty) break;  // inserts fill a window front to back, so the key is not further on
      if ((k & kMaxAddress) != address || k == kTombstone) continue;
      uint64_t v = s.value.load(std::memory_order_acquire);
      // The slot is ours once the key CAS succeeds: a concurrent free of the same pointer (a
      // double free in the program) loses and reports the pointer as unknown.
      if (!s.key.compare_exchange_strong(k, kTombstone, std::memory_order_acq_rel)) return false;
      s.value.store(0, std::memory_order_relaxed);
      if (out) *out = decode(k, v);
      return true;
    }
  }
  return false;
}

bool LiveTable::find(uintptr_t address, LiveBlock* out) const {
  uint64_t h = slot_hash(address);
  for (int l = 0; l < kMaxLevels; ++l) {
    LiveSlot* slots = levels_[l].load(std::memory_order_acquire);
    if (!slots) return false;
    uint64_t mask = level_slots(l) - 1;
    uint64_t start = h >> (64 - 16 - l);
    for (int j = 0; j < kWindow; ++j) {
      const LiveSlot& s = slots[(start + j) & mask];
      uint64_t k = s.key.load(std::memory_order_acquire);
      if (k == kEmpty) break;
      if (k == kTombstone || (k & kMaxAddress) != address) continue;
      if (out) *out = decode(k, s.value.load(std::memory_order_acquire));
      return true;
    }
  }
  return false;
}

size_t LiveTable::mapped_bytes() const {
  size_t total = 0;
  for (int l = 0; l < kMaxLevels; ++l)
    if (levels_[l].load(std::memory_order_relaxed)) total += level_slots(l) * sizeof(LiveSlot);
  return total;
}

void LiveTable::reset_for_tests() {
  for (int l = 0; l < kMaxLevels; ++l) {
    LiveSlot* slots = levels_[l].exchange(nullptr);
    sys_unmap(slots, level_slots(l) * sizeof(LiveSlot));
  }
}

}  // namespace libleak
