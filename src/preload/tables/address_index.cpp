// Address index implementation; see address_index.h for the design. Runs inside malloc/free.
#include "tables/address_index.h"

#include "base/sys.h"

namespace libleak {

AddressIndex::Leaf* AddressIndex::make_leaf(uintptr_t address) {
  if (address >> kAddressBits) return nullptr;
  std::atomic<Leaf*>* dir = directory_.load(std::memory_order_acquire);
  if (!dir) {
    // 16 MiB of address space; only the pages of regions in use are ever touched.
    auto* fresh = static_cast<std::atomic<Leaf*>*>(sys_map(kDirectorySlots * sizeof(std::atomic<Leaf*>)));
    if (!fresh) return nullptr;
    if (directory_.compare_exchange_strong(dir, fresh, std::memory_order_acq_rel)) {
      dir = fresh;
    } else {
      sys_unmap(fresh, kDirectorySlots * sizeof(std::atomic<Leaf*>));
    }
  }
  std::atomic<Leaf*>& entry = dir[address >> kRegionLog2];
  Leaf* leaf = entry.load(std::memory_order_acquire);
  if (leaf) return leaf;
  // Claim a place in the leaf list before publishing, so for_each can never miss a leaf that
  // holds blocks. A thread that loses the race below leaves its empty leaf in the list: walking
  // it finds no touched page, and unmapping it could pull it from under a concurrent walk.
  if (leaf_count_.load(std::memory_order_relaxed) >= kMaxLeaves) return nullptr;
  uint32_t n = leaf_count_.fetch_add(1, std::memory_order_relaxed);
  if (n >= kMaxLeaves) return nullptr;
  auto* fresh = static_cast<Leaf*>(sys_map(sizeof(Leaf)));
  if (!fresh) return nullptr;
  fresh->base = (address >> kRegionLog2) << kRegionLog2;
  fresh->number = n;
  leaves_[n].store(fresh, std::memory_order_release);
  if (entry.compare_exchange_strong(leaf, fresh, std::memory_order_acq_rel)) return fresh;
  return leaf;
}

bool AddressIndex::insert(uintptr_t address, uint64_t size, uint32_t callsite, uint32_t epoch, uint32_t fork_gen) {
  if (size > kMaxSize || callsite > LiveTable::kMaxCallsite) return false;
  Leaf* leaf = leaf_of(address);
  if (!LIBLEAK_LIKELY(leaf)) leaf = make_leaf(address);
  if (!leaf) return false;
  uint64_t i = slot_of(address);
  std::atomic<uint64_t>& word = touched_word(*leaf, i);
  uint64_t bit = page_bit(i);
  if (!(word.load(std::memory_order_relaxed) & bit)) word.fetch_or(bit, std::memory_order_release);
  uint64_t fg = fork_gen < LiveTable::kMaxForkGen ? fork_gen : LiveTable::kMaxForkGen;
  uint64_t v = kValid | (fg << 59) | (uint64_t(epoch & 0xffff) << 43) | (uint64_t(callsite) << 20) | (size << 5) |
               (address & 31);
  uint64_t expected = 0;
  return leaf->slots[i].compare_exchange_strong(expected, v, std::memory_order_release, std::memory_order_relaxed);
}

__attribute__((always_inline)) inline std::atomic<uint64_t>* AddressIndex::slot_at(uintptr_t address, Leaf** leaf,
                                                                                   uint64_t* slot) const {
  *leaf = leaf_of(address);
  if (!*leaf) return nullptr;
  *slot = slot_of(address);
  if (!(touched_word(**leaf, *slot).load(std::memory_order_relaxed) & page_bit(*slot))) return nullptr;
  return &(*leaf)->slots[*slot];
}

__attribute__((always_inline)) inline std::atomic<uint64_t>* AddressIndex::holding(uintptr_t address, Leaf** leaf, uint64_t* slot, uint64_t* value) const {
  std::atomic<uint64_t>* s = slot_at(address, leaf, slot);
  if (!s) return nullptr;
  *value = s->load(std::memory_order_acquire);
  // Another block of the same granule, or none: the address may be in the hashed table.
  return *value && (*value & 31) == (address & 31) ? s : nullptr;
}

bool AddressIndex::remove(uintptr_t address, LiveBlock* out) {
  Leaf* leaf;
  uint64_t i, v;
  std::atomic<uint64_t>* slot = holding(address, &leaf, &i, &v);
  // A concurrent free of the same pointer (a double free in the program) loses the swap.
  if (!slot || !slot->compare_exchange_strong(v, 0, std::memory_order_acq_rel)) return false;
  if (out) *out = decode(leaf->base, i, v);
  return true;
}

bool AddressIndex::find(uintptr_t address, LiveBlock* out) const {
  Leaf* leaf;
  uint64_t i, v;
  if (!holding(address, &leaf, &i, &v)) return false;
  if (out) *out = decode(leaf->base, i, v);
  return true;
}

bool AddressIndex::containing(uintptr_t v, uint64_t max_size, LiveBlock* out, Position* at) const {
  // Blocks do not overlap, so walking back granule by granule the first block that starts at or
  // before v is the only one that can contain it. One that starts after v in v's own granule
  // does not end the walk.
  uintptr_t first = v & ~uintptr_t(31);
  for (uint64_t back = 0; back <= (max_size + 31) >> kGranuleLog2; ++back) {
    uintptr_t g = first - (back << kGranuleLog2);
    if (g > first) break;  // wrapped below 0
    Leaf* leaf;
    uint64_t i;
    std::atomic<uint64_t>* at_g = slot_at(g, &leaf, &i);
    uint64_t s = at_g ? at_g->load(std::memory_order_acquire) : 0;
    if (!s) continue;
    LiveBlock b = decode(leaf->base, i, s);
    if (b.address > v) continue;
    if (v - b.address >= (b.size ? b.size : 1)) return false;
    *out = b;
    *at = Position{leaf->number, i};
    return true;
  }
  return false;
}

void AddressIndex::prefetch(uintptr_t address) const {
  if (Leaf* leaf = leaf_of(address)) __builtin_prefetch(&leaf->slots[slot_of(address)], 1);
}

size_t AddressIndex::mapped_bytes() const {
  size_t total = 0;
  each_leaf([&](const Leaf& leaf) {
    total += offsetof(Leaf, slots);
    for (const auto& w : leaf.touched) total += size_t(__builtin_popcountll(w.load())) * kPageSlots * sizeof(uint64_t);
  });
  return total;
}

void AddressIndex::reset_for_tests() {
  uint32_t n = leaf_count_.exchange(0);
  for (uint32_t l = 0; l < n && l < kMaxLeaves; ++l) sys_unmap(leaves_[l].exchange(nullptr), sizeof(Leaf));
  sys_unmap(directory_.exchange(nullptr), kDirectorySlots * sizeof(std::atomic<Leaf*>));
}

}  // namespace libleak
