// The recorder's state, for the parts of libleak that read what it recorded: the trace writer,
// the exit scan and the timeline. The tables live in mmap'd memory set up once by
// recorder_init(); the hooks never see them (they call recorder.h).
#pragma once

#include <stdint.h>

#include <atomic>

#include "recorder/recorder.h"
#include "tables/callsite_table.h"
#include "tables/live_blocks.h"

namespace libleak {

extern LiveBlocks g_live;
extern CallsiteTable g_callsites;
extern uint32_t g_fork_gen;  // how many forks deep this process is; blocks with a lower one are inherited

// Process-wide counters. Allocation and free totals are sums over the callsites, taken when the
// trace is written; only live bytes (for the exact process-wide peak) is updated on every call.
struct Counters {
  std::atomic<uint64_t> unknown_frees;
  std::atomic<uint64_t> dropped_callsites;
  std::atomic<uint64_t> dropped_blocks;
  std::atomic<uint64_t> reentrant;
  std::atomic<uint64_t> write_failures;
  std::atomic<uint64_t> inherited_frees;
  std::atomic<uint64_t> scan_roots_bytes;
  alignas(64) std::atomic<int64_t> live_bytes;
  std::atomic<int64_t> peak_live_bytes;
};
extern Counters g_counters;

// Publishes the calling thread's batched change to the process-wide live bytes and peak (see
// recorder.cpp); the trace writer calls it so the thread writing the trace is counted exactly.
void recorder_publish_live();

// In a forked child: the parent's blocks stay in the table (they are live here too, and the scan
// must follow pointers through them) but are no longer counted as this process's.
void recorder_after_fork_child();

uint64_t current_epoch();  // birth epoch of an allocation made now
// Epochs the trace covers: up to now, or, once the process has begun to exit, up to that moment.
// libleak's own exit work (the scan, the final write) can take several epochs on a loaded machine
// and must not read as a stretch of the program's run in which nothing was born.
uint32_t epochs_recorded();
void recorder_freeze_epochs();  // at the start of the final write

}  // namespace libleak
