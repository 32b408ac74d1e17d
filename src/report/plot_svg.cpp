// SVG timeline plot. Layout is fixed (960 px wide) so that golden files and the screenshot test
// can rely on it: title, plot area (id="plot-area"), axis labels, then the legend below the plot,
// one row per line. Sample i is drawn at i * interval: the recorder samples at a fixed interval
// from its first tick (doubling the interval, not dropping the start, when its buffer fills).
#include "report/plot_svg.h"

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
  uint64_t stack_hash = 0;
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

std::string series_label(const ProcessView& p, StackSource& stacks, uint64_t hash) {
  std::vector<std::string> names;
  for (const auto& l : p.report->leaks) {
    if (l.stack_hash != hash) continue;
    std::string v = l.indirect ? "indirect" : to_string(l.verdict);
    if (std::find(names.begin(), names.end(), v) == names.end()) names.push_back(v);
  }
  std::string verdicts;
  for (const auto& v : names) verdicts += (verdicts.empty() ? "" : ", ") + v;
  for (const auto& cs : p.trace->callsites) {
    if (cs.record.stack_hash != hash) continue;
    auto stack = stacks.of(cs);
    std::string where = stack->empty() ? "(no stack)" : describe_frame((*stack)[blame_frame(*stack)]);
    return verdicts.empty() ? where : fmt::format("{} [{}]", where, verdicts);
  }
  return fmt::format("callsite 0x{:016x}", hash);
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

std::string plot_svg(const ProcessView& p, Symbolizer& symbolizer, const PlotOptions& options) {
  if (!p.trace->timeline || p.trace->timeline->total.empty()) {
    throw Error("the trace has no timeline to plot (it is sampled every LIBLEAK_EPOCH_MS)");
  }
  const Timeline& t = *p.trace->timeline;
  StackSource stacks(p, symbolizer);
  std::vector<Line> lines;
  lines.push_back({0, &t.total, "total"});
  for (const auto* s : pick_series(t, std::min(options.top, kPlotMaxSeries))) {
    lines.push_back({s->stack_hash, &s->values, series_label(p, stacks, s->stack_hash)});
  }

  uint64_t max_bytes = 1;
  for (const auto& l : lines) max_bytes = std::max(max_bytes, *std::max_element(l.values->begin(), l.values->end()));
  Unit unit = byte_unit(max_bytes);
  double y_step = nice_step(max_bytes / unit.scale, 5);
  double y_max = std::ceil(max_bytes / unit.scale / y_step) * y_step;
  size_t n = t.total.size();
  double seconds = t.interval_ms / 1000.0;
  double x_max_raw = std::max(1.0, double(n - 1)) * seconds;
  if (x_max_raw <= 0) x_max_raw = 1;
  double x_step = nice_step(x_max_raw, 8);
  double x_max = std::ceil(x_max_raw / x_step - 1e-6) * x_step;  // 0.3 / 0.05 may be 6.0000001
  auto x_of = [&](double s) { return kLeft + (kRight - kLeft) * s / x_max; };
  auto y_of = [&](double v) { return kBottom - (kBottom - kTop) * (v / unit.scale) / y_max; };

  int legend_top = kBottom + 60;
  int height = legend_top + 20 * int(lines.size()) + 10;
  std::string cmd;
  for (const auto& a : p.report->command) cmd += (cmd.empty() ? "" : " ") + a;
  if (cmd.empty()) cmd = "(unknown command)";

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      kWidth, height);
  svg += fmt::format("<text x=\"{}\" y=\"28\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", kLeft,
                     xml_escape(shorten(fmt::format("live bytes over time: pid {}: {}", p.report->process.pid, cmd), 110)));
  svg += fmt::format("<rect id=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#808080\"/>\n",
                     kLeft, kTop, kRight - kLeft, kBottom - kTop);
  svg += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n";
  for (double v = y_step; v <= y_max + 1e-9; v += y_step) {
    double y = y_of(v * unit.scale);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>\n", kLeft, y, kRight, y);
  }
  for (double s = x_step; s <= x_max + 1e-9; s += x_step) {
    double x = x_of(s);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\"/>\n", x, kTop, x, kBottom);
  }
  svg += "</g>\n<g fill=\"#404040\">\n";
  for (double v = 0; v <= y_max + 1e-9; v += y_step) {
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
                       y_of(v * unit.scale) + 4, tick_label(v));
  }
  for (double s = 0; s <= x_max + 1e-9; s += x_step) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x_of(s), kBottom + 18,
                       tick_label(s));
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time (s)</text>\n", (kLeft + kRight) / 2,
                     kBottom + 40);
  svg += fmt::format("<text transform=\"translate(24 {}) rotate(-90)\" text-anchor=\"middle\">live {}</text>\n",
                     (kTop + kBottom) / 2, unit.name);
  svg += "</g>\n";

  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    const char* color = i == 0 ? kTotalColor : kColors[i - 1];
    std::string points;
    for (size_t k = 0; k < l.values->size(); ++k) {
      double x = x_of(l.values->size() == 1 ? 0 : k * seconds);
      points += fmt::format("{}{:.1f},{:.1f}", k ? " " : "", x, y_of(double((*l.values)[k])));
    }
    if (l.values->size() == 1) points += fmt::format(" {:.1f},{:.1f}", x_of(x_max), y_of(double(l.values->front())));
    svg += fmt::format(
        "<polyline class=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
        "stroke-linejoin=\"round\"><title>{}</title></polyline>\n",
        i == 0 ? "total" : "series", points, color, i == 0 ? 3 : 2.5, xml_escape(l.label));
    int y = legend_top + 20 * int(i);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"4\"/>"
        "<text x=\"{}\" y=\"{}\">{}: {} at end</text>\n",
        kLeft, y - 4, kLeft + 24, y - 4, color, kLeft + 32, y, xml_escape(shorten(l.label, 100)),
        xml_escape(format_bytes(l.values->back())));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace libleak
