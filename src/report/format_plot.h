// --plot FILE.svg: live bytes over time from the trace's timeline, as one self-contained SVG
// (no scripts, no external fonts: generic font families only), readable in any browser.
// The total, plus one line per top callsite (the most growth to the end, then the largest),
// each labelled in the legend with its blamed frame and verdicts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "report/format.h"

namespace libleak {

extern const Format kPlotFormat;  // --plot FILE [--plot-top N]

// Throws Error when the trace has no timeline.
void write_plot_svg(Output& out, const ProcessReport& report, const PlotOptions& options);
// The same, collected into a string (tests).
std::string plot_svg(const ProcessReport& report, const PlotOptions& options);

// Axis ticks: a "nice" step (1, 2 or 5 times a power of ten, in units of `unit`) so that
// [0, max] gets about `target` ticks. Exposed for tests.
double nice_step(double max, int target);

}  // namespace libleak
