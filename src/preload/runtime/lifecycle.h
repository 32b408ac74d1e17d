// libleak.so's life in the process: start-up (constructor), the background thread, fork, the
// final write at exit and on fatal signals. What the process-level entry points (api.cpp) call.
#pragma once

#include <stdint.h>

namespace libleak {

bool libleak_active();  // this process records and writes a trace
// Scans (when `scan` and configured), then writes the trace for good; once per process. Safe in
// a fatal-signal handler (the scan is skipped there).
void write_final(uint32_t exit_kind, int32_t code, bool scan);

}  // namespace libleak
