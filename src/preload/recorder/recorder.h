// The recorder's interface to the hooks: a few calls that attribute each allocation to its call
// stack and each free to its allocation. Every call is made inside an entered HookGuard and runs
// inside malloc: lock-free, no heap allocation; callers keep errno (hooks/track.h does).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libleak/trace_format.h"
#include "stacks/caller_frame.h"
#include "tables/live_table.h"

namespace libleak {

void recorder_init();  // idempotent, single-threaded (libleak.so's constructor)
bool recorder_ready();

// What the recorder and the scan need to know of the allocator the hooks forward to.
struct RealAllocator {
  size_t (*usable_size)(void*);  // its malloc_usable_size
  bool glibc;                    // glibc's own malloc: chunk headers can be read
};
void recorder_set_allocator(const RealAllocator& real);
const RealAllocator& recorder_allocator();

// `from`, when given, is the frame that called the hook: the stack walk starts there instead of
// walking libleak's own frames first. `domain` is a trace::Domain.
void record_alloc(void* p, size_t size, uint32_t domain, const CallerFrame* from = nullptr);
// An allocation made inside libleak itself (libunwind, a signal handler landing in a hook): only
// counted, its memory is not the program's.
void record_reentrant();
// Returns true when p was a tracked block (and removes it). Safe for pointers never seen.
// size_hint: a lower bound on the block's size if the caller knows one, else 0.
bool record_free(void* p, size_t size_hint = 0);

// realloc in two steps, because the old block must leave the table before the real realloc can
// hand its address to another thread: begin (remove the old block, keep what was known of it),
// then the real call, then end: the old block freed and the new one allocated, or, when the call
// failed, the old block put back unchanged (same callsite and birth).
struct ReallocTicket {
  LiveBlock old;
  bool known;  // p was a tracked block
};
ReallocTicket record_realloc_begin(void* p, size_t size_hint);
void record_realloc_end(const ReallocTicket& t, void* p, void* q, bool failed, size_t size, uint32_t domain,
                        const CallerFrame* from);

}  // namespace libleak
