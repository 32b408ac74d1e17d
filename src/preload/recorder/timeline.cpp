// Timeline sampling; see timeline.h. Runs on the background thread (and the exit path, which
// takes one final sample); never on the malloc path.
//
// Series are kept only for callsites that have held at least kSeriesThreshold live bytes at a
// sample: a Python run has tens of thousands of callsites, almost all tiny, and a series for each
// would cost more memory than the live-block table. Samples taken before a callsite got its series
// read as 0 (it was below the threshold then).
#include "recorder/timeline.h"

#include "base/sys.h"
#include "recorder/state.h"

namespace libleak {

namespace {
constexpr uint32_t kSeriesSlots = 4096;
constexpr int64_t kSeriesThreshold = 1024;
uint64_t* g_total = nullptr;
uint64_t* g_series = nullptr;  // [slot][kTimelineSamples]
uint32_t* g_slot_of = nullptr; // callsite -> slot + 1, 0 none
uint32_t g_slots_used = 0;
uint32_t g_max_callsites = 0;
uint32_t g_samples = 0;
uint64_t g_interval_ms = 0;
uint32_t g_skip = 0;  // samples to skip before the next one is stored, after compaction

void compact() {
  // Keep samples 0, 2, 4, ...: the series stays evenly spaced at twice the interval.
  for (uint32_t i = 0; i < kTimelineSamples / 2; ++i) {
    g_total[i] = g_total[2 * i];
    for (uint32_t s = 0; s < g_slots_used; ++s)
      g_series[s * kTimelineSamples + i] = g_series[s * kTimelineSamples + 2 * i];
  }
  g_samples = kTimelineSamples / 2;
  g_interval_ms *= 2;
}
}  // namespace

void timeline_init(uint32_t max_callsites, uint32_t interval_ms) {
  g_max_callsites = max_callsites;
  g_interval_ms = interval_ms;
  g_total = static_cast<uint64_t*>(sys_map(kTimelineSamples * sizeof(uint64_t)));
  g_series = static_cast<uint64_t*>(sys_map(uint64_t(kSeriesSlots) * kTimelineSamples * sizeof(uint64_t)));
  g_slot_of = static_cast<uint32_t*>(sys_map(uint64_t(max_callsites) * sizeof(uint32_t)));
}

void timeline_sample() {
  if (!g_total || !g_series || !g_slot_of) return;
  static uint32_t ticks = 0;
  // After a compaction the background thread still ticks at the base interval: store every
  // 2^k-th tick so the spacing matches.
  if (++ticks < (1u << g_skip)) return;
  ticks = 0;
  if (g_samples == kTimelineSamples) {
    compact();
    ++g_skip;
  }
  uint32_t i = g_samples;
  uint32_t n = g_callsites.count() < g_max_callsites ? g_callsites.count() : g_max_callsites;
  int64_t total = 0;  // the callsites' sum: exact, where the process-wide counter is batched
  for (uint32_t c = 0; c < n; ++c) {
    int64_t v = g_callsites.entry(c).live_bytes();
    total += v;
    uint32_t slot = g_slot_of[c];
    if (!slot) {
      if (v < kSeriesThreshold || g_slots_used == kSeriesSlots) continue;
      slot = g_slot_of[c] = ++g_slots_used;
    }
    g_series[(slot - 1) * kTimelineSamples + i] = v > 0 ? uint64_t(v) : 0;
  }
  g_total[i] = total > 0 ? uint64_t(total) : 0;
  g_samples = i + 1;
}

uint32_t timeline_samples() { return g_samples; }
uint64_t timeline_interval_ms() { return g_interval_ms; }
const uint64_t* timeline_total() { return g_total; }
const uint64_t* timeline_series(uint32_t c) {
  if (!g_series || !g_slot_of || c >= g_max_callsites || !g_slot_of[c]) return nullptr;
  return g_series + uint64_t(g_slot_of[c] - 1) * kTimelineSamples;
}

}  // namespace libleak
