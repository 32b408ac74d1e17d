// The frame that called a hook, taken in the hook itself: where every stack walk starts, so that
// no rule is looked up for libleak's own frames. libleak.so is built with frame pointers: rbp+8
// holds the hook's return address, rbp+16 is its caller's CFA, [rbp] the caller's rbp.
#pragma once

#include <stdint.h>

namespace libleak {

// A frame as it is at a call it made: the return address, the CFA (the stack pointer once the
// call returns) and rbp at the call.
struct CallerFrame {
  uintptr_t ip, sp, bp;
};

#define LIBLEAK_CALLER_FRAME()                                                        \
  ::libleak::CallerFrame {                                                            \
    reinterpret_cast<uintptr_t>(__builtin_return_address(0)),                         \
        reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16,                 \
        *static_cast<const uintptr_t*>(__builtin_frame_address(0))                    \
  }

}  // namespace libleak
