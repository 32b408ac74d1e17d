// libFuzzer target: parse, analyse and format an arbitrary trace. Symbolization runs with
// read_debug_info off (module + offset only), so inputs cannot make the fuzzer open files.
// Any crash, sanitizer report or exception other than libleak::Error is a bug, and so is a parse
// that allocates more than the reader's bound (trace_reader.h) or takes more than about a second
// per megabyte: trace_mutator.cpp makes zlib bombs and inflated counts to look for both.
#include <sanitizer/allocator_interface.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "report/analysis.h"
#include "report/error.h"
#include "report/format_json.h"
#include "report/format_text.h"
#include "report/symbolizer.h"
#include "report/trace_reader.h"

namespace {

// Heap in use by this thread while a parse runs, and its peak (ASan's allocator hooks; frees of
// blocks from before the parse only lower the count, so the peak is never overstated).
thread_local bool t_counting = false;
thread_local int64_t t_live = 0;
thread_local int64_t t_peak = 0;

void on_malloc(const volatile void*, size_t size) {
  if (!t_counting) return;
  t_live += static_cast<int64_t>(size);
  if (t_live > t_peak) t_peak = t_live;
}

void on_free(const volatile void* p) {
  if (t_counting) t_live -= static_cast<int64_t>(__sanitizer_get_allocated_size(const_cast<const void*>(p)));
}

int64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// About a second per megabyte of trace (1000 ns per byte), doubled for the sanitizers'
// instrumentation, plus a quarter second for a loaded CI machine. Thread CPU time, so that
// other jobs on the machine do not count.
constexpr int64_t kNsPerByte = 2000;
constexpr int64_t kTimeSlackNs = 250000000;

libleak::Trace parse_within_bounds(std::span<const std::byte> bytes) {
  t_live = t_peak = 0;
  t_counting = true;
  int64_t start = thread_cpu_ns();
  struct Check {
    size_t size;
    int64_t start;
    ~Check() {
      t_counting = false;
      auto memory_bound = static_cast<int64_t>(size * libleak::kReaderMemoryPerByte + libleak::kReaderMemorySlack);
      int64_t ns = thread_cpu_ns() - start;
      if (t_peak > memory_bound || ns > static_cast<int64_t>(size) * kNsPerByte + kTimeSlackNs) {
        std::fprintf(stderr, "reader bound exceeded: a %zu-byte trace took %lld bytes (bound %lld) and %lld ms\n",
                     size, static_cast<long long>(t_peak), static_cast<long long>(memory_bound),
                     static_cast<long long>(ns / 1000000));
        std::abort();
      }
    }
  } check{bytes.size(), start};
  return libleak::parse_trace(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace libleak;
  try {
    Trace trace = parse_within_bounds(std::span(reinterpret_cast<const std::byte*>(data), size));
    auto symbolizer = std::make_shared<Symbolizer>(SymbolizerOptions{.read_debug_info = false, .warn = {}});
    AnalysisOptions options;
    options.suppressions = {{"^main$", SuppressionSource::kFile}, {"lib*.so", SuppressionSource::kBuiltin}};
    Report report{.processes = {analyze(trace, symbolizer, options, "fuzz")}};
    format_text(report, TextOptions{});
    format_json(report);
    apply_gate(report.processes, 0);
  } catch (const Error&) {
    // Rejecting a damaged trace is the expected outcome for most inputs.
  }
  return 0;
}
