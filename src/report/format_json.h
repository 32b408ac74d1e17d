// The JSON report (--format json), a stable contract for scripts and tests:
//   one trace:  {"libleak_report":1, "source", "process", "totals", "marks", "leaks",
//                "suppressions", "dropped", "stats"}
//   several (more than one input, or a directory):
//               {"libleak_report":1, "processes":[<the object above minus libleak_report>],
//                "totals":{...summed...}}
// `leaks` holds every verdict, reachable included; consumers filter by "verdict".
// Frames carry "language": "native" or "python"; a Python frame has null address and offset, its
// qualified name as "function" and its .py path as "file" and "module". A leak's "python_frame" is
// the index of its innermost Python frame (or null); "after_marks" lists, per mark, the callsite's
// live blocks allocated after it. totals.by_domain counts every callsite, suppressed or not.
// With a baseline, "baseline" is the last member of the outer object; the report is streamed.
#pragma once

#include <string>
#include <vector>

#include "report/format.h"

namespace libleak {

extern const Format kJsonFormat;  // --format json

void write_json(Output& out, const Report& report);
// The same, collected into a string (tests, small reports).
std::string format_json(const Report& report);

// The "baseline" object: totals before, now and the increase, then the stacks that grew, each
// with its blamed frame.
void write_baseline_json(Output& out, const BaselineDiff& diff);
// The same, collected into a string (tests).
std::string baseline_json(const BaselineDiff& diff);

}  // namespace libleak
