// CPython's finalization, seen from libleak.so: the moment the interpreter starts to finalize (its
// atexit callbacks run), while it still holds every object a clean program references. Set up
// before the interpreter starts; a process without Python is unaffected.
#pragma once

namespace libleak {

// Calls on_finalize, on the thread running Python's atexit callbacks, when the interpreter starts
// to finalize (once the script, command or module has run). Needs PYTHONMALLOC=malloc.
void python_watch_finalize(void (*on_finalize)());

}  // namespace libleak
