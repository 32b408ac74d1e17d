// The symbolized stacks of one trace's callsites, by callsite index. analyze() keeps the stacks
// it reads (callsites with live blocks: every format needs them); any other callsite (freed
// everything: only peak/allocated weights, pprof and the plot ask) is symbolized on request.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "report/symbolizer.h"
#include "report/trace_reader.h"

namespace libleak {

// Frames of one callsite, innermost first, shared by every entry and format that shows them.
using Stack = std::shared_ptr<const std::vector<Frame>>;

class CallStacks {
 public:
  CallStacks() = default;
  // Holds the trace (frames and modules to symbolize from) and the run's shared symbolizer.
  CallStacks(std::shared_ptr<const Trace> trace, std::shared_ptr<Symbolizer> symbolizer);

  // The kept stack, or one symbolized now and not kept: keeping the stack of every freed
  // callsite would hold hundreds of MB for a long run, and the symbolizer's per-address cache
  // already makes a second request cost no more than copying the frames.
  Stack of(size_t callsite) const;
  // Symbolizes the callsite's stack (unless kept already) and keeps it.
  Stack keep(size_t callsite);
  // Keeps `stack` for the callsite: frames a test cannot get from the symbolizer.
  void set(size_t callsite, Stack stack);

 private:
  std::shared_ptr<const Trace> trace_;
  std::shared_ptr<Symbolizer> symbolizer_;  // shared by every trace of the run (one cache)
  std::vector<Stack> kept_;                 // by callsite index; null: not kept
};

}  // namespace libleak
