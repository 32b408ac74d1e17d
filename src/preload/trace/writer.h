// Writes the trace file (format in include/libleak/trace_format.h) to a temporary name and
// renames it into place, so a reader never sees half a file. Never allocates; may run on the
// background thread, at exit, in a fatal-signal handler or from the public snapshot API.
#pragma once

#include <stdint.h>

namespace libleak {

struct WriteRequest {
  uint32_t exit_kind;  // trace::ExitKind
  int32_t exit_code;
  bool wait;           // block until another writer finishes (exit), or skip if busy (periodic,
                       // which also gives up when a waiting writer or the exit path interrupts it)
};

// At start-up: root is true for the process the user started (it writes the exact output name).
void trace_writer_init(bool root);
// Returns false when the trace could not be written (counted in write_failures).
bool trace_write(const WriteRequest& req);
// Brings the writer's stack trees and memory up to date without writing (on the background
// thread, while Python finalizes), so the final write has less to do. Skipped if a write runs.
void trace_prepare();
// Asks a periodic write in progress to give up (its temporary file is removed, never renamed):
// for the exit path, which is about to write the final trace anyway.
void trace_interrupt_periodic();
void trace_set_flags(uint32_t flags);   // ORs trace::ProcessFlags into the next writes
void trace_reset_after_fork();          // new pid, new output name

}  // namespace libleak
