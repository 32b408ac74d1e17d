// Callsite table implementation; see callsite_table.h for the design. Runs inside malloc.
#include "tables/callsite_table.h"

#include <pthread.h>

#include "base/sys.h"

namespace libleak {

LIBLEAK_TLS uint32_t t_counter_shard = 0;

// Ownership of the exclusive shards. A thread claims the lowest free one at its first count and
// gives it back when it exits (a pthread key's destructor); the next owner continues its counts.
// Acquire on the claim and release on the give-back: the new owner's plain loads see the last
// values the previous owner stored.
namespace {
constexpr uint32_t kAllExclusive = (1u << Callsite::kExclusiveShards) - 1;
std::atomic<uint32_t> g_owned{0};
std::atomic<uint32_t> g_next_shared{0};
// The key is made by the first thread that needs it, without waiting: a thread that finds another
// making it takes a shared shard. 0 none, 1 being made, 2 ready, 3 failed.
std::atomic<uint32_t> g_key_state{0};
pthread_key_t g_key;

uint32_t take_shared_shard() {
  uint32_t k = Callsite::kExclusiveShards + g_next_shared.fetch_add(1, std::memory_order_relaxed) % Callsite::kSharedShards;
  t_counter_shard = k + 1;
  return k;
}

// Runs in the exiting thread after its last count in the shard. Allocations later in its exit
// (other keys' destructors, glibc's own clean-up) count in a shared shard.
void give_back_shard(void*) {
  uint32_t k = t_counter_shard - 1;
  take_shared_shard();
  if (k < Callsite::kExclusiveShards) g_owned.fetch_and(~(1u << k), std::memory_order_release);
}

bool key_ready() {
  uint32_t state = g_key_state.load(std::memory_order_acquire);
  if (state == 0 && g_key_state.compare_exchange_strong(state, 1, std::memory_order_relaxed)) {
    state = pthread_key_create(&g_key, give_back_shard) == 0 ? 2 : 3;
    g_key_state.store(state, std::memory_order_release);  // g_key is written before "ready"
  }
  return state == 2;
}
}  // namespace

uint32_t CallsiteTable::assign_counter_shard() {
  uint32_t owned = g_owned.load(std::memory_order_relaxed);
  while (owned != kAllExclusive && key_ready()) {
    uint32_t k = uint32_t(__builtin_ctz(~owned));
    if (!g_owned.compare_exchange_weak(owned, owned | (1u << k), std::memory_order_acquire,
                                       std::memory_order_relaxed))
      continue;
    // Any non-null value makes the destructor run at thread exit. Without it the shard could
    // never be given back: give it back now.
    if (pthread_setspecific(g_key, &g_owned) != 0) {
      g_owned.fetch_and(~(1u << k), std::memory_order_release);
      break;
    }
    t_counter_shard = k + 1;
    return k;
  }
  return take_shared_shard();
}

uint32_t CallsiteTable::exclusive_shards_owned() { return g_owned.load(std::memory_order_relaxed); }

namespace {
constexpr uint64_t kIdBits = 24;
constexpr uint64_t kIdMask = (uint64_t(1) << kIdBits) - 1;
}  // namespace

uint64_t hash_stack(const uintptr_t* frames, uint32_t depth, uint32_t domain) {
  // Two lanes over alternate frames: each step's multiply waits for the one before, so one lane
  // would be a chain of `depth` multiplies on every allocation; two halve it.
  uint64_t a = 0x84222325cbf29ce4ull ^ (uint64_t(domain) << 32) ^ depth, b = 0x9ae16a3b2f90404full;
  auto step = [](uint64_t h, uint64_t frame) {
    h = (h ^ frame) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
  };
  uint32_t i = 0;
  for (; i + 1 < depth; i += 2) {
    a = step(a, frames[i]);
    b = step(b, frames[i + 1]);
  }
  if (i < depth) a = step(a, frames[i]);
  uint64_t h = step(a, b);
  return h | 2;  // never 0 (empty) and never the overflow entry's hash 1
}

bool CallsiteTable::init(uint32_t capacity_log2, uint32_t max_depth) {
  uint64_t capacity = uint64_t(1) << capacity_log2;
  index_mask_ = capacity - 1;
  max_entries_ = uint32_t(capacity / 2);  // keep the index at most half full: short probes
  if (max_entries_ > kIdMask - 1) max_entries_ = uint32_t(kIdMask - 1);
  // Frames: room for every entry at a quarter of the maximum depth on average, at least 1M.
  arena_capacity_ = uint64_t(max_entries_) * (max_depth / 4 + 4);
  if (arena_capacity_ < (1u << 20)) arena_capacity_ = 1u << 20;
  index_ = static_cast<std::atomic<uint64_t>*>(sys_map(capacity * sizeof(uint64_t)));
  entries_ = static_cast<Callsite*>(sys_map(size_t(max_entries_) * sizeof(Callsite)));
  frame_arena_ = static_cast<uint64_t*>(sys_map(arena_capacity_ * sizeof(uint64_t)));
  shards_ = static_cast<CounterShard*>(sys_map(shards_bytes()));
  if (!index_ || !entries_ || !frame_arena_ || !shards_) {
    destroy();
    return false;
  }
  Callsite& overflow = entries_[kOverflow];
  overflow.hash = 1;
  link_counters(kOverflow);
  overflow.published.store(1, std::memory_order_release);
  count_.store(1, std::memory_order_release);
  return true;
}

void CallsiteTable::destroy() {
  sys_unmap(index_, (index_mask_ + 1) * sizeof(uint64_t));
  sys_unmap(entries_, size_t(max_entries_) * sizeof(Callsite));
  sys_unmap(frame_arena_, arena_capacity_ * sizeof(uint64_t));
  sys_unmap(shards_, shards_bytes());
  index_ = nullptr;
  entries_ = nullptr;
  shards_ = nullptr;
  frame_arena_ = nullptr;
  count_.store(0);
  arena_used_.store(0);
  dropped_.store(0);
}

uint32_t CallsiteTable::intern(uint64_t hash, const uintptr_t* frames, uint32_t depth, uint32_t domain,
                               uint32_t module_gen, FillFn fill, const void* fill_arg) {
  const uint64_t tag = hash & ~kIdMask;
  uint32_t fresh = 0;  // entry we prepared, 0 = none yet
  for (uint64_t i = 0; i <= index_mask_; ++i) {
    std::atomic<uint64_t>& slot = index_[(hash + i) & index_mask_];
    // Acquire: pairs with the publishing CAS so the entry's fields are visible.
    uint64_t s = slot.load(std::memory_order_acquire);
    if (s == 0) {
      if (!fresh) {
        fresh = count_.fetch_add(1, std::memory_order_relaxed);
        uint64_t offset = arena_used_.fetch_add(depth, std::memory_order_relaxed);
        if (fresh >= max_entries_ || offset + depth > arena_capacity_) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          return kOverflow;
        }
        Callsite& c = entries_[fresh];
        c.hash = hash;
        c.frames = offset;
        c.depth = depth;
        c.domain = domain;
        c.module_gen = module_gen;
        link_counters(fresh);
        for (uint32_t f = 0; f < depth; ++f) frame_arena_[offset + f] = frames[f];
        c.py_count = 0;
        if (fill) fill(c, fill_arg);
      }
      // Release: whoever reads the slot sees the entry completely written.
      if (slot.compare_exchange_strong(s, tag | (fresh + 1), std::memory_order_acq_rel, std::memory_order_acquire)) {
        entries_[fresh].published.store(1, std::memory_order_release);
        return fresh;
      }
      // Lost the slot: s now holds the winner; fall through and compare it.
    }
    if ((s & ~kIdMask) != tag) continue;
    uint32_t id = uint32_t((s & kIdMask) - 1);
    if (entries_[id].hash != hash) continue;
    // An entry we prepared but lost stays unpublished (abandoned): the winner's entry is used.
    return id;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return kOverflow;
}

void CallsiteTable::after_fork_child() {
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) entries_[i].reset_counters();
  uint32_t k = t_counter_shard - 1;  // UINT32_MAX if this thread never counted
  g_owned.store(k < Callsite::kExclusiveShards ? 1u << k : 0, std::memory_order_relaxed);
}

}  // namespace libleak
