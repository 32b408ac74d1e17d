// Module registry: every shared object and executable mapped into the process, with the
// generation range during which it was loaded, so a callsite recorded before a dlclose is still
// symbolized with the library it came from. Updated on start-up and after dlopen/dlclose only;
// never on the malloc path. Readers (trace writer) may run concurrently with an update.
#pragma once

#include <stdint.h>

#include <atomic>

namespace libleak {

void modules_init();
void modules_refresh();      // records loads and unloads since the last refresh, bumps the generation
bool modules_refresh_try();  // the same, unless another thread is refreshing; false then
uint32_t modules_generation();
void modules_after_fork_child();

struct ModuleEntry {
  uint64_t load_bias;
  uint64_t start;
  uint64_t end;
  uint32_t load_gen;
  std::atomic<uint32_t> unload_gen;  // UINT32_MAX while loaded
  uint32_t path_len;
  uint32_t build_id_len;
  char path[4096];
  uint8_t build_id[64];
  bool seen;  // scratch for modules_refresh
};

inline constexpr uint32_t kMaxModules = 2048;
uint32_t modules_count();  // entries [0, count) are fully written
const ModuleEntry& module_at(uint32_t i);
// The loaded module containing ip, or nullptr.
const ModuleEntry* module_containing(uintptr_t ip);
// True for the C runtime's own modules (libc, ld.so) and libleak itself: frames the exit path
// runs through, which hold no pointers of the program's.
bool is_exit_runtime(uintptr_t ip);
// The address range of libleak.so itself, for dropping its frames and skipping its data in scans.
void own_module_range(uintptr_t* start, uintptr_t* end);
// True inside libleak.so: its frames are dropped from stacks and its data is not a root.
bool in_own_module(uintptr_t ip);
// Unit tests link the recorder into their own executable, which must not count as libleak's.
void set_own_module_range_for_tests(uintptr_t start, uintptr_t end);

}  // namespace libleak
