// The recorder's state: the two tables and the process-wide counters. Shared by the hooks, the
// trace writer and the exit scan. Lives in mmap'd memory set up once by recorder_init().
#pragma once

#include "callsite_table.h"
#include "internal.h"
#include "address_index.h"

namespace libleak {

extern LiveBlocks g_live;
extern CallsiteTable g_callsites;
extern uint64_t g_start_ms;  // CLOCK_MONOTONIC_COARSE at start-up: epoch 0 begins here
extern uint32_t g_fork_gen;  // how many forks deep this process is; blocks with a lower one are inherited

// Publishes the calling thread's batched change to the process-wide live bytes and peak (see
// recorder.cpp); the trace writer calls it so the thread writing the trace is counted exactly.
void recorder_publish_live();

// In a forked child: the parent's blocks stay in the table (they are live here too, and the scan
// must follow pointers through them) but are no longer counted as this process's.
void recorder_after_fork_child();

// realloc in three steps, because the old entry must leave the table before the real realloc can
// hand its address to another thread: detach (remove the entry, keep its data), then either
// reattach (the real call failed: the block is unchanged) or settle (count the old block freed).
bool record_detach(void* p, LiveBlock* out, size_t size_hint = 0);
void record_reattach(void* p, const LiveBlock& b);
void record_settle(const LiveBlock& b);

}  // namespace libleak
