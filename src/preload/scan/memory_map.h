// The process's memory map as the exit scan sees it: /proc/self/maps read once, before any block
// is read, so the scan reads memory only where the map says it is readable and a stale entry can
// never fault the program. Memory from mmap only (the scan must not use the program's heap).
#pragma once

#include <stdint.h>

#include "base/sys.h"

namespace libleak {

// An mmap'd array of fixed capacity: pushes beyond it are dropped.
template <class T>
struct Scratch {
  T* data = nullptr;
  uint64_t cap = 0, size = 0;
  bool reserve(uint64_t n) {
    cap = n ? n : 1;
    data = static_cast<T*>(sys_map(cap * sizeof(T)));
    return data != nullptr;
  }
  void push(const T& v) {
    if (size < cap) data[size++] = v;
  }
  ~Scratch() { sys_unmap(data, cap * sizeof(T)); }
};

struct Mapping {
  uintptr_t start, end;
  bool readable;
};

class MemoryMap {
 public:
  bool read();  // false without memory for the list
  const Mapping* mapping_of(uintptr_t a) const;
  // True when [start, end) lies inside readable mappings (adjacent mappings allowed).
  bool readable(uintptr_t start, uintptr_t end) const;

 private:
  Scratch<Mapping> maps_;
};

}  // namespace libleak
