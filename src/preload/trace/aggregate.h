// What the trace says per callsite beyond its counters, computed at write time from the live
// blocks and the timeline: birth histograms, live blocks after each mark, and which callsites get
// a timeline series. One pass over the live-block table each; writer thread only, no allocation
// (arrays in the writer's scratch memory).
#pragma once

#include <stdint.h>

#include "trace/plan.h"

namespace libleak {

// Live blocks by birth bucket for every callsite below n: born[c * kBornBuckets + bucket], or
// nullptr without memory.
uint32_t* born_histograms(uint32_t n, uint32_t epoch_count);
// Per callsite and mark, live blocks born at or after the mark: {blocks, bytes} at
// (c * marks + m) * 2, or nullptr without memory.
uint64_t* live_after_marks(uint32_t n, uint32_t marks);
// The callsites holding the most live bytes now among those with a timeline series, most first:
// enough to plot what grows. Returns how many (at most kTopSeries) were written to top.
inline constexpr uint32_t kTopSeries = 32;
uint32_t top_series(const Plan& p, uint32_t (&top)[kTopSeries]);

}  // namespace libleak
