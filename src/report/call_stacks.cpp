// Stacks on demand: the only place the report pipeline calls the symbolizer for a callsite.
#include "report/call_stacks.h"

namespace libleak {

CallStacks::CallStacks(std::shared_ptr<const Trace> trace, std::shared_ptr<Symbolizer> symbolizer)
    : trace_(std::move(trace)), symbolizer_(std::move(symbolizer)), kept_(trace_->callsites.size()) {}

Stack CallStacks::of(size_t callsite) const {
  if (const Stack& kept = kept_.at(callsite)) return kept;
  return std::make_shared<const std::vector<Frame>>(symbolizer_->symbolize(*trace_, trace_->callsites[callsite]));
}

Stack CallStacks::keep(size_t callsite) {
  Stack& slot = kept_.at(callsite);
  if (!slot) slot = of(callsite);
  return slot;
}

void CallStacks::set(size_t callsite, Stack stack) { kept_.at(callsite) = std::move(stack); }

}  // namespace libleak
