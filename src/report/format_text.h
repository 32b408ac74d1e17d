// The human-readable report (default): a summary per process, then its leaks largest first.
// Reachable entries are counted in the summary but listed only with show_reachable.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "report/analysis.h"
#include "report/output.h"

namespace libleak {

struct TextOptions {
  size_t top = 20;            // leaks listed per process
  bool show_reachable = false;
};

void write_text(Output& out, const std::vector<ProcessReport>& reports, const TextOptions& options);
// The same, collected into a string (tests, small reports).
std::string format_text(const std::vector<ProcessReport>& reports, const TextOptions& options);

// "160000 bytes (156.2 KiB)", or "12 bytes" below 1 KiB.
std::string format_bytes(uint64_t bytes);

}  // namespace libleak
