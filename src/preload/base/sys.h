// Allocation-free system helpers for libleak.so: memory from mmap, clocks, strings, stderr lines,
// getenv. Everything here is async-signal-safe and never calls the program's allocator, so any
// part of libleak may use it, inside malloc or in a signal handler.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "base/compiler.h"

namespace libleak {

void* sys_map(size_t bytes);  // zeroed anonymous memory (MAP_NORESERVE), nullptr on failure
void sys_unmap(void* p, size_t bytes);
uint64_t now_monotonic_ns();
uint64_t now_realtime_ns();
uint64_t now_coarse_ms();  // CLOCK_MONOTONIC_COARSE: cheap enough for every allocation
size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);
bool str_starts_with(const char* s, const char* prefix);
void str_copy(char* dst, size_t cap, const char* src);  // always NUL-terminates
const char* path_basename(const char* path);  // after the last '/'
// Append decimal or a string to a buffer; return the new length. For messages and file names.
size_t fmt_u64(char* buf, size_t cap, size_t len, uint64_t v);
size_t fmt_str(char* buf, size_t cap, size_t len, const char* s);
// One line on stderr, "libleak: " prefixed; built in a stack buffer, written with write(2).
void log_line(const char* a, const char* b = nullptr, const char* c = nullptr, const char* d = nullptr);
// getenv without locale or allocation: scans environ directly.
const char* env_get(const char* name);

// A message built in place, e.g. LogLine().text("scan: blocks ").num(n).print(). Cut at 511 bytes.
class LogLine {
 public:
  LogLine& text(const char* s) {
    n_ = fmt_str(buf_, sizeof buf_, n_, s);
    return *this;
  }
  LogLine& num(uint64_t v) {
    n_ = fmt_u64(buf_, sizeof buf_, n_, v);
    return *this;
  }
  const char* str() const { return buf_; }
  void print() const { log_line(buf_); }

 private:
  char buf_[512] = "";
  size_t n_ = 0;
};

// Raises an atomic maximum to `v` if it is higher; `order` applies to the successful store.
template <class T>
inline void atomic_raise(std::atomic<T>& max, T v, std::memory_order order = std::memory_order_relaxed) {
  T cur = max.load(std::memory_order_relaxed);
  while (v > cur && !max.compare_exchange_weak(cur, v, order, std::memory_order_relaxed)) {
  }
}

}  // namespace libleak
