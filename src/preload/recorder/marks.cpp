// Phase marks; see marks.h. Called from the program through the public API, never from malloc.
#include "recorder/marks.h"

#include <atomic>

#include "base/sys.h"
#include "recorder/state.h"

namespace libleak {

namespace {
Mark g_marks[kMaxMarks];
std::atomic<uint32_t> g_reserved{0};
std::atomic<uint32_t> g_published{0};
std::atomic<uint32_t> g_bias{0};
}  // namespace

int marks_add(const char* label) {
  uint32_t i = g_reserved.fetch_add(1, std::memory_order_relaxed);
  if (i >= kMaxMarks) return -1;
  g_bias.fetch_add(1, std::memory_order_relaxed);
  Mark& m = g_marks[i];
  m.time_ns = now_realtime_ns();
  m.epoch = uint32_t(current_epoch());
  str_copy(m.label, sizeof m.label, label ? label : "");
  m.label_len = uint32_t(str_len(m.label));
  // Marks are published in order; a concurrent mark waits for the one before it.
  uint32_t expected = i;
  while (!g_published.compare_exchange_weak(expected, i + 1, std::memory_order_release)) expected = i;
  return int(i);
}

uint32_t marks_count() { return g_published.load(std::memory_order_acquire); }
const Mark& mark_at(uint32_t i) { return g_marks[i]; }
uint32_t marks_epoch_bias() { return g_bias.load(std::memory_order_relaxed); }

}  // namespace libleak
