// The exit scan's marking: blocks found by address (small ones through the address index, the
// others in a sorted copy), each with a 4-bit state, and a bounded mark stack. Header-only so the
// scan's inner loop inlines; used by scan.cpp alone. Runs with the other threads paused.
//
// Classification follows valgrind and LSan: marked from roots = reachable. Of the rest, each
// block not yet reached from another unreachable block leads a flood through what it points to;
// everything the flood reaches is indirect. A leader later reached by another flood becomes
// indirect too, so a lost tree reports only its root as direct, and a lost cycle one member.
#pragma once

#include <stdint.h>

#include "libleak/trace_format.h"
#include "recorder/state.h"
#include "scan/memory_map.h"

namespace libleak {
namespace scan {

// A block's scan state: two bits, plus kPending while it is marked but its contents still wait
// to be scanned (the mark stack was full when it was reached).
enum : uint8_t { kUnreached = 0, kReachable = 1, kLeader = 2, kIndirect = 3, kStateMask = 3, kPending = 4 };

// Blocks of the hashed tables (over 256 bytes, and the few small ones whose granule was taken)
// are copied into a sorted array with their state. Small blocks are not copied: the address index
// finds them by address, and their states live in nibble arrays beside its leaves, touched only
// where blocks are (one byte per 64 bytes of small-block heap). Copying every block (32 bytes
// each) doubled the profiler's memory during the scan.
struct Big {
  uintptr_t start;
  uintptr_t end;
  uint32_t callsite;
  uint8_t state;
  uint8_t own;  // allocated by this process (not inherited through fork)
};

constexpr uint64_t kBigBit = uint64_t(1) << 63;  // a handle: a small block's address, or this | Big index
constexpr uint64_t kStackCap = 1 << 16;          // mark stack entries; beyond, blocks wait as kPending

struct Marker {
  const AddressIndex& index;
  Scratch<Big>& big;
  uint8_t* nibbles;  // 4 bits per index slot, leaves [0, leaves) one after another
  uint32_t leaves;
  Scratch<uint64_t>& stack;
  const MemoryMap& maps;
  uint32_t callsites;
  uintptr_t lo, hi;  // address range of all blocks, for a cheap first test
  bool overflowed = false;

  // One block found: its handle, extent and where its state is.
  struct Ref {
    uint64_t handle;
    uintptr_t start, end;
    uint8_t* state;  // a nibble's byte (small blocks) or Big::state
    int shift;
    uint8_t get() const { return uint8_t((*state >> shift) & 0xf); }
    void set(uint8_t v) const { *state = uint8_t((*state & ~(0xf << shift)) | (v << shift)); }
  };
  Ref small_ref(const LiveBlock& b, AddressIndex::Position at) const {
    uint8_t* byte = nibbles + ((uint64_t(at.leaf) * AddressIndex::kLeafSlots + at.slot) >> 1);
    return Ref{b.address, b.address, b.address + (b.size ? b.size : 1), byte, int(at.slot & 1) * 4};
  }
  Ref big_ref(uint64_t i) const {
    Big& b = big.data[i];
    return Ref{kBigBit | i, b.start, b.end, &b.state, 0};
  }
  // glibc-style chunks: the next chunk's header sits 16 bytes before the end of this chunk's
  // usable size + 8, inside this block's last bytes. The allocator's own bins and top pointer
  // point there, so such a pointer is the allocator's, not the program's, and must not keep this
  // block alive. Only asked of the C allocator's blocks (GMP arenas are not glibc chunks).
  bool is_next_chunk(uintptr_t v, uintptr_t start, uint32_t callsite) const {
    if (v - start < 16 || callsite >= callsites || !trace::kDomains[g_callsites.entry(callsite).domain].heap_chunks)
      return false;
    uintptr_t usable = recorder_allocator().usable_size(reinterpret_cast<void*>(start));
    return usable >= 24 && v == start + usable + 8 - 16;
  }
  bool find(uintptr_t v, Ref* r) const {
    if (v < lo || v >= hi) return false;
    LiveBlock b;
    AddressIndex::Position at;
    if (index.containing(v, LiveBlocks::kDirectMaxSize, &b, &at)) {
      if (at.leaf >= leaves || is_next_chunk(v, b.address, b.callsite)) return false;
      *r = small_ref(b, at);
      return true;
    }
    uint64_t x = 0, y = big.size;
    while (x < y) {
      uint64_t mid = (x + y) / 2;
      if (big.data[mid].end <= v) x = mid + 1;
      else y = mid;
    }
    if (x == big.size || big.data[x].start > v || is_next_chunk(v, big.data[x].start, big.data[x].callsite))
      return false;
    *r = big_ref(x);
    return true;
  }
  // The block behind a handle on the mark stack (a small one is looked up again by its address).
  bool resolve(uint64_t handle, Ref* r) const {
    if (handle & kBigBit) {
      *r = big_ref(handle & ~kBigBit);
      return true;
    }
    LiveBlock b;
    AddressIndex::Position at;
    if (!index.containing(handle, 0, &b, &at) || at.leaf >= leaves) return false;
    *r = small_ref(b, at);
    return true;
  }

  // Scans words in [start, end); blocks found in state `from` move to `to` and are queued.
  void scan_range(uintptr_t start, uintptr_t end, uint8_t from, uint8_t to, uint64_t self) {
    start = (start + 7) & ~uintptr_t(7);
    for (uintptr_t a = start; a + 8 <= end; a += 8) {
      Ref r;
      if (!find(*reinterpret_cast<const uintptr_t*>(a), &r) || r.handle == self) continue;
      uint8_t state = r.get() & kStateMask;
      if (state == from || (to == kIndirect && state == kLeader)) {
        if (stack.size < stack.cap) {
          r.set(to);
          stack.push(r.handle);
        } else {
          r.set(to | kPending);
          overflowed = true;
        }
      }
    }
  }
  void scan_block(const Ref& r, uint8_t from, uint8_t to, uint64_t self) {
    if (maps.readable(r.start, r.end)) scan_range(r.start, r.end, from, to, self);
  }
  void drain(uint8_t from, uint8_t to, uint64_t self) {
    while (stack.size) {
      Ref r;
      if (resolve(stack.data[--stack.size], &r)) scan_block(r, from, to, self);
    }
  }
  // Scans the blocks left pending by a full stack, until none is left.
  void finish(uint8_t from, uint8_t to, uint64_t self) {
    drain(from, to, self);
    while (overflowed) {
      overflowed = false;
      each_block([&](const Ref& r, uint32_t, bool) {
        if (!(r.get() & kPending)) return;
        r.set(r.get() & kStateMask);
        scan_block(r, from, to, self);
        drain(from, to, self);
      });
    }
  }
  void scan_root(uintptr_t start, uintptr_t end) {
    if (end <= start || !maps.readable(start, end)) return;
    g_counters.scan_roots_bytes.fetch_add(end - start, std::memory_order_relaxed);
    scan_range(start, end, kUnreached, kReachable, 0);
    drain(kUnreached, kReachable, 0);
  }
  // Every block once, small ones first: fn(const Ref&, callsite, own).
  template <class Fn>
  void each_block(Fn&& fn) {
    index.for_each_at([&](const LiveBlock& b, AddressIndex::Position at) {
      if (at.leaf < leaves) fn(small_ref(b, at), b.callsite, b.fork_gen >= g_fork_gen);
    });
    for (uint64_t i = 0; i < big.size; ++i) fn(big_ref(i), big.data[i].callsite, big.data[i].own != 0);
  }
};

}  // namespace scan
}  // namespace libleak
