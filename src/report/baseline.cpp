// Baseline comparison: gated leaks of both sides summed per stack key, then subtracted. A stack
// that moved between verdicts (growing -> unreachable) but leaks the same bytes is no regression.
#include "report/baseline.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

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

std::string describe_blame(const BaselineEntry& e) {
  if (!e.stack || e.stack->empty()) return "(no stack)";
  return describe_frame((*e.stack)[e.blame]);
}

GateResult apply_baseline_gate(const BaselineDiff& d, std::optional<uint64_t> fail_above) {
  GateResult g;
  if (!fail_above) return g;
  bool fail = d.increase.bytes > *fail_above;
  g.exit_code = fail ? kExitGateFailed : kExitOk;
  g.message = fmt::format("{}: leaks grew by {} bytes in {} blocks over baseline {} {} limit {} bytes",
                          fail ? "FAIL" : "PASS", d.increase.bytes, d.increase.blocks, d.source,
                          fail ? ">" : "<=", *fail_above);
  if (fail && !d.grown.empty()) {
    g.message += fmt::format("; top: {:+} bytes in {}", d.grown.front().delta_bytes, describe_blame(d.grown.front()));
  }
  return g;
}

}  // namespace libleak
