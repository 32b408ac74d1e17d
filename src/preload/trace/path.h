// Where this process's trace goes: LIBLEAK_OUTPUT with %p expanded. Descendants of the first
// traced process that share a fixed name append ".<pid>", so no process overwrites another's.
#pragma once

#include <stdint.h>

namespace libleak {

void trace_path_set_root(bool root);  // the process the user started, not a descendant
void trace_output_path(char* out, uint64_t cap);  // the final path this process writes
// The temporary the write goes to before it is renamed over the final path: NAME.tmp.<pid>.
void trace_temporary_path(const char* final_path, char* out, uint64_t cap);

}  // namespace libleak
