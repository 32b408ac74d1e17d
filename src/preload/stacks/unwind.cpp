// Unwinder set-up for the recorder; the walk itself is inline in unwind.h.
#include "stacks/unwind.h"

#include "base/config.h"
#include "base/sys.h"

namespace libleak {

void unwind_init() {
  // Per-thread caching makes repeated unwinds through the same code a table lookup per frame
  // and avoids libunwind's global cache lock.
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  if (config().unwind == kUnwindFast && !cfi_unwind_init()) log_line("cannot map the unwind rule cache; using libunwind only");
}

}  // namespace libleak
