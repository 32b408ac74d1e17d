// Python frames in allocation stacks (CPython 3.8 to 3.13). At each allocation the hook reads the
// calling thread's interpreter frames directly (no Python API call, no allocation, no GIL needed:
// the thread is reading its own frames, which cannot change while it is inside malloc) with the
// struct layouts of the running version (layouts.h), and folds (code object, line) pairs
// into the callsite's identity, so two lines calling the same C function are two callsites but two
// instructions of one line are one. Lines come from a shared lock-free cache in front of CPython's
// own address-to-line function, and each thread remembers its previous capture: the outer frames
// it still shares keep their lines and their part of the hash. The first time a callsite is seen,
// its frames are resolved to file and function names (co_qualname from 3.11, co_name before) while
// the code objects are alive.
#pragma once

#include <stdint.h>

#include "tables/callsite_table.h"

namespace libleak {

inline constexpr int kMaxPythonFrames = 64;

struct PythonCapture {
  int count;
  uintptr_t code[kMaxPythonFrames];
  int32_t line[kMaxPythonFrames];
  uint8_t entry[kMaxPythonFrames];    // first frame run by its own _PyEval_EvalFrameDefault call
  const uintptr_t* native;            // the native stack, to place each frame at its eval loop
  uint32_t native_depth;
};

// A resolved Python frame, as stored per callsite and written to the trace.
struct PythonFrame {
  uint32_t native_index;  // index of the native _PyEval_EvalFrameDefault frame running it, or UINT32_MAX
  int32_t line;
  uint32_t file;          // offsets into the string arena
  uint32_t function;
};

void python_frames_init();  // at startup: finds the interpreter's version and its layout, if any
bool python_frames_enabled();
// True for a return address inside _PyEval_EvalFrameDefault.
bool python_is_eval_frame(uintptr_t ip);
// The code of _PyEval_EvalFrameDefault, [lo, hi): where a walk of a Python thread's stack can stop.
void python_eval_range(uintptr_t* lo, uintptr_t* hi);
// Fills `out` for the calling thread; returns a hash of the pairs (0 when none).
uint64_t python_capture(PythonCapture* out);
// CallsiteTable fill function: resolves a capture into the entry's Python frames.
void python_fill_callsite(Callsite& entry, const void* capture);
const PythonFrame* python_frames_of(const Callsite& entry);
// The string arena (NUL-terminated names; offset 0 is the empty string), as written to the trace.
const char* python_strings(uint32_t* bytes);

}  // namespace libleak
