// Reachability scan at exit: which live blocks can the program still reach?
// Conservative, like LeakSanitizer and the Boehm collector: roots are the writable segments of
// every loaded module, every thread's stack, registers and static TLS; any aligned word that
// points into a live block (its start or interior) keeps that block and what it points to alive.
#pragma once

#include <sys/types.h>

namespace libleak {

// Fills unreachable_* and indirect_* of every callsite, and keeps the list of unreachable blocks.
// Every other thread but skip_tid (libleak's own, or 0) is paused meanwhile. Returns false when it
// could not run (no memory for its scratch arrays); the trace then carries no unreachable verdicts.
bool scan_for_leaks(pid_t skip_tid);
// After an early scan (Python's atexit): recounts the kept unreachable blocks that are still live,
// so what the runtime frees while finalizing is not reported. False when no scan was kept.
bool scan_recount_kept();

}  // namespace libleak
