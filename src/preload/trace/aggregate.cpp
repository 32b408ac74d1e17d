// Per-callsite aggregates for the trace; see aggregate.h. Writer thread only.
#include "trace/aggregate.h"

#include "libleak/trace_format.h"
#include "recorder/marks.h"
#include "recorder/state.h"
#include "recorder/timeline.h"

namespace libleak {

namespace t = trace;

uint32_t* born_histograms(uint32_t n, uint32_t epoch_count) {
  auto* born = writer_state().born.zeroed<uint32_t>(uint64_t(n) * t::kBornBuckets * sizeof(uint32_t));
  if (!born) return nullptr;
  g_live.for_each([&](const LiveBlock& b) {
    if (b.callsite >= n || b.fork_gen < g_fork_gen) return;  // inherited: the parent reports it
    uint64_t e = b.epoch < epoch_count ? b.epoch : epoch_count - 1;
    born[b.callsite * t::kBornBuckets + e * t::kBornBuckets / epoch_count]++;
  });
  return born;
}

uint64_t* live_after_marks(uint32_t n, uint32_t marks) {
  auto* acc = writer_state().marks.zeroed<uint64_t>(uint64_t(n) * marks * 2 * sizeof(uint64_t));
  if (!acc) return nullptr;
  g_live.for_each([&](const LiveBlock& b) {
    if (b.callsite >= n || b.fork_gen < g_fork_gen) return;
    for (uint32_t m = 0; m < marks; ++m) {
      if (b.epoch < mark_at(m).epoch) continue;
      uint64_t* slot = acc + (uint64_t(b.callsite) * marks + m) * 2;
      slot[0] += 1;
      slot[1] += b.size;
    }
  });
  return acc;
}

uint32_t top_series(const Plan& p, uint32_t (&top)[kTopSeries]) {
  uint64_t top_bytes[kTopSeries];
  uint32_t ntop = 0;
  for (uint32_t i = 0; i < p.n; ++i) {
    if (!p.included[i]) continue;
    int64_t v = g_callsites.entry(i).live_bytes();
    if (v <= 0 || !timeline_series(i)) continue;
    // Insertion into the sorted top list; a full list drops its smallest.
    uint32_t pos = ntop < kTopSeries ? ntop++ : kTopSeries;
    if (pos == kTopSeries) {
      if (uint64_t(v) <= top_bytes[kTopSeries - 1]) continue;
      pos = kTopSeries - 1;
    }
    while (pos > 0 && top_bytes[pos - 1] < uint64_t(v)) {
      top[pos] = top[pos - 1];
      top_bytes[pos] = top_bytes[pos - 1];
      --pos;
    }
    top[pos] = i;
    top_bytes[pos] = uint64_t(v);
  }
  return ntop;
}

}  // namespace libleak
