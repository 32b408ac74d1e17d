// The JSON report (--format json), a stable contract for scripts and tests:
//   one trace:  {"libleak_report":1, "source", "process", "totals", "leaks", "suppressions",
//                "dropped", "stats"}
//   several (more than one input, or a directory):
//               {"libleak_report":1, "processes":[<the object above minus libleak_report>],
//                "totals":{...summed...}}
// `leaks` holds every verdict, reachable included; consumers filter by "verdict".
#pragma once

#include <string>
#include <vector>

#include "report/analysis.h"
#include "report/output.h"

namespace libleak {

void write_json(Output& out, const std::vector<ProcessReport>& reports, bool multi);
// The same, collected into a string (tests, small reports).
std::string format_json(const std::vector<ProcessReport>& reports, bool multi);

}  // namespace libleak
