// --baseline OLD.bin: what leaks more now than in an older run of the same program (main branch
// vs. pull request). Callsites are matched by their symbolized stack (function, file and line of
// every frame; module basename and offset for a frame without a symbol), never by addresses,
// which ASLR moves between runs. Only gated verdicts count, each trace with its own gate, and
// --fail-above applies to the sum of the increases. Analysis only: the text and JSON formats
// render the diff (format_text, format_json).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "report/analysis.h"

namespace libleak {

struct BaselineEntry {
  Amount now;      // leaked (gated) in the current traces
  Amount before;   // leaked (gated) in the baseline traces
  int64_t delta_bytes = 0;
  int64_t delta_blocks = 0;
  bool is_new = false;  // nothing leaked from this stack in the baseline
  VerdictSet verdicts;  // gated verdicts of the current entries
  uint64_t stack_hash = 0;  // of the current run, to find the entry in "leaks"
  size_t blame = 0;
  std::shared_ptr<const std::vector<Frame>> stack;
};

struct BaselineDiff {
  std::string source;   // the baseline trace(s) as given
  Amount before, now;   // gated totals
  Amount increase;      // sum of positive deltas: what --fail-above gates
  std::vector<BaselineEntry> grown;  // new or grew, largest increase first
  size_t shrunk = 0;    // stacks that leak less or no longer leak
};

// The match key of a stack: one "function|file|line" (or "module+0xoffset") per frame.
std::string stack_key(const std::vector<Frame>& frames);

BaselineDiff diff_against_baseline(const std::vector<ProcessReport>& baseline,
                                   const std::vector<ProcessReport>& current, std::string source);

// Like apply_gate, on the increase.
GateResult apply_baseline_gate(const BaselineDiff& diff, std::optional<uint64_t> fail_above);

// The entry's blamed frame (describe_frame), or "(no stack)".
std::string describe_blame(const BaselineEntry& entry);

}  // namespace libleak
