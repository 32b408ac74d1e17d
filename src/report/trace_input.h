// Bounded access to a trace's bytes, for the section parsers of trace_reader.cpp only: the memory
// budget every allocation sized by the file is charged to, and a cursor that reads a stored
// section in place or inflates a compressed one a little at a time. Both throw libleak::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace libleak {

// A compressed section may claim at most kMaxInflateRatio times its stored bytes, plus
// kInflateSlack (tiny sections compress badly, or not at all). Measured on traces of Python
// 3.6-3.13 (json, decimal, email, asyncio, unittest imports), gcc, ls -R and C programs with
// 49152-65536 call stacks: callsites 4.6-8.7:1, stack tree 2.4-5.7:1, python 1.5:1, whole files
// 1.6-7.5:1; zlib itself allows 1032:1. Each section type is inflated at most once and its
// stored bytes are part of the file, so all inflated bytes together stay under
// kMaxInflateRatio * file size + 8 * kInflateSlack: this bounds the time spent inflating, while
// the memory is bounded by the Budget (a section is never held inflated whole).
inline constexpr uint64_t kMaxInflateRatio = 32;
inline constexpr uint64_t kInflateSlack = 4096;

// The memory one trace may take in the reader: a limit set from the file size, and the running
// total of what the parsers hold. Every allocation whose size comes from the file is charged
// before it is made, so a hostile file meets an Error, not std::bad_alloc or the OOM killer.
class Budget {
 public:
  explicit Budget(uint64_t file_size);

  // Counts `bytes` about to be allocated for `what` ("callsites section"); throws past the limit.
  void charge(uint64_t bytes, const char* what);
  void release(uint64_t bytes) { used_ -= bytes < used_ ? bytes : used_; }

  uint64_t limit() const { return limit_; }

 private:
  uint64_t file_size_;
  uint64_t limit_;
  uint64_t used_ = 0;
};

// Reserves room for `n` elements, charging the bytes that growing the vector adds.
template <typename T>
void reserve_charged(std::vector<T>& v, uint64_t n, Budget& budget, const char* what) {
  if (n <= v.capacity()) return;
  budget.charge((n - v.capacity()) * sizeof(T), what);
  v.reserve(static_cast<size_t>(n));
}

// push_back for vectors whose final size the file does not state: growth is charged (the old
// and the new block coexist while the elements move) and the old block released after.
template <typename T>
void push_charged(std::vector<T>& v, T value, Budget& budget, const char* what) {
  if (v.size() == v.capacity()) {
    size_t old = v.capacity();
    size_t grown = old < 8 ? 8 : old * 2;
    budget.charge(grown * sizeof(T), what);
    v.reserve(grown);
    budget.release(old * sizeof(T));
  }
  v.push_back(std::move(value));
}

// Frees a vector charged with reserve_charged or push_charged.
template <typename T>
void free_charged(std::vector<T>& v, Budget& budget) {
  budget.release(v.capacity() * sizeof(T));
  std::vector<T>().swap(v);
}

class Inflater;

// Reads fixed-width records from one section; throws Error instead of reading past its end. A
// compressed section is inflated on demand into a window that holds only what is being read, so
// it costs the largest single record, not its whole uncompressed size.
class Cursor {
 public:
  // A stored section: `bytes` are read in place. `what` names it in errors ("modules section").
  Cursor(std::span<const std::byte> bytes, const char* what);
  // A kSectionZlib section (uint64 size, then a zlib stream), section number `index` of the file.
  Cursor(std::span<const std::byte> stored, const char* what, uint32_t index, Budget& budget);
  ~Cursor();
  Cursor(Cursor&&) = default;

  uint64_t remaining() const { return size_ - pos_; }
  bool empty() const { return remaining() == 0; }

  template <typename T>
  T take() {
    T value;
    std::memcpy(&value, need(sizeof(T)).data(), sizeof(T));
    return value;
  }

  // The next n bytes; valid until the next call on this cursor.
  std::span<const std::byte> need(uint64_t n);
  void skip(uint64_t n);

  // Skips padding to the next multiple of 8 (relative to the section start), clipped to the end.
  void align8();

  // A compressed section must inflate to exactly its stated size: reads what the parser left
  // and checks that the stream ends there. Nothing to do for a stored section.
  void finish();

 private:
  void check_room(uint64_t n) const;

  std::span<const std::byte> bytes_;  // stored section
  const char* what_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::unique_ptr<Inflater> inflater_;  // compressed section
};

}  // namespace libleak
