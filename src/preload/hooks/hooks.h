// The allocation hooks' interface to the rest of libleak.so: they resolve the real allocator at
// start-up (or at the first allocation, whichever comes first) and tell the recorder about it.
#pragma once

namespace libleak {

void hooks_init();

}  // namespace libleak
