// Baseline comparison: gated leaks of both sides summed per stack key, then subtracted. A stack
// that moved between verdicts (growing -> unreachable) but leaks the same bytes is no regression.
#include "report/baseline.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "report/error.h"
#include "report/format_text.h"
#include "report/escape.h"

namespace libleak {

std::string stack_key(const std::vector<Frame>& frames) {
  std::string key;
  for (const auto& f : frames) {
    if (f.function) {
      key += fmt::format("{}|{}|{}\n", *f.function, f.file ? *f.file : "", f.line ? *f.line : 0);
    } else {
      key += module_offset_label(f) + "\n";
    }
  }
  return key;
}

BaselineDiff diff_against_baseline(const std::vector<ProcessReport>& baseline,
                                   const std::vector<ProcessReport>& current, std::string source) {
  BaselineDiff d;
  d.source = std::move(source);
  std::map<std::string, Amount> before;
  for (const auto& r : baseline) {
    for (const auto& l : r.leaks) {
      if (!r.gated.has(l.verdict)) continue;
      before[l.stack ? stack_key(*l.stack) : std::string()] += Amount{l.bytes, l.blocks};
      d.before += Amount{l.bytes, l.blocks};
    }
  }
  std::map<std::string, BaselineEntry> now;
  for (const auto& r : current) {
    for (const auto& l : r.leaks) {
      if (!r.gated.has(l.verdict)) continue;
      auto [it, fresh] = now.try_emplace(l.stack ? stack_key(*l.stack) : std::string());
      BaselineEntry& e = it->second;
      if (fresh) {
        e.stack_hash = l.stack_hash;
        e.blame = l.blame;
        e.stack = l.stack;
      }
      e.now += Amount{l.bytes, l.blocks};
      e.verdicts.add(l.verdict);
      d.now += Amount{l.bytes, l.blocks};
    }
  }
  for (auto& [key, e] : now) {
    auto it = before.find(key);
    if (it != before.end()) e.before = it->second;
    e.is_new = it == before.end();
    e.delta_bytes = static_cast<int64_t>(e.now.bytes) - static_cast<int64_t>(e.before.bytes);
    e.delta_blocks = static_cast<int64_t>(e.now.blocks) - static_cast<int64_t>(e.before.blocks);
    if (e.delta_bytes > 0 || (e.delta_bytes == 0 && e.delta_blocks > 0)) {
      d.increase += Amount{static_cast<uint64_t>(std::max<int64_t>(e.delta_bytes, 0)),
                           static_cast<uint64_t>(std::max<int64_t>(e.delta_blocks, 0))};
      d.grown.push_back(e);
    } else if (e.delta_bytes < 0) {
      ++d.shrunk;
    }
  }
  for (const auto& [key, amount] : before) {
    if (!now.count(key)) ++d.shrunk;
  }
  std::stable_sort(d.grown.begin(), d.grown.end(), [](const BaselineEntry& a, const BaselineEntry& b) {
    if (a.delta_bytes != b.delta_bytes) return a.delta_bytes > b.delta_bytes;
    if (a.delta_blocks != b.delta_blocks) return a.delta_blocks > b.delta_blocks;
    return a.stack_hash < b.stack_hash;
  });
  return d;
}

namespace {

std::string blamed(const BaselineEntry& e) {
  if (!e.stack || e.stack->empty()) return "(no stack)";
  return describe_frame((*e.stack)[e.blame]);
}

std::string signed_amount(int64_t bytes, int64_t blocks) {
  return fmt::format("{:+} bytes in {:+} blocks", bytes, blocks);
}

}  // namespace

GateResult apply_baseline_gate(const BaselineDiff& d, std::optional<uint64_t> fail_above) {
  GateResult g;
  if (!fail_above) return g;
  bool fail = d.increase.bytes > *fail_above;
  g.exit_code = fail ? kExitGateFailed : kExitOk;
  g.message = fmt::format("{}: leaks grew by {} bytes in {} blocks over baseline {} {} limit {} bytes",
                          fail ? "FAIL" : "PASS", d.increase.bytes, d.increase.blocks, d.source,
                          fail ? ">" : "<=", *fail_above);
  if (fail && !d.grown.empty()) {
    g.message += fmt::format("; top: {:+} bytes in {}", d.grown.front().delta_bytes, blamed(d.grown.front()));
  }
  return g;
}

void write_baseline_text(Output& out, const BaselineDiff& d, size_t top) {
  out.print("\n== compared with baseline {} ==\n", d.source);
  out.print("leaked: {} in {} blocks before, {} in {} blocks now\n", format_bytes(d.before.bytes),
            d.before.blocks, format_bytes(d.now.bytes), d.now.blocks);
  out.print("increase: {} in {} blocks ({} stacks new or grown, {} shrunk or gone)\n",
            format_bytes(d.increase.bytes), d.increase.blocks, d.grown.size(), d.shrunk);
  size_t shown = 0;
  for (const auto& e : d.grown) {
    if (shown == top) {
      out.print("... {} more (use --top to list them)\n", d.grown.size() - shown);
      break;
    }
    ++shown;
    out.print("#{} {} {}: {} -> {} bytes, {} -> {} blocks ({})\n", shown, e.is_new ? "new" : "grew",
              signed_amount(e.delta_bytes, e.delta_blocks), e.before.bytes, e.now.bytes, e.before.blocks,
              e.now.blocks, e.verdicts.describe());
    out.print("    at {}\n", blamed(e));
  }
}

std::string baseline_json(const BaselineDiff& d) {
  std::string s = fmt::format(
      R"({{"source": {}, "before": {{"bytes": {}, "blocks": {}}}, "now": {{"bytes": {}, "blocks": {}}}, )"
      R"("increase": {{"bytes": {}, "blocks": {}}}, "shrunk": {}, "leaks": [)",
      json_string(d.source), d.before.bytes, d.before.blocks, d.now.bytes, d.now.blocks, d.increase.bytes,
      d.increase.blocks, d.shrunk);
  for (size_t i = 0; i < d.grown.size(); ++i) {
    const auto& e = d.grown[i];
    const Frame* f = e.stack && !e.stack->empty() ? &(*e.stack)[e.blame] : nullptr;
    s += fmt::format(
        R"({}{{"stack_hash": "0x{:016x}", "bytes": {}, "blocks": {}, "delta_bytes": {}, "delta_blocks": {}, )"
        R"("new": {}, "verdicts": [)",
        i ? ", " : "", e.stack_hash, e.now.bytes, e.now.blocks, e.delta_bytes, e.delta_blocks, e.is_new);
    const char* sep = "";
    for (Verdict v : kAllVerdicts) {
      if (!e.verdicts.has(v)) continue;
      s += fmt::format(R"({}"{}")", sep, to_string(v));
      sep = ", ";
    }
    s += fmt::format(R"(], "function": {}, "file": {}, "line": {}}})", f ? json_optional(f->function) : "null",
                     f ? json_optional(f->file) : "null", f && f->line ? fmt::format("{}", *f->line) : "null");
  }
  s += "]}";
  return s;
}

std::string add_baseline_to_json(std::string json, const BaselineDiff& diff) {
  // format_json ends its one object with "}\n"; the member goes before that brace.
  while (!json.empty() && json.back() == '\n') json.pop_back();
  if (json.empty() || json.back() != '}') throw Error("internal: unexpected JSON report shape");
  json.pop_back();
  return json + ", \"baseline\": " + baseline_json(diff) + "}\n";
}

}  // namespace libleak
