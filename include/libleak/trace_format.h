// The libleak trace file format: shared by the preload library (writer) and leakreport (reader).
// Plain fixed-width little-endian structs, no pointers, no C++ library types: the writer runs
// inside malloc and must be able to emit these with write(2) alone.
//
// Layout: FileHeader, then `section_count` sections. Each section is a SectionHeader followed by
// `size` payload bytes, padded with zeros to a multiple of 8. A section with kSectionZlib set
// stores a uint64 uncompressed size followed by a zlib stream of the payload. Unknown section types are skipped by
// the reader, so adding a section is not a format break; changing a struct is (bump kVersion).
//
// Sections (at most one of each, in this order when written by libleak.so):
//   kProcess    ProcessRecord, then cmdline_bytes of NUL-separated arguments
//   kModules    ModuleRecord[count]: each followed by path and build-id bytes, padded to 8
//   kStackTree  StackTreeHeader, NativeNode[native_nodes], PythonNode[python_nodes]
//   kCallsites  CallsiteRecord[count]: each followed by depth uint64 return addresses, or (with
//               kCallsiteTreeFrames) by one uint64: its innermost NativeNode index + 1
//   kTimeline   TimelineHeader, uint64 total[samples], then series_count x (SeriesRecord + uint64[samples])
//   kStats      StatsRecord
//   kMarks      MarksHeader, MarkRecord[mark_count], MarkLiveRecord[live_count]
//   kPython     PythonHeader, string blob (strings_bytes, padded to 8), then per callsite with
//               Python frames: PythonStackRecord, then PythonFrameRecord[count] unless tree_leaf
#pragma once

#include <stdint.h>

namespace libleak::trace {

inline constexpr char kMagic[8] = {'L', 'I', 'B', 'L', 'E', 'A', 'K', 0x1a};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kBornBuckets = 16;  // per-callsite histogram of live blocks by birth time

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;  // sizeof(FileHeader); lets a reader skip fields added later
  uint64_t file_size;    // whole file, so truncation is detected before any section is parsed
  uint32_t section_count;
  uint32_t reserved0;
  uint64_t reserved[4];
};
static_assert(sizeof(FileHeader) == 64);

enum SectionType : uint32_t {
  kProcess = 1,
  kModules = 2,
  kCallsites = 3,
  kTimeline = 4,
  kStats = 5,
  kMarks = 6,
  kPython = 7,
  kStackTree = 8,
};

enum SectionFlags : uint32_t {
  kSectionZlib = 1u << 0,
};

struct SectionHeader {
  uint32_t type;
  uint32_t flags;  // SectionFlags
  uint64_t size;   // payload bytes as stored, not counting padding
};
static_assert(sizeof(SectionHeader) == 16);

// How the traced process ended, as far as the writer knows.
enum ExitKind : uint32_t {
  kExitRunning = 0,  // a periodic or on-demand snapshot: the process was still running
  kExitNormal = 1,   // exit() or return from main
  kExitSignal = 2,   // killed by a fatal signal libleak caught (exit_code holds the signal)
  kExitFast = 3,     // _exit/_Exit (exit_code holds the status)
};

enum ProcessFlags : uint32_t {
  kFlagPythonMallocForced = 1u << 0,  // libleak set PYTHONMALLOC=malloc for a Python interpreter
  kFlagScanDone = 1u << 1,            // the reachability scan ran: unreachable_* fields are valid
  kFlagForkChild = 1u << 2,           // process was forked from a traced parent
};

struct ProcessRecord {
  uint64_t pid;
  uint64_t ppid;
  uint64_t start_time_ns;  // CLOCK_REALTIME at library start
  uint64_t write_time_ns;  // CLOCK_REALTIME when this trace was written
  uint32_t exit_kind;      // ExitKind
  int32_t exit_code;
  uint32_t flags;          // ProcessFlags
  uint32_t max_depth;      // LIBLEAK_DEPTH in force
  uint32_t epoch_ms;       // length of one birth epoch
  uint32_t epoch_count;    // epochs elapsed when written (>= 1)
  uint32_t argc;
  uint32_t cmdline_bytes;  // bytes of NUL-separated argv following this record
};
static_assert(sizeof(ProcessRecord) == 64);

struct ModuleRecord {
  uint64_t load_bias;  // runtime address = file virtual address + load_bias
  uint64_t start;      // lowest mapped address of the module's PT_LOAD segments
  uint64_t end;        // one past the highest
  uint32_t load_gen;   // module generation at which it appeared
  uint32_t unload_gen; // generation at which it disappeared, or UINT32_MAX if still loaded
  uint32_t path_len;
  uint32_t build_id_len;
};
static_assert(sizeof(ModuleRecord) == 40);

// Allocator domains: who handed out a block. Adding one is a value here and a row in kDomains;
// the hooks that record it pass the value (docs/ARCHITECTURE.md lists the rest).
enum Domain : uint32_t {
  kDomainMalloc = 0,  // malloc and its family, and GMP's default functions (which call malloc)
  kDomainGmp = 1,     // functions a program installed with mp_set_memory_functions
  kDomainCount,
};

struct DomainInfo {
  const char* name;   // in reports: JSON "domain", text "[name]"
  bool heap_chunks;   // blocks are the C allocator's chunks (the scan knows their trailing header)
};
inline constexpr DomainInfo kDomains[kDomainCount] = {
    {"malloc", true},
    {"gmp", false},
};

struct CallsiteRecord {
  uint64_t stack_hash;
  uint64_t total_allocs;  // allocations ever made here
  uint64_t total_bytes;
  uint64_t live_blocks;   // still allocated when the trace was written
  uint64_t live_bytes;
  uint64_t peak_live_bytes;  // highest live_bytes this callsite ever reached
  uint64_t unreachable_blocks;  // direct leaks: no pointer from any root or reachable block
  uint64_t unreachable_bytes;
  uint64_t indirect_blocks;     // unreachable, but pointed to by another unreachable block
  uint64_t indirect_bytes;
  uint32_t born[kBornBuckets];  // live blocks by birth epoch, bucket = epoch * kBornBuckets / epoch_count
  uint32_t depth;       // number of return addresses that follow, innermost first
  uint32_t domain;      // Domain
  uint32_t module_gen;  // module generation when first seen: selects ModuleRecords for the frames
  uint32_t flags;       // CallsiteFlags
};

enum CallsiteFlags : uint32_t {
  kCallsiteTreeFrames = 1u << 0,  // frames are a path in the stack tree, not inline
};

// Call stacks share their outer frames: the writer stores each distinct (parent, frame) once in a
// tree whose roots are outermost frames, and a stack as its innermost node. Walking parents from
// that node gives the frames innermost first. Parent is a node index + 1; 0 ends the path.
struct StackTreeHeader {
  uint32_t native_nodes;
  uint32_t python_nodes;
};
static_assert(sizeof(StackTreeHeader) == 8);

struct NativeNode {
  uint64_t ip;
  uint32_t parent;
  uint32_t reserved;
};
static_assert(sizeof(NativeNode) == 16);
static_assert(sizeof(CallsiteRecord) == 160);

struct TimelineHeader {
  uint64_t interval_ms;  // time between samples
  uint32_t samples;
  uint32_t series_count;
};
static_assert(sizeof(TimelineHeader) == 16);

struct SeriesRecord {
  uint64_t stack_hash;  // the callsite this series belongs to
};

struct StatsRecord {
  uint64_t allocations;       // tracked allocation calls
  uint64_t frees;             // tracked frees that matched a live block
  uint64_t unknown_frees;     // frees of pointers libleak never saw (allocated before it, or foreign)
  uint64_t dropped_callsites; // allocations not attributed: callsite table full
  uint64_t dropped_blocks;    // allocations not tracked: live-block table could not grow
  uint64_t reentrant;         // allocations made by libleak's own dependencies or signal handlers
  uint64_t peak_live_bytes;   // process-wide
  uint64_t live_bytes;        // process-wide, at write time
  uint64_t live_blocks;
  uint64_t scan_roots_bytes;  // bytes of roots scanned for pointers
  uint64_t write_failures;    // earlier trace writes that failed (disk full, permissions)
  uint64_t reserved[5];
};
static_assert(sizeof(StatsRecord) == 128);

// Phase marks set through libleak_mark(), and per callsite what is live from after each mark.
struct MarksHeader {
  uint32_t mark_count;
  uint32_t live_count;
};
static_assert(sizeof(MarksHeader) == 8);

struct MarkRecord {
  uint64_t time_ns;  // CLOCK_REALTIME when the mark was set
  uint32_t epoch;    // first birth epoch after the mark
  uint32_t label_len;
  char label[64];    // NUL-padded
};
static_assert(sizeof(MarkRecord) == 80);

struct MarkLiveRecord {
  uint64_t stack_hash;  // the callsite
  uint32_t mark;        // index into the MarkRecords
  uint32_t reserved;
  uint64_t blocks;      // live blocks of this callsite allocated after the mark
  uint64_t bytes;
};
static_assert(sizeof(MarkLiveRecord) == 32);

// Python frames of the callsites, innermost first (libleak.so reads CPython's frames at
// allocation). Names are NUL-terminated strings in one blob, referenced by offset.
struct PythonHeader {
  uint32_t stack_count;
  uint32_t strings_bytes;
};
static_assert(sizeof(PythonHeader) == 8);

struct PythonStackRecord {
  uint64_t stack_hash;
  uint32_t count;
  uint32_t tree_leaf;  // innermost PythonNode index + 1; 0: the frames follow inline
};
static_assert(sizeof(PythonStackRecord) == 16);

struct PythonFrameRecord {
  uint32_t native_index;  // the native frame (_PyEval_EvalFrameDefault) that ran it; UINT32_MAX unknown
  int32_t line;
  uint32_t file;      // offset of a NUL-terminated string in the blob
  uint32_t function;
};
static_assert(sizeof(PythonFrameRecord) == 16);

struct PythonNode {
  PythonFrameRecord frame;
  uint32_t parent;
  uint32_t reserved;
};
static_assert(sizeof(PythonNode) == 24);

}  // namespace libleak::trace
