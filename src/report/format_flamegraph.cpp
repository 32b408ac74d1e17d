// Flame graph rendering. The folded stacks become a tree (children sorted by name, as in
// flamegraph.pl, so equal input gives equal output); each node is drawn at its depth, root at the
// bottom, with its x range measured in bytes. The script only rescales those byte ranges on a
// click: a node belongs to the zoomed view when it lies inside the clicked range at the clicked
// depth or above (then it is a descendant), or covers it from below (an ancestor).
#include "report/format_flamegraph.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/format_text.h"
#include "report/escape.h"

namespace libleak {
namespace {

constexpr int kWidth = 1200;  // SVG width in px; the script uses the same
constexpr int kRow = 17;
constexpr int kCharWidth = 7;  // approximate advance of a 12 px sans-serif character

struct Node {
  uint64_t value = 0;
  std::map<std::string, Node> children;
};

// Warm colours picked by a hash of the name, so a function has the same colour everywhere.
std::string color_of(std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return fmt::format("rgb({},{},{})", 200 + h % 56, 90 + (h >> 8) % 130, 40 + (h >> 16) % 50);
}

std::string fit_label(const std::string& name, double width) {
  long chars = static_cast<long>((width - 6) / kCharWidth);
  if (chars < 3) return "";
  if (static_cast<long>(name.size()) <= chars) return name;
  return name.substr(0, static_cast<size_t>(chars - 2)) + "..";
}

struct Emitter {
  Output& out;
  uint64_t total;
  int depth_max;
  void emit(const std::string& name, const Node& n, uint64_t x, int depth) {
    double px = double(x) * kWidth / double(total), pw = double(n.value) * kWidth / double(total);
    if (pw < 0.1) return;  // invisible at full width; dropped to keep the file small
    double y = double(depth_max - depth) * kRow;
    out.print(
        "<g class=\"f\" data-x=\"{}\" data-w=\"{}\" data-d=\"{}\" data-n=\"{}\"><title>{}: {} ({:.2f}%)</title>"
        "<rect x=\"{:.2f}\" y=\"{:.0f}\" width=\"{:.2f}\" height=\"{}\" fill=\"{}\" rx=\"2\"/>"
        "<text x=\"{:.2f}\" y=\"{:.0f}\">{}</text></g>\n",
        x, n.value, depth, xml_escape(name), xml_escape(name), format_bytes(n.value), 100.0 * double(n.value) / double(total),
        px, y, std::max(0.0, pw - 0.5), kRow - 1, color_of(name), px + 3, y + kRow - 5, xml_escape(fit_label(name, pw)));
    uint64_t cx = x;
    for (const auto& [child, c] : n.children) {
      emit(child, c, cx, depth + 1);
      cx += c.value;
    }
  }
};

int depth_of(const Node& n) {
  int d = 0;
  for (const auto& [_, c] : n.children) d = std::max(d, 1 + depth_of(c));
  return d;
}

constexpr const char* kScript = R"(
(function () {
  var W = 1200, svg = document.getElementById('flame'), info = document.getElementById('info');
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
  function human(b) {
    var u = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(1) : b) + ' ' + u[i];
  }
  function fit(name, w) {
    var n = Math.floor((w - 6) / 7);
    return n < 3 ? '' : name.length <= n ? name : name.slice(0, n - 2) + '..';
  }
  function zoom(g) {
    var x0 = +g.dataset.x, w0 = +g.dataset.w, d0 = +g.dataset.d;
    frames.forEach(function (e) {
      var x = +e.dataset.x, w = +e.dataset.w, d = +e.dataset.d, nx, nw;
      if (d >= d0 && x >= x0 && x + w <= x0 + w0) { nx = (x - x0) / w0 * W; nw = w / w0 * W; }
      else if (d < d0 && x <= x0 && x + w >= x0 + w0) { nx = 0; nw = W; }
      else { e.style.display = 'none'; return; }
      e.style.display = '';
      var r = e.querySelector('rect'), t = e.querySelector('text');
      r.setAttribute('x', nx); r.setAttribute('width', Math.max(0, nw - 0.5));
      t.setAttribute('x', nx + 3); t.textContent = fit(e.dataset.n, nw);
    });
  }
  frames.forEach(function (e) {
    e.addEventListener('click', function () { zoom(e); });
    e.addEventListener('mouseover', function () {
      info.textContent = e.dataset.n + ': ' + e.dataset.w + ' bytes (' + human(+e.dataset.w) + ', ' +
          (100 * e.dataset.w / frames[0].dataset.w).toFixed(2) + '% of all)';
    });
  });
})();
)";

}  // namespace

void write_flamegraph_html(Output& out, const std::vector<FoldedStack>& stacks, const std::string& title) {
  Node root;
  for (const auto& s : stacks) {
    root.value += s.value;
    Node* n = &root;
    for (const auto& f : s.frames) {
      n = &n->children[f];
      n->value += s.value;
    }
  }
  int depth_max = depth_of(root);
  int height = (depth_max + 1) * kRow;
  out.print(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\n"
      "<style>body{{font-family:sans-serif;margin:8px}} #flame text{{font-size:12px;pointer-events:none}} "
      "#flame g.f{{cursor:pointer}} #flame g.f:hover rect{{stroke:#000;stroke-width:0.5}} "
      "#info{{height:1.5em;font-family:monospace}}</style></head><body>\n"
      "<h3>{0}</h3>\n<div>Click a frame to zoom in, the bottom frame to zoom out.</div>\n"
      "<div id=\"info\">{1} in all</div>\n",
      xml_escape(title), xml_escape(format_bytes(root.value)));
  out.print(
      "<svg id=\"flame\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\">\n",
      kWidth, height);
  if (root.value > 0) {
    Emitter e{out, root.value, depth_max};
    e.emit("all", root, 0, 0);
  } else {
    out.print("<text x=\"10\" y=\"14\">nothing to show: no bytes for this metric</text>\n");
  }
  out.print("</svg>\n<script>{}</script>\n</body></html>\n", kScript);
}

std::string flamegraph_html(const std::vector<FoldedStack>& stacks, const std::string& title) {
  Output out;
  write_flamegraph_html(out, stacks, title);
  return out.str();
}

namespace {

// The title names what is weighed and, for one process, its command line.
void write_flamegraph_format(Output& out, const Report& report, const FormatOptions& options) {
  std::string what = fmt::format("{} bytes", to_string(options.flame_metric));
  if (report.processes.size() == 1) what += ": " + fmt::format("{}", fmt::join(report.processes[0].command, " "));
  write_flamegraph_html(out, fold_stacks(report.processes, options.flame_metric), what);
}

}  // namespace

const Format kFlamegraphFormat{.name = "flamegraph",
                               .kind = Format::Kind::kSideFile,
                               .help = "also write an interactive flame graph (HTML) to FILE",
                               .write = write_flamegraph_format};

}  // namespace libleak
