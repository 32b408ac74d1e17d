// The analysed input every output format reads: one ProcessReport per trace, the shape of the
// input (one trace or several), and the comparison with a baseline when one was given.
// Built once per run (report_command.cpp) and never changed by a format.
#pragma once

#include <optional>
#include <vector>

#include "report/analysis.h"
#include "report/baseline.h"

namespace libleak {

struct Report {
  std::vector<ProcessReport> processes;
  // Several inputs, or a directory: the JSON report lists "processes" even when there is one.
  bool multi = false;
  std::optional<BaselineDiff> baseline = std::nullopt;  // --baseline: what leaks more than in the older run
};

}  // namespace libleak
