// From a parsed trace to its analysis, the one input of every output format: verdicts per
// callsite, blame frame, suppressions, totals, per-callsite metrics and stacks, and the
// --fail-above gate. Functions over values, so tests need no files or processes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/call_stacks.h"
#include "report/frame_text.h"
#include "report/suppressions.h"
#include "report/symbolizer.h"
#include "report/trace_reader.h"

namespace libleak {

// Fixed exit codes of leakreport, documented in --help.
inline constexpr int kExitOk = 0;
inline constexpr int kExitGateFailed = 1;
inline constexpr int kExitError = 2;

enum class Verdict : uint8_t { kUnreachable, kGrowing, kReachable, kUnfreed };
inline constexpr size_t kVerdictCount = 4;
inline constexpr Verdict kAllVerdicts[] = {Verdict::kUnreachable, Verdict::kGrowing,
                                           Verdict::kReachable, Verdict::kUnfreed};
const char* to_string(Verdict v);

class VerdictSet {
 public:
  VerdictSet() = default;
  VerdictSet(std::initializer_list<Verdict> vs) {
    for (auto v : vs) add(v);
  }
  void add(Verdict v) { bits_ |= 1u << static_cast<unsigned>(v); }
  bool has(Verdict v) const { return bits_ & (1u << static_cast<unsigned>(v)); }
  VerdictSet& operator|=(VerdictSet o) {
    bits_ |= o.bits_;
    return *this;
  }
  bool operator==(const VerdictSet&) const = default;
  std::string describe() const;  // "unreachable, growing"

 private:
  unsigned bits_ = 0;
};

// "unreachable,growing" -> set; throws Error on an unknown or empty name.
VerdictSet parse_verdict_set(std::string_view csv);
// What counts as leaked when the user does not say: with a scan, what the scan proved plus
// growth; without one, everything still allocated plus growth.
VerdictSet default_gate(bool scan_done);

struct Amount {
  uint64_t bytes = 0;
  uint64_t blocks = 0;
  Amount& operator+=(const Amount& o) {
    bytes += o.bytes;
    blocks += o.blocks;
    return *this;
  }
};

// What a domain (malloc, gmp) allocated over the whole run, over every callsite.
struct DomainTotals {
  uint64_t allocations = 0;
  uint64_t bytes = 0;
  uint64_t live_blocks = 0;
  uint64_t live_bytes = 0;
  DomainTotals& operator+=(const DomainTotals& o) {
    allocations += o.allocations;
    bytes += o.bytes;
    live_blocks += o.live_blocks;
    live_bytes += o.live_bytes;
    return *this;
  }
};
inline constexpr size_t kDomainCount = trace::kDomainCount;
const char* domain_name(uint32_t domain);

// Live blocks of a leak's callsite allocated after a mark.
struct AfterMark {
  uint32_t mark = 0;  // index into ProcessReport::marks
  Amount amount;
};

struct Leak {
  uint64_t bytes = 0;
  uint64_t blocks = 0;
  Verdict verdict = Verdict::kUnreachable;
  bool indirect = false;
  uint32_t domain = 0;  // trace::Domain
  size_t blame = 0;     // index into *stack of the frame to blame
  std::optional<size_t> python_frame;  // index into *stack of the innermost Python frame
  std::vector<AfterMark> after_marks;  // of the whole callsite, marks with live blocks only
  uint64_t stack_hash = 0;
  size_t callsite = 0;  // index into ProcessReport::callsites
  Stack stack;          // shared by the entries of one callsite
};

// One callsite of the trace with what the formats weigh it by; freed callsites included.
struct CallsiteSummary {
  uint64_t stack_hash = 0;
  uint32_t domain = 0;           // trace::Domain
  uint32_t module_gen = 0;       // the module generation its addresses resolve in (find_module)
  Amount allocated;              // every block it allocated over the run
  Amount live;                   // still allocated when the trace was written
  uint64_t peak_live_bytes = 0;  // its own highest live bytes
  Amount leaked;                 // its listed entries with a gated verdict
  bool suppressed = false;       // a suppression hid its live blocks: left out of every output
  std::vector<size_t> entries;   // its entries, as indexes into ProcessReport::leaks (report order)
};

struct SuppressionHit {
  Suppression suppression;
  Amount hidden;
};

struct ProcessReport {
  std::string source;  // the trace file
  trace::ProcessRecord process{};
  std::vector<std::string> command;
  std::optional<trace::StatsRecord> stats;
  bool scan_done = false;
  VerdictSet gated;
  std::vector<Leak> leaks;  // every verdict, sorted by bytes, blocks, direct first, stack hash
  std::vector<SuppressionHit> suppressions;  // only those that hid something
  std::array<Amount, kVerdictCount> by_verdict{};  // after suppressions; unreachable incl. indirect
  Amount indirect;                                 // the indirect part of by_verdict[unreachable]
  Amount leaked;                                   // sum over gated verdicts
  uint64_t allocations = 0;
  uint64_t peak_live_bytes = 0;
  std::array<DomainTotals, kDomainCount> by_domain{};  // every callsite, suppressed or not
  std::vector<Mark> marks;
  std::vector<Amount> after_mark;  // per mark: live after it, summed over the listed leaks

  // What the formats draw besides the entries: every callsite in trace order, their stacks by
  // the same index (symbolized on demand for the freed ones), the modules (pprof's mappings) and
  // the timeline (the plot). No format reads the Trace itself.
  std::vector<CallsiteSummary> callsites;
  CallStacks stacks;
  std::vector<Module> modules;
  std::optional<Timeline> timeline;
};

// The command line as one string, arguments separated by spaces ("" when unknown).
std::string command_line(const ProcessReport& report);

struct AnalysisOptions {
  std::optional<VerdictSet> gate_verdicts;  // unset: default_gate() of each process
  std::vector<Suppression> suppressions;    // file and built-in entries, in matching order
};

// Growth heuristic over the birth histogram of a callsite's live blocks; see analysis.cpp.
bool is_growing(const uint32_t (&born)[trace::kBornBuckets], uint32_t epoch_count);

// Modules of language runtimes and libleak itself, never the place to blame for a leak.
bool is_runtime_module(std::string_view path);
// The innermost native frame outside the runtimes; failing that the innermost Python frame, then 0.
size_t blame_frame(const std::vector<Frame>& frames);

// Takes the trace over: the report keeps it to symbolize freed callsites on demand. The
// symbolizer is shared by every trace of a run, so each module file is read once.
ProcessReport analyze(Trace trace, std::shared_ptr<Symbolizer> symbolizer, const AnalysisOptions& options,
                      std::string source = {});

// The sum over several processes; gated is the union of their gated sets.
struct Totals {
  Amount leaked;
  std::array<Amount, kVerdictCount> by_verdict{};
  Amount indirect;
  uint64_t allocations = 0;
  uint64_t peak_live_bytes = 0;  // sum of per-process peaks: an upper bound of the combined peak
  std::array<DomainTotals, kDomainCount> by_domain{};
  VerdictSet gated;
};
Totals combine(const std::vector<ProcessReport>& reports);

struct GateResult {
  int exit_code = kExitOk;
  std::string message;  // the one stderr line (without "leakreport: "), empty without a limit
};
GateResult apply_gate(const std::vector<ProcessReport>& reports, std::optional<uint64_t> fail_above);

}  // namespace libleak
