// Verdicts, blame, suppressions and totals. A callsite yields up to three entries: its direct
// unreachable blocks, its indirect ones, and the rest of its live blocks (growing, reachable or
// unfreed). Suppressed entries vanish from leaks and totals and are accounted per pattern.
#include "report/analysis.h"

#include <algorithm>

#include <fmt/format.h>

#include "report/error.h"
#include "report/frame_text.h"

namespace libleak {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kUnreachable: return "unreachable";
    case Verdict::kGrowing: return "growing";
    case Verdict::kReachable: return "reachable";
    case Verdict::kUnfreed: return "unfreed";
  }
  return "?";
}

std::string VerdictSet::describe() const {
  std::string out;
  for (Verdict v : kAllVerdicts) {
    if (!has(v)) continue;
    if (!out.empty()) out += ", ";
    out += to_string(v);
  }
  return out;
}

VerdictSet parse_verdict_set(std::string_view csv) {
  VerdictSet set;
  bool any = false;
  while (true) {
    size_t comma = csv.find(',');
    std::string_view name = csv.substr(0, comma);
    bool found = false;
    for (Verdict v : kAllVerdicts) {
      if (name == to_string(v)) {
        set.add(v);
        found = any = true;
      }
    }
    if (!found) {
      throw Error(fmt::format("unknown verdict `{}` (expected unreachable, growing, reachable, unfreed)",
                              name));
    }
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return set;
}

VerdictSet default_gate(bool scan_done) {
  if (scan_done) return {Verdict::kUnreachable, Verdict::kGrowing};
  return {Verdict::kUnfreed, Verdict::kGrowing};
}

// A leak keeps being born for as long as the program runs; start-up state is born early and then
// lives on; a cache churns, so its surviving blocks were born late. Hence: growing when the live
// blocks were born in at least 10 of the 12 buckets of the last three quarters of the run (4..15)
// and in at least 3 of the 4 buckets of the last quarter (12..15). Fewer than 8 epochs is too
// short to tell. With 8..15 epochs some buckets can never receive an epoch
// (bucket = epoch * 16 / epoch_count skips values), so the thresholds are scaled to the buckets
// that can: with >= 16 epochs this is exactly the 10-of-12 and 3-of-4 rule.
bool is_growing(const uint32_t (&born)[trace::kBornBuckets], uint32_t epoch_count) {
  constexpr uint64_t kBuckets = trace::kBornBuckets;
  if (epoch_count < 8) return false;
  auto ceil_div = [](uint64_t a, uint64_t b) { return (a + b - 1) / b; };
  unsigned possible_late = 0, missing_late = 0, possible_last = 0, missing_last = 0;
  for (uint64_t b = 4; b < kBuckets; ++b) {
    // Bucket b receives the epochs in [ceil(b*n/16), ceil((b+1)*n/16)).
    bool possible = ceil_div(b * epoch_count, kBuckets) < ceil_div((b + 1) * epoch_count, kBuckets);
    if (!possible) continue;
    ++possible_late;
    if (born[b] == 0) ++missing_late;
    if (b >= 12) {
      ++possible_last;
      if (born[b] == 0) ++missing_last;
    }
  }
  return missing_late <= possible_late * 2 / 12 && missing_last <= possible_last / 4;
}

bool is_runtime_module(std::string_view path) {
  std::string base = basename(path);
  auto starts = [&](std::string_view prefix) { return base.rfind(prefix, 0) == 0; };
  for (auto prefix : {"libc.so", "libstdc++.so", "libm.so", "ld-linux", "libpython", "python3",
                      "libgmp.so", "libunwind", "libgcc_s"}) {
    if (starts(prefix)) return true;
  }
  return base == "libleak.so";
}

size_t blame_frame(const std::vector<Frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!frames[i].python && !is_runtime_module(frames[i].module_path())) return i;
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].python) return i;
  }
  return 0;
}

const char* domain_name(uint32_t domain) {
  return domain < trace::kDomainCount ? trace::kDomains[domain].name : "unknown";
}

namespace {

// The first suppression matching any frame's function, file or module, or -1.
int match_suppression(const std::vector<Frame>& frames, const std::vector<Suppression>& sups) {
  for (size_t s = 0; s < sups.size(); ++s) {
    for (const auto& f : frames) {
      const auto& p = sups[s].pattern;
      if ((f.function && suppression_matches(p, *f.function)) ||
          (f.file && suppression_matches(p, *f.file)) || suppression_matches(p, f.module_path())) {
        return static_cast<int>(s);
      }
    }
  }
  return -1;
}

bool leak_order(const Leak& a, const Leak& b) {
  if (a.bytes != b.bytes) return a.bytes > b.bytes;
  if (a.blocks != b.blocks) return a.blocks > b.blocks;
  if (a.indirect != b.indirect) return !a.indirect;
  if (a.stack_hash != b.stack_hash) return a.stack_hash < b.stack_hash;
  return a.verdict < b.verdict;
}

// The facts of the process and the inputs the formats draw from, before any callsite.
ProcessReport process_facts(Trace& trace, const AnalysisOptions& options, std::string source) {
  ProcessReport r;
  r.source = std::move(source);
  r.process = trace.process;
  r.command = trace.command;
  r.stats = trace.stats;
  r.scan_done = trace.process.flags & trace::kFlagScanDone;
  r.gated = options.gate_verdicts.value_or(default_gate(r.scan_done));
  r.marks = trace.marks;
  r.after_mark.resize(trace.marks.size());
  r.modules = trace.modules;
  r.timeline = std::move(trace.timeline);
  return r;
}

CallsiteSummary summarize(const trace::CallsiteRecord& rec) {
  CallsiteSummary s;
  s.stack_hash = rec.stack_hash;
  s.domain = rec.domain;
  s.module_gen = rec.module_gen;
  s.allocated = {rec.total_bytes, rec.total_allocs};
  s.live = {rec.live_bytes, rec.live_blocks};
  s.peak_live_bytes = rec.peak_live_bytes;
  return s;
}

// A callsite's entries, empty ones dropped: with a scan its direct and its indirect unreachable
// blocks, then the rest of its live blocks (growing, reachable, or unfreed without a scan).
std::vector<Leak> verdict_entries(const trace::CallsiteRecord& rec, bool scan_done, uint32_t epoch_count) {
  Leak base;
  base.domain = rec.domain;
  base.stack_hash = rec.stack_hash;
  std::vector<Leak> entries;
  Amount rest{rec.live_bytes, rec.live_blocks};
  if (scan_done) {
    // The reader checked unreachable + indirect <= live, so `rest` cannot wrap.
    Leak direct = base, indirect = base;
    direct.bytes = rec.unreachable_bytes, direct.blocks = rec.unreachable_blocks;
    indirect.bytes = rec.indirect_bytes, indirect.blocks = rec.indirect_blocks;
    indirect.indirect = true;
    entries.push_back(direct);
    entries.push_back(indirect);
    rest.bytes -= direct.bytes + indirect.bytes;
    rest.blocks -= direct.blocks + indirect.blocks;
  }
  Leak remaining = base;
  remaining.bytes = rest.bytes, remaining.blocks = rest.blocks;
  remaining.verdict = is_growing(rec.born, epoch_count) ? Verdict::kGrowing
                      : scan_done                       ? Verdict::kReachable
                                                        : Verdict::kUnfreed;
  entries.push_back(remaining);
  std::erase_if(entries, [](const Leak& l) { return l.bytes == 0 && l.blocks == 0; });
  return entries;
}

std::optional<size_t> innermost_python(const std::vector<Frame>& stack) {
  for (size_t i = 0; i < stack.size(); ++i) {
    if (stack[i].python) return i;
  }
  return std::nullopt;
}

// Lists callsite `index`'s entries with its stack, or accounts them to the suppression that
// matches the stack (`hidden`, by suppression). Only these callsites' stacks are kept.
void add_entries(ProcessReport& r, size_t index, std::vector<Leak> entries, const Callsite& cs,
                 const std::vector<Suppression>& suppressions, std::vector<Amount>& hidden) {
  Stack stack = r.stacks.of(index);
  CallsiteSummary& summary = r.callsites[index];
  if (int sup = match_suppression(*stack, suppressions); sup >= 0) {
    summary.suppressed = true;
    for (const auto& e : entries) hidden[static_cast<size_t>(sup)] += Amount{e.bytes, e.blocks};
    return;
  }
  r.stacks.set(index, stack);
  size_t blame = blame_frame(*stack);
  std::optional<size_t> python = innermost_python(*stack);
  std::vector<AfterMark> after;
  for (const auto& m : cs.after_marks) after.push_back({m.mark, Amount{m.bytes, m.blocks}});
  for (const auto& a : after) r.after_mark[a.mark] += a.amount;
  for (auto& e : entries) {
    e.callsite = index;
    e.stack = stack;
    e.blame = blame;
    e.python_frame = python;
    e.after_marks = after;
    Amount amount{e.bytes, e.blocks};
    r.by_verdict[static_cast<size_t>(e.verdict)] += amount;
    if (e.indirect) r.indirect += amount;
    if (r.gated.has(e.verdict)) {
      r.leaked += amount;
      summary.leaked += amount;
    }
    r.leaks.push_back(std::move(e));
  }
}

// Sorts the entries and indexes them per callsite; names the suppressions that hid something;
// totals from the trace's stats when it has them, else from the callsites.
void finish(ProcessReport& r, const std::vector<Suppression>& suppressions, const std::vector<Amount>& hidden) {
  std::sort(r.leaks.begin(), r.leaks.end(), leak_order);
  for (size_t i = 0; i < r.leaks.size(); ++i) r.callsites[r.leaks[i].callsite].entries.push_back(i);
  for (size_t s = 0; s < hidden.size(); ++s) {
    if (hidden[s].bytes || hidden[s].blocks) r.suppressions.push_back({suppressions[s], hidden[s]});
  }
  uint64_t allocations = 0, peak = 0;
  for (const auto& cs : r.callsites) {
    allocations += cs.allocated.blocks;
    peak = std::max(peak, cs.peak_live_bytes);
  }
  r.allocations = r.stats ? r.stats->allocations : allocations;
  r.peak_live_bytes = r.stats ? r.stats->peak_live_bytes : peak;
}

}  // namespace

ProcessReport analyze(Trace trace, std::shared_ptr<Symbolizer> symbolizer, const AnalysisOptions& options,
                      std::string source) {
  ProcessReport r = process_facts(trace, options, std::move(source));
  auto kept = std::make_shared<const Trace>(std::move(trace));
  r.stacks = CallStacks(kept, std::move(symbolizer));
  std::vector<Amount> hidden(options.suppressions.size());
  for (size_t i = 0; i < kept->callsites.size(); ++i) {
    const Callsite& cs = kept->callsites[i];
    const auto& rec = cs.record;
    r.callsites.push_back(summarize(rec));
    // The reader rejects unknown domains, so the index is in range.
    r.by_domain[rec.domain] += DomainTotals{rec.total_allocs, rec.total_bytes, rec.live_blocks, rec.live_bytes};
    std::vector<Leak> entries = verdict_entries(rec, r.scan_done, kept->process.epoch_count);
    if (!entries.empty()) add_entries(r, i, std::move(entries), cs, options.suppressions, hidden);
  }
  finish(r, options.suppressions, hidden);
  return r;
}

std::string command_line(const ProcessReport& r) {
  std::string cmd;
  for (const auto& a : r.command) cmd += (cmd.empty() ? "" : " ") + a;
  return cmd;
}

Totals combine(const std::vector<ProcessReport>& reports) {
  Totals t;
  for (const auto& r : reports) {
    t.leaked += r.leaked;
    for (size_t v = 0; v < kVerdictCount; ++v) t.by_verdict[v] += r.by_verdict[v];
    t.indirect += r.indirect;
    t.allocations += r.allocations;
    t.peak_live_bytes += r.peak_live_bytes;
    for (size_t d = 0; d < kDomainCount; ++d) t.by_domain[d] += r.by_domain[d];
    t.gated |= r.gated;
  }
  return t;
}

GateResult apply_gate(const std::vector<ProcessReport>& reports, std::optional<uint64_t> fail_above) {
  GateResult g;
  if (!fail_above) return g;
  Totals t = combine(reports);
  const Leak* top = nullptr;
  for (const auto& r : reports) {
    for (const auto& l : r.leaks) {
      if (r.gated.has(l.verdict) && (!top || leak_order(l, *top))) top = &l;
    }
  }
  std::string gated = t.gated.describe();
  if (t.leaked.bytes > *fail_above) {
    g.exit_code = kExitGateFailed;
    g.message = fmt::format("FAIL: {} bytes in {} blocks leaked ({}) > limit {} bytes", t.leaked.bytes,
                            t.leaked.blocks, gated, *fail_above);
    if (top && top->stack && !top->stack->empty()) {
      g.message += fmt::format("; top: {} bytes in {}", top->bytes,
                               describe_frame((*top->stack)[top->blame]));
    }
  } else {
    g.message = fmt::format("PASS: {} bytes in {} blocks leaked ({}) <= limit {} bytes", t.leaked.bytes,
                            t.leaked.blocks, gated, *fail_above);
  }
  return g;
}

}  // namespace libleak
