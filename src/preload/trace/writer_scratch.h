// Memory the trace writer keeps mapped from one write to the next (stack tree, leaf and histogram
// arrays, output buffer): a write touches the pages the previous write already faulted in, instead
// of mapping, faulting (~10 us a page on a VM) and unmapping them again. Never the program's heap.
#pragma once

#include <stddef.h>
#include <sys/mman.h>

#include "base/config.h"
#include "base/sys.h"

namespace libleak {

struct WriterScratch {
  void* data = nullptr;
  size_t bytes = 0;

  // Makes at least `n` bytes available, keeping the contents; new bytes are zero. Grows at least
  // twofold, and with mremap, so growing neither copies nor re-faults the pages already in use.
  bool reserve(size_t n) {
    if (n <= bytes) return true;
    size_t want = (n > 2 * bytes ? n : 2 * bytes);
    want = (want + 4095) & ~size_t(4095);
    void* p = data ? mremap(data, bytes, want, MREMAP_MAYMOVE) : sys_map(want);
    if (p == MAP_FAILED || !p) return false;
    data = p;
    bytes = want;
    return true;
  }
  // The first `n` bytes, zeroed: memory a write fills from scratch. nullptr without memory.
  template <class T>
  T* zeroed(size_t n) {
    if (!reserve(n)) return nullptr;
    __builtin_memset(data, 0, n);
    return as<T>();
  }
  template <class T>
  T* as() const {
    return static_cast<T*>(data);
  }
  void release() {
    sys_unmap(data, bytes);
    forget();
  }
  // Drops the mapping without unmapping it: for a fork child whose parent was in the middle of a
  // write, where the pointer and size may not belong together.
  void forget() {
    data = nullptr;
    bytes = 0;
  }
};

}  // namespace libleak
