// Live bytes over time, process-wide and per callsite, sampled by the background thread.
// Samples go into fixed mmap'd arrays; when they fill up, every other sample is dropped and the
// interval doubles, so a run of any length keeps kSamples evenly spaced points.
#pragma once

#include <stdint.h>

namespace libleak {

inline constexpr uint32_t kTimelineSamples = 64;

void timeline_init(uint32_t max_callsites, uint32_t interval_ms);
void timeline_sample();  // called by the background thread only
uint32_t timeline_samples();
uint64_t timeline_interval_ms();
const uint64_t* timeline_total();
const uint64_t* timeline_series(uint32_t callsite);  // kTimelineSamples values, or nullptr

}  // namespace libleak
