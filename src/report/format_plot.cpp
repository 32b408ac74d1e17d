// SVG timeline plot. Layout is fixed (960 px wide) so that golden files and the screenshot test
// can rely on it: title, plot area (id="plot-area"), axis labels, then the legend below the plot,
// one row per line. Sample i is drawn at i * interval: the recorder samples at a fixed interval
// from its first tick (doubling the interval, not dropping the start, when its buffer fills).
#include "report/format_plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "report/error.h"
#include "report/escape.h"
#include "report/format_text.h"

namespace libleak {
namespace {

constexpr int kWidth = 960;
constexpr int kLeft = 90, kRight = 930, kTop = 50, kBottom = 400;
constexpr const char* kColors[kPlotMaxSeries] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                                                 "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
constexpr const char* kTotalColor = "#202020";

std::string shorten(std::string s, size_t max) {
  if (s.size() <= max) return s;
  s.resize(max - 3);
  // Do not cut a UTF-8 sequence in half.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
  return s + "...";
}

struct Unit {
  const char* name;
  double scale;
};

Unit byte_unit(uint64_t max) {
  if (max >= (uint64_t(1) << 30)) return {"GiB", double(uint64_t(1) << 30)};
  if (max >= (uint64_t(1) << 20)) return {"MiB", double(uint64_t(1) << 20)};
  if (max >= 1024) return {"KiB", 1024.0};
  return {"bytes", 1.0};
}

std::string tick_label(double v) {
  std::string s = fmt::format("{:.3f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

struct Line {
  const std::vector<uint64_t>* values = nullptr;
  std::string label;
};

// Most growth between the series' low point and its end first (a leak rises to the end), then
// the highest value, then the hash for a stable order.
std::vector<const TimelineSeries*> pick_series(const Timeline& t, size_t top) {
  struct Scored {
    uint64_t growth, peak;
    const TimelineSeries* s;
  };
  std::vector<Scored> scored;
  for (const auto& s : t.series) {
    if (s.values.empty()) continue;
    uint64_t peak = *std::max_element(s.values.begin(), s.values.end());
    if (peak == 0) continue;
    uint64_t low = *std::min_element(s.values.begin(), s.values.end());
    scored.push_back({s.values.back() - low, peak, &s});
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    if (a.growth != b.growth) return a.growth > b.growth;
    if (a.peak != b.peak) return a.peak > b.peak;
    return a.s->stack_hash < b.s->stack_hash;
  });
  std::vector<const TimelineSeries*> out;
  for (size_t i = 0; i < scored.size() && i < top; ++i) out.push_back(scored[i].s);
  return out;
}

// "blamed frame [verdicts]" of the callsite with this stack hash.
std::string series_label(const ProcessReport& r, uint64_t hash) {
  for (size_t i = 0; i < r.callsites.size(); ++i) {
    const CallsiteSummary& cs = r.callsites[i];
    if (cs.stack_hash != hash) continue;
    std::vector<std::string> names;
    for (size_t e : cs.entries) {
      const Leak& l = r.leaks[e];
      std::string v = l.indirect ? "indirect" : to_string(l.verdict);
      if (std::find(names.begin(), names.end(), v) == names.end()) names.push_back(v);
    }
    std::string verdicts;
    for (const auto& v : names) verdicts += (verdicts.empty() ? "" : ", ") + v;
    Stack stack = r.stacks.of(i);
    std::string where = stack->empty() ? "(no stack)" : describe_frame((*stack)[blame_frame(*stack)]);
    return verdicts.empty() ? where : fmt::format("{} [{}]", where, verdicts);
  }
  return fmt::format("callsite 0x{:016x}", hash);
}

// The axes: bytes in a unit that fits the largest value, both ranges rounded up to whole steps.
struct Scale {
  Unit unit;
  double seconds;  // between two samples
  double y_step, y_max, x_step, x_max;
  double x(double s) const { return kLeft + (kRight - kLeft) * s / x_max; }
  double y(double v) const { return kBottom - (kBottom - kTop) * (v / unit.scale) / y_max; }
};

Scale scale_for(const std::vector<Line>& lines, const Timeline& t) {
  uint64_t max_bytes = 1;
  for (const auto& l : lines) max_bytes = std::max(max_bytes, *std::max_element(l.values->begin(), l.values->end()));
  Scale s;
  s.unit = byte_unit(max_bytes);
  s.y_step = nice_step(max_bytes / s.unit.scale, 5);
  s.y_max = std::ceil(max_bytes / s.unit.scale / s.y_step) * s.y_step;
  size_t n = t.total.size();
  s.seconds = t.interval_ms / 1000.0;
  double x_max_raw = std::max(1.0, double(n - 1)) * s.seconds;
  if (x_max_raw <= 0) x_max_raw = 1;
  s.x_step = nice_step(x_max_raw, 8);
  s.x_max = std::ceil(x_max_raw / s.x_step - 1e-6) * s.x_step;  // 0.3 / 0.05 may be 6.0000001
  return s;
}

void write_head(Output& out, const ProcessReport& r, int height) {
  std::string cmd = command_line(r);
  if (cmd.empty()) cmd = "(unknown command)";
  out.print(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      kWidth, height);
  out.print("<text x=\"{}\" y=\"28\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", kLeft,
            xml_escape(shorten(fmt::format("live bytes over time: pid {}: {}", r.process.pid, cmd), 110)));
  out.print("<rect id=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n",
            kLeft, kTop, kRight - kLeft, kBottom - kTop);
}

// Grid lines, tick labels and the two axis titles.
void write_axes(Output& out, const Scale& s) {
  out.print("<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
  for (double v = s.y_step; v <= s.y_max + 1e-9; v += s.y_step) {
    double y = s.y(v * s.unit.scale);
    out.print("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>\n", kLeft, y, kRight, y);
  }
  for (double t = s.x_step; t <= s.x_max + 1e-9; t += s.x_step) {
    double x = s.x(t);
    out.print("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\"/>\n", x, kTop, x, kBottom);
  }
  out.print("</g>\n<g fill=\"#404040\">\n");
  for (double v = 0; v <= s.y_max + 1e-9; v += s.y_step) {
    out.print("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
              s.y(v * s.unit.scale) + 4, tick_label(v));
  }
  for (double t = 0; t <= s.x_max + 1e-9; t += s.x_step) {
    out.print("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", s.x(t), kBottom + 18,
              tick_label(t));
  }
  out.print("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time (s)</text>\n", (kLeft + kRight) / 2,
            kBottom + 40);
  out.print("<text transform=\"translate(24 {}) rotate(-90)\" text-anchor=\"middle\">live {}</text>\n",
            (kTop + kBottom) / 2, s.unit.name);
  out.print("</g>\n");
}

// Line i as a polyline (with its label as tooltip) and its legend row below the plot.
void write_line(Output& out, const Line& l, size_t i, const Scale& s, int legend_top) {
  const char* color = i == 0 ? kTotalColor : kColors[i - 1];
  std::string points;
  for (size_t k = 0; k < l.values->size(); ++k) {
    double x = s.x(l.values->size() == 1 ? 0 : k * s.seconds);
    points += fmt::format("{}{:.1f},{:.1f}", k ? " " : "", x, s.y(double((*l.values)[k])));
  }
  if (l.values->size() == 1) points += fmt::format(" {:.1f},{:.1f}", s.x(s.x_max), s.y(double(l.values->front())));
  out.print(
      "<polyline class=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
      "stroke-linejoin=\"round\"><title>{}</title></polyline>\n",
      i == 0 ? "total" : "series", points, color, i == 0 ? 3 : 2.5, xml_escape(l.label));
  int y = legend_top + 20 * int(i);
  out.print(
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"4\"/>"
      "<text x=\"{}\" y=\"{}\">{}: {} at end</text>\n",
      kLeft, y - 4, kLeft + 24, y - 4, color, kLeft + 32, y, xml_escape(shorten(l.label, 100)),
      xml_escape(format_bytes(l.values->back())));
}

}  // namespace

double nice_step(double max, int target) {
  if (max <= 0) return 1;
  double raw = max / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

void write_plot_svg(Output& out, const ProcessReport& r, const PlotOptions& options) {
  if (!r.timeline || r.timeline->total.empty()) {
    throw Error("the trace has no timeline to plot (it is sampled every LIBLEAK_EPOCH_MS)");
  }
  const Timeline& t = *r.timeline;
  std::vector<Line> lines;
  lines.push_back({&t.total, "total"});
  for (const auto* s : pick_series(t, std::min(options.top, kPlotMaxSeries))) {
    lines.push_back({&s->values, series_label(r, s->stack_hash)});
  }
  Scale scale = scale_for(lines, t);
  int legend_top = kBottom + 60;
  write_head(out, r, legend_top + 20 * int(lines.size()) + 10);
  write_axes(out, scale);
  for (size_t i = 0; i < lines.size(); ++i) write_line(out, lines[i], i, scale, legend_top);
  out.print("</svg>\n");
}

std::string plot_svg(const ProcessReport& report, const PlotOptions& options) {
  Output out;
  write_plot_svg(out, report, options);
  return out.str();
}


namespace {

void write_plot_format(Output& out, const Report& report, const FormatOptions& options) {
  write_plot_svg(out, report.processes.at(0), options.plot);
}

}  // namespace

const Format kPlotFormat{.name = "plot",
                         .kind = Format::Kind::kSideFile,
                         .help = "also write live bytes over time (total and top callsites) as SVG to FILE",
                         .single_process = true,
                         .write = write_plot_format};

}  // namespace libleak
