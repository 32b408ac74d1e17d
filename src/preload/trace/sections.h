// The trace's sections, one encoder each, in the order libleak.so writes them (the format is in
// include/libleak/trace_format.h). Writer thread only; allocation-free; each reads the recorder's
// state as it is when called, restricted to the callsites of the write's plan.
#pragma once

#include <stdint.h>

#include "trace/file_sink.h"
#include "trace/plan.h"
#include "trace/writer.h"

namespace libleak {

struct ProcessInfo {
  uint64_t start_realtime_ns;
  uint32_t flags;  // trace::ProcessFlags
};
void write_process(FileSink& out, const WriteRequest& req, const ProcessInfo& info);
void write_modules(FileSink& out);
void write_tree(FileSink& out, const Plan& p);
void write_callsites(FileSink& out, const Plan& p);
void write_timeline(FileSink& out, const Plan& p);
void write_stats(FileSink& out);
void write_marks(FileSink& out);
void write_python(FileSink& out, const Plan& p);

}  // namespace libleak
